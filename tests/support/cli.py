"""Drive the real Pulumi CLI against the sandbox, in a temporary project.

Plain commands (``stack init``, ``config set``, ``stack export``, ``import``) run
``pulumi`` itself; commands that run the program (``preview``, ``up``, ``refresh``,
``destroy``) go through ``scripts/pulumi_inline.py``, which runs the same ``pulumi``
with the program hosted in-process (the Python language host cannot be built here:
CONTRIBUTING.md says why). Either way the output and exit code are the CLI's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "scripts" / "pulumi_inline.py"
ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"
PASSPHRASE = "cli-test-passphrase"
PROGRAM_COMMANDS = ("preview", "up", "refresh", "destroy")
UP = ("up", "--yes", "--skip-preview", "--non-interactive", "--color=never")
"""``pulumi up`` as the tests and benchmarks run it: no prompt, no preview, no colour."""


def pulumi_bin() -> Path:
    """The directory of ``pulumi``: on PATH, or built (or reused) by scripts/pulumi-cli.sh."""
    found = shutil.which("pulumi")
    if found:
        return Path(found).resolve().parent
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pulumi-cli.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(built.stdout.strip().splitlines()[-1])


def cli_environment(bin_dir: Path, state: Path, home: Path) -> dict[str, str]:
    """The environment of every ``pulumi`` run: no account, no network, no plugin
    downloads, the test's interpreter for the program and the dynamic provider."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KARMO_", "PULUMI_"))},
        "PATH": os.pathsep.join([str(bin_dir), venv_bin, os.environ.get("PATH", "")]),
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": sys.executable,
        "NO_COLOR": "1",
    }


@dataclass
class Run:
    """One finished ``pulumi`` command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Everything the user saw: stdout, then stderr."""
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"$ pulumi {' '.join(self.args)}  (exit {self.returncode})\n{self.output}"


class Project:
    """A Pulumi project directory with one stack (``dev``) on a local file backend.

    Every run is checked for each of ``secrets`` (the Karmo token, the WorkOS key) in its
    output, successful or not: no credential may ever reach the terminal.
    """

    def __init__(
        self,
        directory: Path,
        env: dict[str, str],
        *,
        secret: str,
        name: str = "karmo-cli",
        also_secret: tuple[str, ...] = (),
    ) -> None:
        self.directory = directory
        self.env = env
        self.secrets = (secret, *also_secret)
        self.runs: list[Run] = []
        self.state_directory = Path(env["PULUMI_BACKEND_URL"].removeprefix("file://"))
        directory.mkdir(parents=True, exist_ok=True)
        # runtime python, as users write it; the program itself runs in-process.
        (directory / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")

    def write_program(self, source: str) -> None:
        """Replace ``__main__.py`` with ``source`` (dedented)."""
        (self.directory / "__main__.py").write_text(textwrap.dedent(source).lstrip())

    def command(self, *args: str) -> list[str]:
        """The command line of ``pulumi ARGS``: through the inline runner when it runs the
        program, plain ``pulumi`` otherwise (run it in :attr:`directory` with :attr:`env`)."""
        if args and args[0] in PROGRAM_COMMANDS:
            return [sys.executable, str(RUNNER), str(self.directory), *args]
        return ["pulumi", *args]

    def check_output(self, run: Run, ok: bool) -> Run:
        """Record ``run``; fail if a credential is in its output, or if it failed and
        ``ok``."""
        self.runs.append(run)
        for secret in self.secrets:
            assert secret not in run.output, f"a credential leaked into the output of\n{run}"
        if ok:
            assert run.returncode == 0, f"expected success:\n{run}"
        return run

    def pulumi(self, *args: str, ok: bool = True, timeout: float = 600) -> Run:
        """Run ``pulumi ARGS`` (through the inline runner when it runs the program)."""
        done = subprocess.run(
            self.command(*args),
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return self.check_output(Run(tuple(args), done.returncode, done.stdout, done.stderr), ok)

    def preview(self, *args: str, ok: bool = True) -> Run:
        """``pulumi preview --diff`` (non-interactive, no colour)."""
        return self.pulumi("preview", "--diff", "--non-interactive", "--color=never", *args, ok=ok)

    def up(self, *args: str, ok: bool = True, timeout: float = 600) -> Run:
        """``pulumi up --yes --skip-preview`` (non-interactive, no colour)."""
        return self.pulumi(*UP, *args, ok=ok, timeout=timeout)

    def outputs(self) -> dict[str, Any]:
        """The stack outputs."""
        value: dict[str, Any] = json.loads(self.pulumi("stack", "output", "--json").stdout)
        return value

    def export(self) -> dict[str, Any]:
        """``pulumi stack export``: the deployment as stored."""
        value: dict[str, Any] = json.loads(self.pulumi("stack", "export").stdout)
        return value

    def resources(self, type_: str = ROLE_TYPE) -> dict[str, dict[str, Any]]:
        """The stack's resources of ``type_`` by their Pulumi name, from the export."""
        found = {}
        for resource in self.export()["deployment"].get("resources", []):
            if resource["type"] == type_:
                found[resource["urn"].rsplit("::", 1)[1]] = resource
        return found


NewProject = Callable[..., Project]
"""The ``new_project`` fixture: ``new_project(program_source, {"karmo:maxRetries": "0"})``."""

NO_CLI = (
    "real-engine tests skipped: no `pulumi` on PATH and no Go to build it with "
    "scripts/pulumi-cli.sh"
)
"""How a run without a CLI and without Go says that the real-engine tests were left out."""
