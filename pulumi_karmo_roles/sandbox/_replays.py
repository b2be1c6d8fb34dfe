"""``Idempotency-Key`` for the sandbox's WorkOS face: the first answer to a POST sent with
a key is the answer to every later POST with that key, as WorkOS documents it ("each
subsequent request matching this unique string will return the same response"). WorkOS's
SDKs send a fresh key with every POST and the same key on each retry of it, so a create
whose answer was lost is not a second create (nor a 409) when the SDK sends it again."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from ._answers import Answer

KEPT = 10_000
"""Keys remembered, the oldest forgotten first: bounded by number, so memory stays
bounded whatever a test sends."""


class Replays:
    """The first answer of each key. Thread-safe: POSTs with a key are answered one at a
    time, so two sends of the same key (a retry racing the attempt it retries) make one
    change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: OrderedDict[bytes, Answer] = OrderedDict()

    def answer(self, key: str, run: Callable[[], Answer]) -> Answer:
        """The answer first given for ``key``, or ``run()``'s, which is kept for it.

        ``run`` takes the sandbox's lock itself; nothing holding that lock calls this.
        """
        # Kept by digest: a key may be as long as a header line, its digest is 32 bytes.
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        with self._lock:
            answers = self._answers
            first = answers.get(digest)
            if first is None:
                first = answers[digest] = run()
                if len(answers) > KEPT:
                    answers.popitem(last=False)
            return first

    def clear(self) -> None:
        """Forget every key. Takes no lock (a reset holds the sandbox's lock, which
        :meth:`answer`'s ``run`` takes): it swaps the table, which is atomic."""
        self._answers = OrderedDict()
