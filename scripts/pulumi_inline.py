"""Run a Pulumi command on a project's ``__main__.py`` as an Automation API inline program.

    python scripts/pulumi_inline.py PROJECT_DIR COMMAND [PULUMI ARGS...]

COMMAND is one that runs the program: ``preview``, ``up``, ``refresh`` or ``destroy``.
It runs the real ``pulumi`` CLI found on PATH in PROJECT_DIR, exactly as
``pulumi COMMAND ARGS`` would, except that the program is hosted in this Python process
(the Automation API's language server) instead of by the ``pulumi-language-python``
plugin, which the Go module proxy reachable here does not serve (see CONTRIBUTING.md,
"Programs run inline"). The CLI's stdout and stderr pass through unchanged, and its exit
code is this script's.

So the program runs with this interpreter and its installed packages (run it with the
virtual environment that has pulumi-karmo-roles), and the engine starts the dynamic
provider with the same interpreter (``PULUMI_PYTHON_CMD``). Every other command
(``stack init``, ``config set``, ``stack export``, ``import``...) is plain ``pulumi``.

As under the language host, the program runs with PROJECT_DIR as its working directory
(relative paths such as ``OrganizationRoleSet.from_file("roles.yaml")`` are the
project's), and each failure is reported once: a ``pulumi.RunError`` by its message, any
other exception by its traceback, and a resource monitor that shut down (because the
engine already reported why, e.g. a provider's ``check`` failed) not at all. The
Automation API's own server reports a program's error twice (once as a diagnostic, again
as "an unhandled error occurred: ...") and the monitor's shutdown as an error of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import runpy
import subprocess
import sys
import traceback
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pulumi
from pulumi.automation._server import LanguageServer
from pulumi.runtime import reset_options, run_in_stack, set_all_config
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

PROGRAM_COMMANDS = ("preview", "up", "update", "refresh", "destroy")
MONITOR_GONE = "Resource monitor has terminated, shutting down"
"""The SDK's RunError when the engine stops the deployment under a running program."""


class InlineProgram(LanguageServer):
    """The Automation API's language server, with ``Run`` as the Python language host
    runs a program (``pulumi-language-python-exec``): in the request's working directory,
    each failure reported once and the run then bailed (nothing more is printed)."""

    def __init__(self, program: Callable[[], None], project: Path) -> None:
        super().__init__(program)
        self.project = project

    def Run(self, request: Any, context: Any) -> Any:
        """Run the program once against the engine that asks (``pulumi up`` asks twice:
        preview, then update), each time in a fresh copy of the context, as the SDK's
        server does."""
        return contextvars.copy_context().run(self._run, request)

    def _run(self, request: Any) -> Any:
        # A failure leaves futures nobody awaits; asyncio's complaints about them are noise.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        reset_options(
            project=request.project,
            monitor_address=request.monitor_address,
            engine_address=request.args[0] if request.args else "",
            stack=request.stack,
            parallel=request.parallel,
            preview=request.dryRun,
            organization=request.organization or "organization",
        )
        if request.config:
            set_all_config(dict(request.config), list(request.configSecretKeys) or None)
        loop = asyncio.new_event_loop()
        loop.set_default_executor(futures.ThreadPoolExecutor(max(request.parallel, 1) * 4))
        loop.set_exception_handler(self._exception_handler)
        here = os.getcwd()
        os.chdir(request.pwd or self.project)
        try:
            loop.run_until_complete(run_in_stack(self.program))
        except pulumi.RunError as exc:
            if str(exc) != MONITOR_GONE:  # the engine has said why it stopped
                pulumi.log.error(str(exc))
            return language_pb2.RunResponse(bail=True)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                pulumi.log.error(f"RPC error: {exc.details()}")
            return language_pb2.RunResponse(bail=True)
        except Exception:
            failed = "Program failed with an unhandled exception:\n"
            pulumi.log.error(failed + _user_traceback(self.project / "__main__.py"))
            return language_pb2.RunResponse(bail=True)
        finally:
            os.chdir(here)
            for task in asyncio.all_tasks(loop):  # left pending by a failure: not an error
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
            loop.close()
            sys.stdout.flush()
            sys.stderr.flush()
        return language_pb2.RunResponse()


def _user_traceback(entry: Path) -> str:
    """The traceback being handled from the program's first frame on, as the language
    host shows it (this runner's and the SDK's frames above it are noise)."""
    frames = traceback.extract_tb(sys.exc_info()[2])
    for index, frame in enumerate(frames):
        if Path(frame.filename) == entry:
            return traceback.format_exc(limit=index - len(frames))
    return traceback.format_exc()


def main(argv: list[str]) -> int:
    """Host PROJECT_DIR/__main__.py and run ``pulumi COMMAND ARGS`` against it."""
    if len(argv) < 2 or argv[1] not in PROGRAM_COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    project = Path(argv[0]).resolve()
    entry = project / "__main__.py"

    def program() -> None:
        # The program sees itself as __main__, as under the Python language host.
        sys.path.insert(0, str(project))
        try:
            runpy.run_path(str(entry), run_name="__main__")
        finally:
            sys.path.remove(str(project))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(InlineProgram(program, project), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    env = {
        **os.environ,
        # The engine starts `pulumi-resource-pulumi-python`, which runs this interpreter.
        "PULUMI_PYTHON_CMD": sys.executable,
        # Makes the CLI accept the Automation API's hidden --exec-kind flag.
        "PULUMI_DEBUG_COMMANDS": "true",
    }
    try:
        command = [
            "pulumi",
            *argv[1:],
            f"--client=127.0.0.1:{port}",
            "--exec-kind",
            "auto.inline",
        ]
        return subprocess.run(command, cwd=project, env=env, check=False).returncode
    finally:
        server.stop(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
