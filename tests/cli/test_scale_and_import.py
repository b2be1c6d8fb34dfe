"""Scenarios g (``pulumi import``) and j (200 roles, ``--parallel 16``) through the real
Pulumi CLI, against the sandbox."""

from __future__ import annotations

from collections import Counter

import pytest

from cli.conftest import NewProject
from cli.engine import ROLE_TYPE
from pulumi_karmo_roles.sandbox import SandboxServer

pytestmark = pytest.mark.cli

MANY = """
from pulumi_karmo_roles import OrganizationRole
for i in range(200):
    OrganizationRole(f"role-{i}", organization_id=f"org_{i % 10}", slug=f"org-role-{i}",
                     name=f"Role {i}")
"""


def test_200_roles_in_parallel_are_each_created_once(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(MANY)
    stack.up("--parallel", "16")
    sent = Counter((r["method"], r["path"]) for r in sandbox.requests())
    assert len(sent) == 200
    assert set(sent.values()) == {1}
    assert all(method == "PUT" for method, _ in sent)
    assert sandbox.stats()["created"] == 200
    assert len(sandbox.roles()) == 200
    assert len(stack.resources()) == 200


IMPORT_FAILS = "pulumi import of a dynamic resource"


def test_pulumi_import_fails_and_changes_nothing(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    """g. The engine sends Read only the id, with no serialized provider: import cannot
    work for any Python dynamic provider. It must fail, leave the stack empty and call
    nothing; docs/real-engine.md shows what it prints and the upsert adoption instead."""
    stack = new_project("import pulumi\n")
    imported = stack.pulumi(
        "import",
        ROLE_TYPE,
        "admin",
        "org_acme/org-admin",
        "--yes",
        "--non-interactive",
        "--color=never",
        "--generate-code=false",
        ok=False,
    )
    assert imported.returncode != 0, imported
    assert stack.resources() == {}
    assert sandbox.stats().get("requests", 0) == 0
