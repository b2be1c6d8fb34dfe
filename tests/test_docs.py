"""The README's promises that a test can hold it to."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_test_command() -> str:
    """The one command in the README's shell blocks that runs pytest."""
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)\n```", README, re.S)
    commands = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if "-m pytest" in line and line.strip().startswith("python3 -m venv")
    ]
    assert len(commands) == 1, commands
    return str(commands[0])


def test_ci_runs_the_readme_test_command() -> None:
    command = readme_test_command()
    assert "pytest" in command
    assert "ruff check" in command
    assert "mypy" in command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    runs = [line for line in ci_lines if line.startswith(command)]
    assert len(runs) == 1, "CI must run the README's test command verbatim, once"
    # Under `set -e` a failure inside `a && b && c` does not stop the script: the line
    # must end the chain with `|| exit`, so that any failing link fails CI.
    assert re.fullmatch(r"\|\| exit( \$\?| 1)?", runs[0][len(command) :].strip()), runs[0]


def test_ci_stops_at_a_failing_step(tmp_path: Path) -> None:
    # The README command's shape, with its middle link failing, run the way .ci/run runs
    # it: the script must exit non-zero and go no further.
    script = (ROOT / ".ci" / "run").read_text()
    header = script[: script.index("cd ")]
    assert "set -euo pipefail" in header
    command = readme_test_command()
    line = next(line.strip() for line in script.splitlines() if line.strip().startswith(command))
    chained = "true && false && true" + line[len(command) :]
    probe = tmp_path / "probe.sh"
    probe.write_text(f"{header}{chained}\necho went-on\n")
    result = subprocess.run(["bash", str(probe)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "went-on" not in result.stdout


def test_every_setting_is_documented() -> None:
    from pulumi_karmo_roles.config import CONFIG_KEYS

    for key, env in CONFIG_KEYS.items():
        assert f"`{key}`" in README
        assert f"`{env}`" in README


def test_every_error_class_is_documented() -> None:
    from pulumi_karmo_roles import errors

    for name in errors.__all__:
        value = getattr(errors, name)
        if (
            isinstance(value, type)
            and issubclass(value, errors.APIError)
            and value
            not in (
                errors.APIError,
                errors.APIStatusError,
            )
        ):
            assert f"`{name}`" in README, name


def test_demo_explains_a_missing_cli(tmp_path: Path) -> None:
    # A PATH with bash and python but no pulumi, as on these machines.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "python3", "dirname", "cat"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        ["bash", str(ROOT / "examples" / "basic" / "demo.sh")],
        env={**os.environ, "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "the Pulumi CLI is not installed" in result.stderr
    assert "get.pulumi.com" in result.stderr
