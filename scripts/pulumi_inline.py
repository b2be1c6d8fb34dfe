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
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
from pulumi.automation._server import LanguageServer
from pulumi.runtime.proto import language_pb2_grpc

PROGRAM_COMMANDS = ("preview", "up", "update", "refresh", "destroy")


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
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageServer(program), server)
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
