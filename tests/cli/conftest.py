"""Fixtures of the real-engine tests: one Pulumi CLI for the session (found on PATH or
built with scripts/pulumi-cli.sh when Go is present), a project per test.

Where neither is possible they are left out, and the run says so in one line; with
``REQUIRE_PULUMI_CLI=1`` (as in .ci/run) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import NO_CLI, ROOT, NewProject, Project, cli_environment
from tests.support.secrets import TOKEN, WORKOS_KEY

REQUIRED = os.environ.get("REQUIRE_PULUMI_CLI") == "1"
SHIM = "pulumi-resource-pulumi-python"


def _find_or_build() -> tuple[Path | None, str]:
    on_path = shutil.which("pulumi")
    if on_path is not None:
        bin_dir = Path(on_path).resolve().parent
        if (bin_dir / SHIM).exists() or shutil.which(SHIM):
            return bin_dir, ""
        return None, f"`pulumi` is on PATH ({on_path}) but `{SHIM}` is not beside it"
    if shutil.which("go") is None:
        return None, NO_CLI
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pulumi-cli.sh")],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if built.returncode != 0:
        return None, f"scripts/pulumi-cli.sh failed:\n{built.stderr[-3000:]}"
    return Path(built.stdout.strip().splitlines()[-1]), ""


_LEFT_OUT = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a CLI and without Go, leave the real-engine tests out (one line in the
    summary says so) rather than skip each one."""
    if REQUIRED or shutil.which("pulumi") or shutil.which("go"):
        return
    here = Path(__file__).resolve().parent
    left_out = [item for item in items if here in item.path.resolve().parents]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
        config.stash[_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The one line that says the real-engine tests did not run."""
    if config.stash.get(_LEFT_OUT, 0):
        terminalreporter.write_line(f"{config.stash[_LEFT_OUT]} {NO_CLI}", yellow=True)


@pytest.fixture(scope="session")
def pulumi_bin() -> Path:
    """The directory holding ``pulumi`` and the Python dynamic-provider shim."""
    bin_dir, why = _find_or_build()
    if bin_dir is None:
        if REQUIRED:
            pytest.fail(f"REQUIRE_PULUMI_CLI=1: {why}", pytrace=False)
        pytest.skip(why)
    return bin_dir


@pytest.fixture(scope="session")
def pulumi_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PULUMI_HOME of the session's own: no plugins or credentials from the machine."""
    return tmp_path_factory.mktemp("pulumi-home")


@pytest.fixture
def new_project(
    tmp_path: Path, pulumi_bin: Path, pulumi_home: Path, sandbox: SandboxServer
) -> NewProject:
    """Make a project with stack ``dev`` configured for the sandbox:
    ``new_project(program_source, {"karmo:maxRetries": "0"})``."""
    counter = iter(range(1000))

    def make(program: str, config: dict[str, str] | None = None) -> Project:
        n = next(counter)
        state = tmp_path / f"state{n}"
        state.mkdir()
        env = cli_environment(pulumi_bin, state, pulumi_home)
        project = Project(tmp_path / f"project{n}", env, secret=TOKEN, also_secret=(WORKOS_KEY,))
        project.write_program(program)
        project.pulumi("stack", "init", "dev", "--non-interactive")
        project.pulumi("config", "set", "karmo:apiUrl", sandbox.url)
        project.pulumi("config", "set", "--secret", "karmo:token", TOKEN)
        for key, value in (config or {}).items():
            project.pulumi("config", "set", key, value)
        return project

    return make
