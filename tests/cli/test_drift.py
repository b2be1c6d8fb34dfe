"""Drift through the real Pulumi CLI: with ``karmo:workosApiKey`` a change made in the
WorkOS dashboard shows in ``preview --refresh`` and ``up --refresh`` undoes it; a role
deleted there leaves the state on ``refresh`` and ``up`` creates it again. Without a key
a refresh changes nothing and says so once. WorkOS's limits fail a preview by default.
Discovery round trips: what ``karmo-roles discover`` writes is declared, applied, and a
refreshing preview then changes nothing, also for names that hold ZWNJ, ZWJ, soft hyphens
or private-use characters.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import NewProject, Project
from tests.support.dashboard import Dashboard
from tests.support.secrets import WORKOS_KEY

pytestmark = pytest.mark.cli

PROGRAM = """
from pulumi_karmo_roles import OrganizationRole
OrganizationRole("admin", organization_id="org_acme", slug="org-admin",
                 name="Organization Admin", permissions=["members:read", "members:write"])
OrganizationRole("support", organization_id="org_acme", slug="org-support", name="Support")
"""


def with_read_back(stack: Project, sandbox: SandboxServer) -> Project:
    stack.pulumi("config", "set", "--secret", "karmo:workosApiKey", WORKOS_KEY)
    stack.pulumi("config", "set", "karmo:workosApiUrl", sandbox.workos_url)
    return stack


def karmo_writes(sandbox: SandboxServer) -> list[tuple[str, str, str]]:
    return [
        (r["method"], r["path"], r["body"])
        for r in sandbox.requests()
        if r["face"] == "karmo" and r["method"] == "PUT"
    ]


def test_dashboard_changes_show_in_a_refreshing_preview_and_up_undoes_them(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = with_read_back(new_project(PROGRAM), sandbox)
    stack.up()
    dashboard = Dashboard(sandbox)
    dashboard.rename("org_acme", "org-admin", "Renamed in the dashboard")
    dashboard.set_permissions("org_acme", "org-admin", ["members:read", "billing:write"])
    sandbox.reset_requests()

    preview = stack.preview("--refresh")
    output = preview.output
    assert '~ name           : "Renamed in the dashboard" => "Organization Admin"' in output
    assert '~ [0]: "billing:write" => "members:read"' in output
    assert "~ 1 to update" in output
    assert karmo_writes(sandbox) == []  # a preview writes nothing

    up = stack.up("--refresh")
    assert "[diff: ~name,permissions]" in up.output
    assert "~ 1 updated" in up.output
    assert workos_role(sandbox, "org-admin") == (
        "Organization Admin",
        ["members:read", "members:write"],
    )
    # Only the drifted role was written, and only what drifted; support was untouched.
    writes = [(method, path) for method, path, _ in karmo_writes(sandbox)]
    assert writes == [
        ("PUT", "/organizations/org_acme/roles/org-admin"),
        ("PUT", "/organizations/org_acme/roles/org-admin/permissions"),
    ]
    stack.preview("--refresh", "--expect-no-changes")
    # Two refreshes (preview, up) and a third preview: one list request each.
    lists = [r for r in sandbox.requests() if r["face"] == "workos"]
    assert len(lists) == 3
    assert WORKOS_KEY not in json.dumps(stack.export())
    assert WORKOS_KEY not in (stack.directory / "Pulumi.dev.yaml").read_text()


def test_a_role_deleted_in_the_dashboard_leaves_on_refresh_and_comes_back_on_up(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = with_read_back(new_project(PROGRAM), sandbox)
    stack.up()
    Dashboard(sandbox).delete("org_acme", "org-support")
    refresh = stack.pulumi("refresh", "--yes", "--non-interactive", "--color=never")
    assert "- 1 deleted" in refresh.output, refresh
    assert set(stack.resources()) == {"admin"}
    up = stack.up()
    assert "+ 1 created" in up.output, up
    assert set(stack.resources()) == {"admin", "support"}
    assert workos_role(sandbox, "org-support") == ("Support", [])


def test_without_a_key_a_refresh_changes_nothing_and_says_so_once(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(PROGRAM)
    stack.up()
    Dashboard(sandbox).rename("org_acme", "org-admin", "Renamed in the dashboard")
    refresh = stack.pulumi(
        "refresh",
        *("--yes", "--skip-preview", "--non-interactive", "--color=never", "--expect-no-changes"),
    )
    notice = (
        "Karmo has no read endpoint: refresh keeps what the state recorded, so a role "
        "renamed, changed or deleted in WorkOS is not visible; set `karmo:workosApiKey` (as "
        "a secret) to read roles back from WorkOS."
    )
    assert notice in refresh.output, refresh
    # Shown live, and once more under Diagnostics: the provider said it once.
    assert refresh.output.count(notice) == 2, refresh
    assert "1 message" in refresh.output
    assert not [r for r in sandbox.requests() if r["face"] == "workos" and r["method"] == "GET"]


@pytest.mark.parametrize(
    ("slug", "name", "words"),
    [
        ("org-admin", "N" * 49, "name must be at most 48 characters (WorkOS's limit"),
        ("org-admin-", "Admin", "slug must have no leading, trailing or consecutive separators"),
    ],
)
def test_workos_limits_fail_the_preview_by_default_and_not_under_generic(
    new_project: NewProject, sandbox: SandboxServer, slug: str, name: str, words: str
) -> None:
    program = (
        "from pulumi_karmo_roles import OrganizationRole\n"
        f'OrganizationRole("r", organization_id="org_acme", slug={slug!r}, name={name!r})\n'
    )
    stack = new_project(program)
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    assert words in preview.output, preview
    assert "karmo:accessProvider generic" in preview.output
    stack.pulumi("config", "set", "karmo:accessProvider", "generic")
    stack.preview()


def test_discovery_round_trip(new_project: NewProject, sandbox: SandboxServer) -> None:
    # Roles made by hand before Pulumi: two organizations alike, one different.
    dashboard = Dashboard(sandbox)
    for organization_id in ("org_acme", "org_globex"):
        dashboard.create(organization_id, "org-admin", "Admin", ["members:*"])
        dashboard.create(organization_id, "org-viewer", "Viewer")
    dashboard.create("org_initech", "org-ops", "Operations", ["deploy:*", "logs:read"])
    sandbox.add_environment_role("org-member", "Member")
    stack = new_project("")
    organizations = ["org_acme", "org_globex", "org_initech"]
    discovered = subprocess.run(
        [sys.executable, "-m", "pulumi_karmo_roles._discover", "discover", "--program"]
        + [arg for o in organizations for arg in ("--organization", o)],
        capture_output=True,
        text=True,
        env={**stack.env, "WORKOS_API_KEY": WORKOS_KEY, "WORKOS_API_URL": sandbox.workos_url},
        timeout=120,
        check=True,
    )
    assert WORKOS_KEY not in discovered.stdout + discovered.stderr
    stack.write_program(discovered.stdout)
    with_read_back(stack, sandbox)
    sandbox.reset_requests()
    stack.up()
    # Karmo received only upserts that repeat what exists: a name and a permission set
    # for each of the 5 roles (the discovered program owns every role's permissions).
    writes = karmo_writes(sandbox)
    assert len(writes) == 10
    for _, path, body in writes:
        organization_id, slug = path.split("/")[2], path.split("/")[4]
        name, permissions = workos_role(sandbox, slug, organization_id)
        sent = json.loads(body)
        assert sent == (
            {"permissions": permissions} if path.endswith("/permissions") else {"name": name}
        )
    assert len(stack.resources()) == 5
    stack.preview("--refresh", "--expect-no-changes")


# Valid names Python's str.isprintable() refuses: Persian with ZWNJ, an emoji joined with
# ZWJ, soft hyphens, private-use characters, an emoji newer than some Pythons' tables.
EXACT_NAMES = {
    "org-persian": "\u0645\u062f\u06cc\u0631\u0627\u0646\u200c\u0645\u0627\u0644\u06cc",
    "org-devs": "\U0001f469\u200d\U0001f4bb Devs",
    "org-hyphen": "Ad\u00admin\u00adis\u00adtra\u00adtors",
    "org-private": "Team \ue000\U000f0001",
    "org-pink": "Pink \U0001fa77 heart",
}


def test_discovery_round_trip_keeps_every_valid_name_exactly(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    dashboard = Dashboard(sandbox)
    for slug, name in EXACT_NAMES.items():
        dashboard.create("org_acme", slug, name, ["members:read"])
    stack = new_project(
        "from pulumi_karmo_roles import OrganizationRoleSet\n"
        'OrganizationRoleSet.from_file("roles.yaml", "discovered", organization_ids=["org_acme"])\n'
    )
    discovered = subprocess.run(
        [
            sys.executable,
            "-m",
            "pulumi_karmo_roles._discover",
            "discover",
            "--organization",
            "org_acme",
        ],
        capture_output=True,
        env={**stack.env, "WORKOS_API_KEY": WORKOS_KEY, "WORKOS_API_URL": sandbox.workos_url},
        timeout=120,
        check=True,
    )
    assert discovered.stderr == b""
    for name in EXACT_NAMES.values():
        assert json.dumps(name, ensure_ascii=False).encode() in discovered.stdout  # as it is
    (stack.directory / "roles.yaml").write_bytes(discovered.stdout)
    with_read_back(stack, sandbox)
    stack.up()
    assert {r["outputs"]["slug"]: r["outputs"]["name"] for r in stack.resources().values()} == (
        EXACT_NAMES
    )
    stack.preview("--refresh", "--expect-no-changes")
    stack.pulumi("refresh", "--yes", "--non-interactive", "--expect-no-changes")
    assert {slug: workos_role(sandbox, slug)[0] for slug in EXACT_NAMES} == EXACT_NAMES


def workos_role(
    sandbox: SandboxServer, slug: str, organization_id: str = "org_acme"
) -> tuple[str, list[str]]:
    _, name = sandbox.roles()[(organization_id, slug)]
    permissions = sandbox.permissions(organization_id, slug)
    assert permissions is not None
    return name, permissions
