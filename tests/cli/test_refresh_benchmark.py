"""benchmarks/refresh.py runs end to end (tiny sizes; no timing is asserted), and a
refresh of many roles reads one WorkOS list per organization."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import ROOT, cli_environment

pytestmark = pytest.mark.cli


def test_refresh_benchmark_prints_its_table(pulumi_bin: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "refresh.py"), "--n", "12", "--runs", "1"],
        env=cli_environment(pulumi_bin, tmp_path, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| do-nothing dynamic resource |" in result.stdout
    # 12 roles in 2 organizations: 2 list requests, not 12.
    row = next(line for line in result.stdout.splitlines() if "read back" in line)
    assert row.endswith("| 2 |"), row
