"""Work released on many threads at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_concurrently(work: Callable[[int], object], count: int) -> list[BaseException]:
    """Run ``work(0..count-1)`` on ``count`` threads released at the same instant;
    return what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
