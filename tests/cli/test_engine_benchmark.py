"""benchmarks/engine.py runs end to end (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import ROOT, cli_environment

pytestmark = pytest.mark.cli


def test_engine_benchmark_prints_its_tables(pulumi_bin: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--n", "3", "5", "--runs", "1"],
        env=cli_environment(pulumi_bin, tmp_path, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "N=3, 5, L=50 ms" in out
    for n in (3, 5):
        for program in ("do-nothing dynamic resource", "OrganizationRole"):
            row = re.search(rf"^\| {n} \| {program} \|(.*)$", out, re.MULTILINE)
            assert row, f"no row for {program} at N={n}:\n{out}"
    # Every process was seen: wall, per resource, ratio, three peaks, state, per resource.
    role_row = re.search(r"^\| 5 \| OrganizationRole \| (.*) \|$", out, re.MULTILINE)
    assert role_row
    cells = role_row.group(1).split(" | ")
    assert len(cells) == 8, cells
    assert all(re.fullmatch(r"[1-9]\d* MiB", cell) for cell in cells[3:6]), cells
    # Its serialized provider, read from the state, and the targets' verdicts.
    assert re.search(r"^\| 5 \| OrganizationRole \|.*\| 120 chars \|$", out, re.MULTILINE), out
    assert "- ours <= 1.10 x do-nothing at N=1000: not run" in out
    assert "- serialized provider <= 120 characters per resource: 120, met" in out
    assert "- every up succeeded, no RecursionError: met (4 ups)" in out
