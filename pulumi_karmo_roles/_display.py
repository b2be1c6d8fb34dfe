"""Our errors reach ``pulumi up`` as their message, not as a Python traceback.

``python -m pulumi.dynamic`` (the provider process) answers an exception from a provider
method with ``traceback.format_exc()`` as the gRPC error details, and the CLI prints that
under the resource: a dozen lines of SDK frames before the one line that says what to
fix. For a :class:`~pulumi_karmo_roles.errors.KarmoError`, whose message is written for
the user and complete, the details become that one line alone, as Python ends a
traceback with it (``pulumi_karmo_roles.errors.AuthenticationError: Karmo rejected ...``).
Any other exception (a bug) keeps its traceback.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

from .errors import KarmoError

__all__ = ["show_karmo_errors_without_traceback"]


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


def show_karmo_errors_without_traceback() -> None:
    """In the provider process only (``__main__`` is pulumi.dynamic's server): make its
    error details the message of a KarmoError. Does nothing anywhere else, and nothing
    if a future SDK formats errors differently."""
    server = sys.modules.get("__main__")
    if (
        server is not None
        and callable(getattr(server, "_abort_with_traceback", None))
        and getattr(server, "traceback", None) is traceback
    ):
        server.traceback = _MessageOfKarmoErrors()  # type: ignore[attr-defined]
