"""A thousand roles in one program apply through the real Pulumi CLI: one ``pulumi up``
creates each role once, with one upsert, and records every one with the id Karmo gave it.

What could break it: the Python SDK's provider serializer lengthens a chain of wrappers
with every dynamic resource, and a program of plain dynamic resources whose provider
pickles a dictionary dies with ``RecursionError`` near the 980th (pulumi/pulumi#17803;
docs/performance.md). This program registers past that point.
"""

from __future__ import annotations

from collections import Counter

import pytest

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import NewProject

pytestmark = pytest.mark.cli

ORGANIZATIONS, ROLES_EACH = 100, 10
N = ORGANIZATIONS * ROLES_EACH

TENANTS = f"""
from pulumi_karmo_roles import OrganizationRole
for org in range({ORGANIZATIONS}):
    for role in range({ROLES_EACH}):
        OrganizationRole(f"org{{org}}-role{{role}}", organization_id=f"org_{{org}}",
                         slug=f"org-role-{{role}}", name=f"Role {{role}} of tenant {{org}}")
"""


def test_a_thousand_roles_apply_each_created_once(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    """100 organizations x 10 roles in one ``pulumi up``: every role is created once and
    every one is in the state.

    It runs with ``PULUMI_SKIP_CHECKPOINTS=true``, a documented setting of the CLI: the
    file backend otherwise rewrites the whole state after every step, which is what makes
    a thousand resources take minutes (the cost is quadratic; docs/performance.md has the
    figures). The setting changes only when the engine writes the state (once, at the
    end), not what the program or the provider do, so the program-side failure this test
    is for, the ``RecursionError`` near the 980th registration, still fails ``pulumi up``;
    and the state checked below is the one written at the end.
    """
    stack = new_project(TENANTS)
    stack.env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    run = stack.up(timeout=900)
    assert "RecursionError" not in run.output
    stats = sandbox.stats()
    assert stats["created"] == N, stats
    assert stats["requests"] == N, stats  # one upsert each: no retry, no second write
    assert "updated" not in stats, stats
    sent = Counter((r["method"], r["path"]) for r in sandbox.requests())
    assert len(sent) == N
    assert set(sent.values()) == {1}
    assert {method for method, _ in sent} == {"PUT"}
    assert set(sandbox.roles()) == {
        (f"org_{org}", f"org-role-{role}")
        for org in range(ORGANIZATIONS)
        for role in range(ROLES_EACH)
    }
    resources = stack.resources()
    assert len(resources) == N
    in_state = {(r["outputs"]["organization_id"], r["outputs"]["slug"]) for r in resources.values()}
    assert in_state == set(sandbox.roles())
    # Each role's id in the state is the one Karmo gave it.
    given = {key: role_id for key, (role_id, _) in sandbox.roles().items()}
    assert {
        (r["outputs"]["organization_id"], r["outputs"]["slug"]): r["outputs"]["role_id"]
        for r in resources.values()
    } == given
