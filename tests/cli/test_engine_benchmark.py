"""benchmarks/engine.py runs end to end (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_karmo_roles import shard_of
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


def test_engine_benchmark_compares_one_stack_with_shards_on_s3(
    pulumi_bin: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "engine.py"),
            "--quick",
            "--shards",
            "2",
            "--backend",
            "s3",
            "--checkpoints",
            "both",
        ],
        env=cli_environment(pulumi_bin, tmp_path, tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "s3 backend, N=60, L=10 ms" in out
    # The program's 6 organizations of 10 roles, split as shard_of splits them.
    sizes = [0, 0]
    for organization in range(6):
        sizes[shard_of(f"org_{organization}", 2)] += 10
    assert 0 < min(sizes) < max(sizes)  # so the larger shard is the one to tell apart
    for variant in ("on", "skip"):
        row = re.search(rf"^\| 60 \| 2 \| {variant} \| (.*) \|$", out, re.MULTILINE)
        assert row, out
        cells = row.group(1).split(" | ")
        assert re.fullmatch(r"\d+\.\d\d s", cells[0]), cells  # one stack
        assert re.fullmatch(r"\d+\.\d\d s", cells[1]), cells  # both at once
        assert re.fullmatch(rf"\d+\.\d\d s \({max(sizes)}\)", cells[2]), cells  # the larger alone
        assert f"- N=60, K=2, checkpoints {variant}: largest shard alone <= 1/2" in out
    assert "- every up succeeded: met (2 comparisons)" in out
