"""What ``pulumi up`` shows of the provider process: our errors as their message, and
each message on a line of its own.

Both fixes act only inside ``python -m pulumi.dynamic`` (the provider process, whose
``__main__`` is the SDK's dynamic-provider server) and are installed when the provider is
unpickled there; anywhere else :func:`install` does nothing.

* Errors: the server answers an exception from a provider method with
  ``traceback.format_exc()`` as the gRPC error details, and the CLI prints that under the
  resource: a dozen lines of SDK frames before the one line that says what to fix. For a
  :class:`~pulumi_karmo_roles.errors.KarmoError`, whose message is written for the user
  and complete, the details become that one line alone, as Python ends a traceback with
  it (``pulumi_karmo_roles.errors.AuthenticationError: Karmo rejected ...``). Any other
  exception (a bug) keeps its traceback.
* Messages: the provider process has no engine connection, so ``pulumi.log.warn`` prints
  to stderr, and the CLI shows each stderr line as it comes. ``print`` writes the text and
  the newline separately, so two threads warning at once (deletes run four at a time)
  produced ``warning: A...warning: B...`` on one line. Stderr here writes each complete
  line with a single call.
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any, TextIO

from .errors import KarmoError

__all__ = ["install"]


class _MessageOfKarmoErrors:
    """Stands in for the ``traceback`` module in the dynamic-provider server."""

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    @staticmethod
    def format_exc(limit: int | None = None, chain: bool = True) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, KarmoError):
            return "".join(traceback.format_exception_only(type(error), error)).strip()
        return traceback.format_exc(limit, chain)


class LineAtomicWriter:
    """A text stream that passes on only whole lines, each in one ``write`` of the
    stream it wraps; each thread's unfinished line waits for its newline (or a flush)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._pending = threading.local()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Buffer ``text`` for this thread; write out every line it completes."""
        pending: str = getattr(self._pending, "text", "") + text
        head, newline, rest = pending.rpartition("\n")
        self._pending.text = rest
        if newline:
            with self._lock:
                self.stream.write(head + newline)
                self.stream.flush()
        return len(text)

    def flush(self) -> None:
        """Write out this thread's unfinished line, if any."""
        pending: str = getattr(self._pending, "text", "")
        self._pending.text = ""
        with self._lock:
            if pending:
                self.stream.write(pending)
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def install() -> None:
    """In the provider process only: report a KarmoError as its message, and write
    stderr a whole line at a time. Does nothing anywhere else, and nothing if a future
    SDK's server no longer looks as expected."""
    server = sys.modules.get("__main__")
    if server is None or not callable(getattr(server, "_abort_with_traceback", None)):
        return
    if getattr(server, "traceback", None) is traceback:
        server.traceback = _MessageOfKarmoErrors()  # type: ignore[attr-defined]
    if not isinstance(sys.stderr, LineAtomicWriter):
        sys.stderr = LineAtomicWriter(sys.stderr)
