"""The benchmark runs end to end (tiny sizes; no timing is asserted: speed is measured
by the benchmark itself, not by tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_prints_its_table() -> None:
    pytest.importorskip("trustme")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "apply.py"), "--n", "8", "--cold-runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for heading in ("1. Apply throughput", "2. Provider process CPU", "3. Cold start",
                    "4. Under a rate limit"):  # fmt: skip
        assert heading in result.stdout
    assert "HTTP requests per role" in result.stdout
    assert "failed operations                                           0" in result.stdout


def test_review_benchmark_prints_its_tables() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "review.py"),
            "--sizes",
            "20",
            "60",
            "--organizations",
            "10",
            "--runs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "## 1. CPU time of a review, per 1,000 roles" in result.stdout
    assert "| 60 |" in result.stdout
    assert "(1.00 is linear)" in result.stdout
    assert "| every change different | 60 |" in result.stdout
