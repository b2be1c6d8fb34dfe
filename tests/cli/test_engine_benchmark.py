"""benchmarks/engine.py runs end to end (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import ROOT, cli_environment

pytestmark = pytest.mark.cli


def test_engine_benchmark_prints_its_table(pulumi_bin: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--n", "4", "--runs", "1"],
        env=cli_environment(pulumi_bin, tmp_path, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| do-nothing dynamic resource |" in result.stdout
    assert "| OrganizationRole |" in result.stdout
    assert "N=4, L=50 ms" in result.stdout
