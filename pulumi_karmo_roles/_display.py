"""What ``pulumi up`` shows of an error in the provider process: a ``KarmoError`` as its
one line, not a traceback.

The SDK's dynamic-provider server answers an exception with ``traceback.format_exc()``
as the gRPC details, and the CLI prints that under the resource: a dozen lines of SDK
frames before the one line that says what to fix. :func:`install`, run when the provider
is unpickled, gives that server a ``traceback`` whose ``format_exc`` returns a
``KarmoError``'s message as Python ends a traceback with it; other exceptions (bugs) keep
their traceback. It acts only inside ``python -m pulumi.dynamic`` whose server looks as
expected, and does nothing anywhere else.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

from .errors import KarmoError


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


def install() -> None:
    """In the provider process only: report a ``KarmoError`` as its message. Does
    nothing anywhere else, nor if the SDK's server no longer looks as expected."""
    server = sys.modules.get("__main__")
    if server is None or not callable(getattr(server, "_abort_with_traceback", None)):
        return
    if getattr(server, "traceback", None) is traceback:
        server.traceback = _MessageOfKarmoErrors()  # type: ignore[attr-defined]
