"""A role's whole lifecycle through the real Pulumi CLI, against the sandbox: preview,
up, a no-op up, each kind of edit, refresh, an aliased rename, and the token in no
output or state.

One stack goes through preview, up, no-op up, edits, refresh and an aliased rename in
one lifecycle (each CLI run costs a second or more); the delete semantics (a rename
without alias, destroy) get a stack of their own.
"""

from __future__ import annotations

import re

import pytest

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import ROLE_TYPE, NewProject
from tests.support.secrets import TOKEN

pytestmark = pytest.mark.cli

ORG = "org_acme"
TENANT = "org_tenant"

HEADER = """
import pulumi
from pulumi_karmo_roles import OrganizationRole
"""


def roles_program(
    *,
    support_name: str = "Customer Support",
    support_slug: str = "org-support",
    admin_permissions: str = '["roles:write", "users:read"]',
    admin_name: str = "admin",
    admin_aliases: str = "",
) -> str:
    opts = f", opts=pulumi.ResourceOptions(aliases=[{admin_aliases}])" if admin_aliases else ""
    return (
        HEADER
        + f"""
admin = OrganizationRole({admin_name!r}, organization_id={ORG!r}, slug="org-admin",
                         name="Organization Admin", permissions={admin_permissions}{opts})
support = OrganizationRole("support", organization_id={ORG!r}, slug={support_slug!r},
                           name={support_name!r})
# The organization comes from another resource's output, unknown in a
# preview of a new stack (role_id is only known once the anchor role exists). The anchor
# never changes: a role updated in place has an unknown role_id in its preview, and
# whatever is computed from it would preview as a replace.
anchor = OrganizationRole("anchor", organization_id={ORG!r}, slug="org-anchor", name="Anchor")
tenant = OrganizationRole("tenant-viewer", organization_id=anchor.role_id.apply(
    lambda _: {TENANT!r}), slug="org-viewer", name="Viewer")
pulumi.export("roleIds", {{"admin": admin.role_id, "support": support.role_id,
                          "tenant-viewer": tenant.role_id}})
"""
    )


def api_requests(sandbox: SandboxServer) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sandbox.requests()]


def summary(run_output: str) -> str:
    """The "Resources:" block at the end of a preview or update."""
    return run_output.rsplit("Resources:", 1)[-1]


def test_new_stack_lifecycle(new_project: NewProject, sandbox: SandboxServer) -> None:
    stack = new_project(roles_program())

    # a. The preview lists every role to create and sends nothing to Karmo.
    preview = stack.preview()
    for name in ("admin", "support", "anchor", "tenant-viewer"):
        assert f"[urn=urn:pulumi:dev::karmo-cli::{ROLE_TYPE}::{name}]" in preview.stdout, preview
    assert preview.stdout.count(f"+ {ROLE_TYPE}: (create)") == 4, preview
    assert "+ 5 to create" in summary(preview.stdout)
    # d. The unknown organization previews cleanly, shown as an output to come.
    tenant = preview.stdout.split("::tenant-viewer]", 1)[1]
    assert re.match(r"\s+name\s*: \"Viewer\"\s+organization_id: \[unknown\]", tenant), preview
    assert sandbox.stats().get("requests", 0) == 0

    # b. up creates; a second up changes nothing; the outputs carry the role ids.
    stack.up()
    roles = sandbox.roles()
    assert set(roles) == {
        (ORG, "org-admin"),
        (ORG, "org-support"),
        (ORG, "org-anchor"),
        (TENANT, "org-viewer"),
    }
    assert sandbox.permissions(ORG, "org-admin") == ["roles:write", "users:read"]
    assert stack.outputs()["roleIds"] == {
        "admin": roles[(ORG, "org-admin")][0],
        "support": roles[(ORG, "org-support")][0],
        "tenant-viewer": roles[(TENANT, "org-viewer")][0],
    }
    sandbox.reset_requests()
    stack.up("--expect-no-changes")
    assert api_requests(sandbox) == []

    # h. The token is nowhere: not in the export, the state files, the stack file.
    assert TOKEN not in stack.pulumi("stack", "export").stdout
    state_files = [p for p in stack.state_directory.rglob("*") if p.is_file()]
    assert state_files
    for path in [*state_files, stack.directory / "Pulumi.dev.yaml"]:
        assert TOKEN not in path.read_text(errors="replace"), path

    # c. A new name previews as an update of `name`, old -> new, and sends one PUT.
    stack.write_program(roles_program(support_name="Support Team"))
    preview = stack.preview()
    assert re.search(r'~ name\s*: "Customer Support" => "Support Team"', preview.stdout), preview
    assert "~ 1 to update" in summary(preview.stdout)
    assert "replace" not in summary(preview.stdout)
    sandbox.reset_requests()
    stack.up()
    assert api_requests(sandbox) == [("PUT", f"/organizations/{ORG}/roles/org-support")]
    assert sandbox.roles()[(ORG, "org-support")] == (roles[(ORG, "org-support")][0], "Support Team")

    # c. A permissions change is an update; a reordering is no change.
    new_permissions = '["users:read", "roles:write", "users:write"]'
    stack.write_program(
        roles_program(support_name="Support Team", admin_permissions=new_permissions)
    )
    preview = stack.preview()
    assert "~ 1 to update" in summary(preview.stdout)
    assert "replace" not in summary(preview.stdout)
    stack.up()
    assert sandbox.permissions(ORG, "org-admin") == ["roles:write", "users:read", "users:write"]
    stack.write_program(
        roles_program(
            support_name="Support Team",
            admin_permissions='["users:write", "users:read", "roles:write"]',
        )
    )
    sandbox.reset_requests()
    stack.preview("--expect-no-changes")
    stack.up("--expect-no-changes")
    assert api_requests(sandbox) == []

    # c. A slug change is a replace: another role.
    stack.write_program(
        roles_program(
            support_name="Support Team",
            support_slug="org-helpdesk",
            admin_permissions=new_permissions,
        )
    )
    preview = stack.preview()
    assert f"+-{ROLE_TYPE}: (replace)" in preview.stdout, preview
    assert re.search(r'~ slug\s*: "org-support" => "org-helpdesk"', preview.stdout), preview
    assert "+-1 to replace" in summary(preview.stdout)
    stack.up()
    assert (ORG, "org-helpdesk") in sandbox.roles()

    # f. Karmo has no read endpoint: refresh keeps the recorded state and finds no change.
    stack.pulumi("refresh", "--yes", "--skip-preview", "--non-interactive", "--expect-no-changes")

    # e. A rename with an alias makes no Karmo call.
    stack.write_program(
        roles_program(
            support_name="Support Team",
            support_slug="org-helpdesk",
            admin_permissions=new_permissions,
            admin_name="platform-admin",
            admin_aliases='pulumi.Alias(name="admin")',
        )
    )
    sandbox.reset_requests()
    stack.up()
    assert api_requests(sandbox) == []
    assert "platform-admin" in stack.resources()
    assert "admin" not in stack.resources()


def test_invalid_slug_fails_the_preview(new_project: NewProject, sandbox: SandboxServer) -> None:
    stack = new_project(
        HEADER + 'OrganizationRole("bad", organization_id="org_1", slug="Admin", name="Admin")\n'
    )
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    # The property name and the rule, from check: no traceback.
    assert "slug" in preview.output
    assert "must start with 'org-'" in preview.output
    assert "Traceback" not in preview.output
    assert sandbox.stats().get("requests", 0) == 0


def test_rename_without_alias_and_destroy_leave_roles_and_permissions(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    """e and f: the engine creates the renamed resource, then deletes the old one; the
    delete must not undo the create. Destroy forgets the roles and says they remain."""
    program = (
        HEADER
        + """
OrganizationRole({name!r}, organization_id="org_acme", slug="org-ops", name="Operations",
                 permissions=["deploys:run", "logs:read"])
"""
    )
    stack = new_project(program.format(name="ops"))
    stack.up()
    stack.write_program(program.format(name="operations"))
    renamed = stack.up()
    assert "operations" in stack.resources()
    assert sandbox.permissions("org_acme", "org-ops") == ["deploys:run", "logs:read"], renamed

    destroyed = stack.pulumi(
        "destroy", "--yes", "--skip-preview", "--non-interactive", "--color=never"
    )
    warnings = [line for line in destroyed.output.splitlines() if "warning" in line]
    assert any("org-ops" in line and "remain" in line for line in warnings), destroyed
    assert set(sandbox.roles()) == {("org_acme", "org-ops")}
    assert sandbox.permissions("org_acme", "org-ops") == ["deploys:run", "logs:read"]
    assert stack.resources() == {}
