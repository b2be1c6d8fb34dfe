"""docs/previews.md shows what the CLI prints: regenerate it with
``python scripts/capture_previews.py`` when this fails."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import ROOT, cli_environment

pytestmark = pytest.mark.cli


def test_docs_previews_match_the_cli(pulumi_bin: Path, tmp_path: Path) -> None:
    env = cli_environment(pulumi_bin, tmp_path, tmp_path)
    version = subprocess.run(
        ["pulumi", "version"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    captured = re.search(r"built here \((v[0-9.]+)", (ROOT / "docs" / "previews.md").read_text())
    assert captured is not None
    if version != captured.group(1) or shutil.which("pulumi-language-python", path=env["PATH"]):
        # A released CLI (e.g. GitHub's pulumi/actions) prints `pulumi import` differently.
        pytest.skip(
            f"docs/previews.md was captured with the CLI built by scripts/pulumi-cli.sh "
            f"({captured.group(1)}), not {version}"
        )
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "capture_previews.py"), "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
