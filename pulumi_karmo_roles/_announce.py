"""The one way a message leaves the provider process: :func:`announce`.

The provider process has no connection to the engine's log (pulumi/pulumi#6065), but the
CLI shows each line the process writes to stderr, at once and again under Diagnostics.
So a message is one whole line (``warning: ...`` or ``info: ...``, as ``pulumi.log``
would print it there), written in one call under one lock: operations run four at a
time, and two messages must never share a line.
"""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()


def announce(message: str, *, level: str = "warning") -> None:
    """Show ``message`` to the user running ``pulumi up``, while it happens (each retry,
    the warning of a delete).

    :param level: ``"warning"`` or ``"info"``.
    """
    line = f"{level}: {' '.join(message.splitlines())}\n"
    with _lock:
        sys.stderr.write(line)
        sys.stderr.flush()
