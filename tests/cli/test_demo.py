"""``bash examples/basic/demo.sh`` runs preview, up, a no-op up, outputs and destroy
against the sandbox with the real CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import ROOT

pytestmark = pytest.mark.cli


def test_demo_runs_the_whole_lifecycle(pulumi_bin: Path, pulumi_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KARMO_", "PULUMI_"))}
    env["PATH"] = f"{pulumi_bin}{os.pathsep}{env.get('PATH', '')}"
    env["PULUMI_HOME"] = str(pulumi_home)
    demo = subprocess.run(
        ["bash", str(ROOT / "examples" / "basic" / "demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output
    assert "+ 4 to create" in output
    assert "+ 4 created" in output
    assert "4 unchanged" in output  # the no-op up
    assert "org_customer_42/org-support: 'Customer Support'" in output
    assert "- 4 deleted" in output
    assert "demo: done" in output
