"""The real Pulumi CLI against the sandbox: preview, up, up again (no changes), an edit,
refresh and destroy, with a local file backend.

Skipped where ``pulumi`` is not on PATH (these machines cannot install it); where it is
on PATH, every step must succeed or the test fails. With ``REQUIRE_PULUMI_CLI=1`` (the
project's GitHub workflow sets it) a missing CLI fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TOKEN

from pulumi_karmo_roles.sandbox import SandboxServer

REQUIRED = os.environ.get("REQUIRE_PULUMI_CLI") == "1"

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(
        shutil.which("pulumi") is None and not REQUIRED, reason="the Pulumi CLI is not on PATH"
    ),
]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "basic"


class Stack:
    """Runs ``pulumi`` in one project directory with a local backend."""

    def __init__(self, project: Path, state: Path) -> None:
        self.project = project
        venv_bin = str(Path(sys.executable).parent)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KARMO_")},
            # The program runs with the python3 on PATH: this test's interpreter.
            "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
            "PULUMI_PYTHON_CMD": sys.executable,
            # A local file backend: no Pulumi Cloud account, state in the test's tmp dir.
            "PULUMI_BACKEND_URL": state.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "cli-test-passphrase",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pulumi", *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        assert TOKEN not in output, f"the token leaked into `pulumi {' '.join(args)}` output"
        if ok:
            assert result.returncode == 0, f"pulumi {' '.join(args)} failed:\n{output}"
        return result


@pytest.fixture
def stack(tmp_path: Path, sandbox: SandboxServer) -> Stack:
    assert shutil.which("pulumi"), "REQUIRE_PULUMI_CLI=1 but `pulumi` is not on PATH"
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("Pulumi.*.yaml", "venv"))
    (tmp_path / "state").mkdir()
    s = Stack(project, tmp_path / "state")
    s.run("stack", "init", "dev", "--non-interactive")
    s.run("config", "set", "karmo:apiUrl", sandbox.url)
    s.run("config", "set", "--secret", "karmo:token", TOKEN)
    s.run("config", "set", "customerOrganizationId", "org_customer_42")
    return s


def test_full_lifecycle(stack: Stack, sandbox: SandboxServer) -> None:
    preview = stack.run("preview", "--diff", "--non-interactive")
    assert "pulumi-python:dynamic/karmo:OrganizationRole" in preview.stdout
    assert "3 to create" in preview.stdout or "4 to create" in preview.stdout
    assert sandbox.stats().get("requests", 0) == 0  # a preview sends nothing to Karmo

    stack.run("up", "--yes", "--skip-preview", "--non-interactive")
    roles = sandbox.roles()
    assert set(roles) == {
        ("org_platform", "org-admin"),
        ("org_platform", "org-viewer"),
        ("org_customer_42", "org-support"),
    }
    outputs = json.loads(stack.run("stack", "output", "--json").stdout)
    assert outputs["roleIds"]["customer-support"] == roles[("org_customer_42", "org-support")][0]
    assert outputs["supportRoleResourceId"] == "org_customer_42/org-support"

    state = stack.run("stack", "export").stdout
    assert TOKEN not in state

    stack.run("up", "--yes", "--non-interactive", "--expect-no-changes")

    # A new name is an in-place update of the same role.
    stack.run("config", "set", "supportRoleName", "Support Team")
    edit = stack.run("preview", "--diff", "--non-interactive")
    assert "1 to update" in edit.stdout
    assert "replace" not in edit.stdout.split("Resources:")[-1]
    stack.run("up", "--yes", "--skip-preview", "--non-interactive")
    role_id = roles[("org_customer_42", "org-support")][0]
    assert sandbox.roles()[("org_customer_42", "org-support")] == (role_id, "Support Team")

    # Karmo has no read endpoint: refresh keeps the recorded state, so it finds no change.
    stack.run("refresh", "--yes", "--skip-preview", "--non-interactive", "--expect-no-changes")
    stack.run("up", "--yes", "--non-interactive", "--expect-no-changes")

    # A new organization is another role: replace.
    stack.run("config", "set", "customerOrganizationId", "org_customer_43")
    moved = stack.run("preview", "--diff", "--non-interactive")
    assert "1 to replace" in moved.stdout
    stack.run("up", "--yes", "--skip-preview", "--non-interactive")
    assert ("org_customer_43", "org-support") in sandbox.roles()

    destroyed = stack.run("destroy", "--yes", "--skip-preview", "--non-interactive")
    assert "remains in Karmo" in destroyed.stdout + destroyed.stderr
    assert len(sandbox.roles()) == 4  # Karmo has no delete: every role is still there


def test_bad_slug_fails_the_preview(stack: Stack, sandbox: SandboxServer) -> None:
    program = stack.project / "__main__.py"
    program.write_text(
        "from pulumi_karmo_roles import OrganizationRole\n"
        "OrganizationRole('bad', organization_id='org_1', slug='Admin', name='Admin')\n"
    )
    preview = stack.run("preview", "--non-interactive", ok=False)
    assert preview.returncode != 0
    output = preview.stdout + preview.stderr
    assert "slug must start with 'org-'" in output
    assert "'Admin'" in output
    assert sandbox.stats().get("requests", 0) == 0


def test_rename_without_alias_keeps_the_permissions(stack: Stack, sandbox: SandboxServer) -> None:
    # The engine creates the renamed resource, then deletes the old one: by default that
    # delete sends nothing, so the permissions the new resource declares stay in Karmo.
    program = stack.project / "__main__.py"
    declare = (
        "from pulumi_karmo_roles import OrganizationRole\n"
        "OrganizationRole({name!r}, organization_id='org_1', slug='org-ops', name='Ops',\n"
        "                 permissions=['reports:export'])\n"
    )
    program.write_text(declare.format(name="ops"))
    stack.run("up", "--yes", "--skip-preview", "--non-interactive")
    assert sandbox.permissions("org_1", "org-ops") == ["reports:export"]

    program.write_text(declare.format(name="operators"))  # renamed, no alias
    renamed = stack.run("up", "--yes", "--skip-preview", "--non-interactive")
    output = renamed.stdout + renamed.stderr
    assert "remains in Karmo, and so do its permissions" in output
    assert sandbox.permissions("org_1", "org-ops") == ["reports:export"]
