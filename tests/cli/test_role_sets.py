"""Role sets through the real Pulumi CLI, against the sandbox: the
multi-tenant example's stack grows by one organization, has its catalog and organizations
reordered, and its set renamed with an alias; a role declared twice fails the preview.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from unittest.mock import ANY

import pytest

from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.cli import ROLE_TYPE, ROOT, NewProject, Project, Run

pytestmark = pytest.mark.cli

EXAMPLE = ROOT / "examples" / "multi-tenant"
SET_TYPE = "karmo:index:OrganizationRoleSet"
CATALOG_SLUGS = ("org-admin", "org-billing", "org-member", "org-support")


def summary(output: str) -> str:
    """The "Resources:" block at the end of a preview or update."""
    return output.rsplit("Resources:", 1)[-1]


def set_customers(stack: Project, customers: dict[str, str]) -> None:
    stack.pulumi("config", "rm", "customers")
    for key, organization_id in customers.items():
        stack.pulumi("config", "set", "--path", f"customers.{key}", organization_id)


def example_stack(new_project: NewProject, customers: dict[str, str]) -> Project:
    stack = new_project((EXAMPLE / "__main__.py").read_text())
    shutil.copy(EXAMPLE / "roles.yaml", stack.directory / "roles.yaml")
    for key, organization_id in customers.items():
        stack.pulumi("config", "set", "--path", f"customers.{key}", organization_id)
    return stack


def test_adding_reordering_and_renaming(new_project: NewProject, sandbox: SandboxServer) -> None:
    stack = example_stack(new_project, {"acme": "org_acme", "globex": "org_globex"})
    first = stack.preview()
    # 2 organizations x 4 catalog roles, acme's own auditor, the set, the stack.
    assert "+ 11 to create" in summary(first.stdout), first
    stack.up()
    assert len(sandbox.roles()) == 9

    # Adding an organization previews as creates of its roles, and nothing else.
    set_customers(stack, {"acme": "org_acme", "globex": "org_globex", "initech": "org_initech"})
    grown = stack.preview()
    created = re.findall(
        rf"\+ {re.escape(ROLE_TYPE)}: \(create\)\s+\[urn=[^\]]*::([^:\]]+)\]", grown.stdout
    )
    assert sorted(created) == [f"customer-roles/initech/{slug}" for slug in CATALOG_SLUGS], grown
    totals = summary(grown.stdout)
    assert "+ 4 to create" in totals, grown
    assert not re.search(r"to (update|replace|delete)", totals), grown
    stack.up()
    assert ("org_initech", "org-support") in sandbox.roles()

    # Reordering the organizations and the catalog previews as no change.
    set_customers(stack, {"initech": "org_initech", "globex": "org_globex", "acme": "org_acme"})
    catalog = stack.directory / "roles.yaml"
    lines = catalog.read_text().split("\n  org-")
    catalog.write_text("\n  org-".join([lines[0], *reversed(lines[1:])]) + "\n")
    assert catalog.read_text().index("org-support") < catalog.read_text().index("org-admin")
    stack.preview("--expect-no-changes")

    # Renaming the set with an alias: its roles follow (their names start with the set's).
    program = (stack.directory / "__main__.py").read_text()
    renamed = program.replace(
        '"customer-roles", organization_ids=customers',
        '"tenant-roles",\n'
        '    pulumi.ResourceOptions(aliases=[pulumi.Alias(name="customer-roles")]),\n'
        "    organization_ids=customers,",
    )
    assert renamed != program
    stack.write_program(renamed)
    moved = stack.preview()
    assert not re.search(r"to (create|update|replace|delete)", summary(moved.stdout)), moved
    stack.up()
    names = set(stack.resources())
    assert {f"tenant-roles/initech/{slug}" for slug in CATALOG_SLUGS} <= names
    assert not any(name.startswith("customer-roles/") for name in names)
    assert "tenant-roles" in stack.resources(SET_TYPE)


def test_a_role_declared_twice_fails_the_preview(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(
        """
        from pulumi_karmo_roles import OrganizationRole, OrganizationRoleSet

        OrganizationRoleSet("customers", organization_ids=["org_acme"],
                            catalog={"org-admin": {"name": "Admin"}})
        OrganizationRole("acme-admin", organization_id="org_acme", slug="org-admin",
                         name="Admin")
        """
    )
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    output = preview.output
    assert "Karmo role 'org-admin' in organization 'org_acme' is declared by two resources" in (
        output
    ), preview
    assert (
        "OrganizationRole 'customers/org_acme/org-admin' in OrganizationRoleSet 'customers' "
        f"(urn:pulumi:dev::karmo-cli::{SET_TYPE}${ROLE_TYPE}::customers/org_acme/org-admin)"
    ) in output, preview
    assert (
        f"OrganizationRole 'acme-admin' (urn:pulumi:dev::karmo-cli::{ROLE_TYPE}::acme-admin)"
        in (output)
    ), preview
    assert sandbox.stats().get("requests", 0) == 0


def test_a_bad_catalog_file_fails_the_preview(
    new_project: NewProject, sandbox: SandboxServer
) -> None:
    stack = new_project(
        """
        from pulumi_karmo_roles import OrganizationRoleSet

        OrganizationRoleSet.from_file("roles.yaml", "customers", organization_ids=["org_acme"])
        """
    )
    (stack.directory / "roles.yaml").write_text(
        "roles:\n"
        "  org-admin:\n"
        "    name: Organization Admin\n"
        '    permissions: ["members:*", "Reports:Export"]\n'
        "  org-viewer:\n"
        "    name: yes\n"
    )
    preview = stack.preview(ok=False)
    assert preview.returncode != 0
    assert "roles.yaml is not a valid role catalog (2 problems):" in preview.output, preview
    assert "roles.org-admin.permissions[1]: 'Reports:Export' may contain only" in preview.output
    assert "roles.org-viewer.name: Input should be a valid string, got bool True" in preview.output
    assert sandbox.stats().get("requests", 0) == 0


def test_a_catalog_path_is_the_projects_wherever_the_command_runs(
    new_project: NewProject, sandbox: SandboxServer, tmp_path: Path
) -> None:
    # As docs/role-sets.md writes it: a path relative to the project, as `pulumi` runs a
    # program with the project directory as its working directory.
    stack = new_project(
        """
        from pulumi_karmo_roles import OrganizationRoleSet

        OrganizationRoleSet.from_file("roles.yaml", "customers", organization_ids=["org_acme"])
        """
    )
    (stack.directory / "roles.yaml").write_text("roles:\n  org-admin:\n    name: Admin\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ("up", "--yes", "--skip-preview", "--non-interactive", "--color=never")
    done = subprocess.run(
        stack.command(*args),
        cwd=elsewhere,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    run = stack.check_output(Run(args, done.returncode, done.stdout, done.stderr), ok=True)
    assert "No such file or directory" not in run.output, run
    assert sandbox.roles() == {("org_acme", "org-admin"): (ANY, "Admin")}
