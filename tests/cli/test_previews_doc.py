"""docs/previews.md shows what the CLI prints: regenerate it with
``python scripts/capture_previews.py`` when this fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.engine import ROOT, cli_environment

pytestmark = pytest.mark.cli


def test_docs_previews_match_the_cli(pulumi_bin: Path, tmp_path: Path) -> None:
    env = cli_environment(pulumi_bin, tmp_path, tmp_path)
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "capture_previews.py"), "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
