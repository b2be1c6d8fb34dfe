"""The README's promises that a test can hold it to."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command() -> None:
    match = re.search(r"## On a fresh machine.*?```sh\n(.+?)\n```", README, re.S)
    assert match is not None
    command = match.group(1).strip()
    assert "pytest" in command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines


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
