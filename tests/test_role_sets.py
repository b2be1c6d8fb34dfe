"""``OrganizationRoleSet`` and duplicate-role detection, in programs under
``pulumi.runtime.set_mocks``.

Every role registration passes through the real provider's ``check`` (and ``read`` for
``.get()``), as in ``test_programs_under_mocks.py``; a recording monitor also keeps what each
component registered as its outputs. Each program runs in a fresh mocked runtime, as a
``pulumi preview`` would in a fresh process.
"""

from __future__ import annotations

import asyncio
import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from pulumi_karmo_roles import OrganizationRole, OrganizationRoleSet
from pulumi_karmo_roles.catalog import Catalog
from pulumi_karmo_roles.errors import CatalogError, InputError, UsageError
from tests.support.mocks import program_test, run, runtime

ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"
SET_TYPE = "karmo:index:OrganizationRoleSet"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "multi-tenant"

CATALOG: dict[str, dict[str, Any]] = {
    "org-admin": {"name": "Admin", "permissions": ["members:*", "billing:*"]},
    "org-viewer": {"name": "Viewer"},
}


def role_set(
    organization_ids: Any, catalog: Any = None, name: str = "tenants"
) -> Callable[[], OrganizationRoleSet]:
    return lambda: OrganizationRoleSet(
        name, organization_ids=organization_ids, catalog=CATALOG if catalog is None else catalog
    )


# --- names, children, outputs -----------------------------------------------------------


def test_one_role_per_organization_and_slug_named_by_both() -> None:
    recorder = run(role_set(["org_a", "org_b"]))
    roles = recorder.roles()
    assert roles == {
        "tenants/org_a/org-admin": {
            "organization_id": "org_a",
            "slug": "org-admin",
            "name": "Admin",
            "permissions": ["members:*", "billing:*"],
        },
        "tenants/org_a/org-viewer": {
            "organization_id": "org_a",
            "slug": "org-viewer",
            "name": "Viewer",
        },
        "tenants/org_b/org-admin": {
            "organization_id": "org_b",
            "slug": "org-admin",
            "name": "Admin",
            "permissions": ["members:*", "billing:*"],
        },
        "tenants/org_b/org-viewer": {
            "organization_id": "org_b",
            "slug": "org-viewer",
            "name": "Viewer",
        },
    }
    (component,) = [r for r in recorder.registered if r.typ == SET_TYPE]
    assert component.name == "tenants"


def test_roles_are_children_of_the_set() -> None:
    def program() -> Any:
        roles = OrganizationRoleSet("tenants", organization_ids=["org_a"], catalog=CATALOG)
        return roles.roles["org_a"]["org-admin"].urn

    urns: list[str] = []
    run(lambda: program().apply(urns.append))
    assert urns == [
        "urn:pulumi:dev::p::karmo:index:OrganizationRoleSet$"
        "pulumi-python:dynamic/karmo:OrganizationRole::tenants/org_a/org-admin"
    ]


def test_reordering_either_list_changes_nothing() -> None:
    catalog = dict(CATALOG, **{"org-billing": {"name": "Billing", "permissions": ["billing:read"]}})
    reordered = dict(reversed(list(catalog.items())))
    first = run(role_set(["org_a", "org_b", "org_c"], catalog)).roles()
    second = run(role_set(["org_c", "org_a", "org_b"], reordered)).roles()
    assert len(first) == 9
    assert first == second


def test_adding_an_organization_adds_exactly_its_roles() -> None:
    before = run(role_set(["org_a", "org_b"])).roles()
    after = run(role_set(["org_a", "org_new", "org_b"])).roles()
    added = set(after) - set(before)
    assert added == {"tenants/org_new/org-admin", "tenants/org_new/org-viewer"}
    assert {name: after[name] for name in before} == before  # the others are untouched


def test_adding_a_role_adds_it_in_every_organization_only() -> None:
    bigger = dict(CATALOG, **{"org-billing": {"name": "Billing"}})
    before = run(role_set(["org_a", "org_b"])).roles()
    after = run(role_set(["org_a", "org_b"], bigger)).roles()
    assert set(after) - set(before) == {"tenants/org_a/org-billing", "tenants/org_b/org-billing"}
    assert {name: after[name] for name in before} == before


def test_role_ids_are_an_output_map_registered_on_the_set() -> None:
    seen: list[Any] = []

    def program() -> Any:
        roles = OrganizationRoleSet("tenants", organization_ids=["org_a", "org_b"], catalog=CATALOG)
        return pulumi.Output.all(roles.urn, roles.role_ids).apply(seen.extend)

    recorder = run(program)
    expected = {
        "org_a": {"org-admin": "role_org_a_org-admin", "org-viewer": "role_org_a_org-viewer"},
        "org_b": {"org-admin": "role_org_b_org-admin", "org-viewer": "role_org_b_org-viewer"},
    }
    urn, role_ids = seen
    assert role_ids == expected
    assert recorder.outputs[urn] == {"role_ids": expected}


def test_keyed_organizations_may_be_outputs() -> None:
    def program() -> Any:
        acme = pulumi.Output.from_input("org_01HACME").apply(lambda v: v)
        roles = OrganizationRoleSet(
            "tenants", organization_ids={"acme": acme, "globex": "org_01HGLOBEX"}, catalog=CATALOG
        )
        return roles.role_ids

    roles = run(program).roles()
    assert set(roles) == {
        "tenants/acme/org-admin",
        "tenants/acme/org-viewer",
        "tenants/globex/org-admin",
        "tenants/globex/org-viewer",
    }
    assert roles["tenants/acme/org-admin"]["organization_id"] == "org_01HACME"
    assert roles["tenants/globex/org-viewer"]["organization_id"] == "org_01HGLOBEX"


def test_an_output_in_the_list_names_its_roles_once_it_resolves() -> None:
    seen: list[Any] = []

    def program() -> Any:
        later = pulumi.Output.from_input("org_b").apply(lambda v: v)
        listed: list[Any] = ["org_a", later]
        roles = OrganizationRoleSet("tenants", organization_ids=listed, catalog=CATALOG)
        # Once the ids resolved, the set holds the later roles too, as its children.
        child: pulumi.Output[str] = roles.role_ids.apply(
            lambda _: roles.roles["org_b"]["org-admin"].urn
        )
        return pulumi.Output.all(roles.urn, roles.role_ids, child).apply(seen.extend)

    recorder = run(program)
    # Named by its value, as a plain id is: the same names whatever the list's order.
    assert recorder.roles() == run(role_set(["org_b", "org_a"])).roles()
    urn, role_ids, child = seen
    expected = {
        "org_a": {"org-admin": "role_org_a_org-admin", "org-viewer": "role_org_a_org-viewer"},
        "org_b": {"org-admin": "role_org_b_org-admin", "org-viewer": "role_org_b_org-viewer"},
    }
    assert role_ids == expected
    assert list(role_ids) == ["org_a", "org_b"]
    assert recorder.outputs[urn] == {"role_ids": expected}
    assert child == (
        "urn:pulumi:dev::p::karmo:index:OrganizationRoleSet$"
        "pulumi-python:dynamic/karmo:OrganizationRole::tenants/org_b/org-admin"
    )


def test_an_output_in_the_list_unknown_in_a_preview_declares_its_roles_later() -> None:
    # What a preview can show: the plain ids' roles. The others follow at `pulumi up`.
    def program() -> None:
        role_set(["org_a", _unknown()])()

    assert set(run(program, preview=True).roles()) == {
        "tenants/org_a/org-admin",
        "tenants/org_a/org-viewer",
    }


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ("org_a", "lists 'org_a' twice"),
        ("org/b", r"organization_ids\[1\]: organization_id must not contain '/'"),
        ("org:b", r"organization_ids\[1\]: .*cannot name resources"),
    ],
)
def test_an_output_in_the_list_is_checked_when_it_resolves(listed: str, message: str) -> None:
    def program() -> None:
        role_set(["org_a", pulumi.Output.from_input(listed).apply(lambda v: v)])()

    # The InputError surfaces from the set's outputs, wrapped in the SDK's ValueError.
    with pytest.raises(ValueError, match=message):
        run(program)


def test_a_secret_in_the_list_is_refused_unseen() -> None:
    def program() -> None:
        role_set(["org_a", pulumi.Output.secret("org_hidden_42")])()

    with pytest.raises(ValueError, match=r"organization_ids\[1\] is a secret") as caught:
        run(program)
    assert "org_hidden_42" not in str(caught.value)


def test_organization_ids_that_are_an_output_are_refused() -> None:
    def program() -> None:
        role_set(pulumi.Output.from_input(["org_a"]))()

    with pytest.raises(UsageError, match="must be a list of organization ids or a dict") as caught:
        run(program)
    assert isinstance(caught.value, TypeError)  # as Python raises for such a call


@pytest.mark.parametrize(
    ("organization_ids", "message"),
    [
        (["org_a", "org/b"], r"organization_ids\[1\]: organization_id must not contain '/'"),
        (["org_a", "org_a"], "lists 'org_a' twice"),
        (["org_a", "org:b"], r"organization_ids\[1\]: .*cannot name resources"),
        ({"acme corp": "org_a"}, "organization key 'acme corp' must be 1 to 100 letters"),
    ],
)
def test_organizations_that_cannot_name_roles_are_refused(
    organization_ids: Any, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        run(role_set(organization_ids))


def test_a_bad_catalog_in_code_names_the_set_and_the_path() -> None:
    catalog = {
        "org-admin": {"name": " "},
        "org-viewer": {"name": "Viewer", "permissions": ["ok", "Not OK"]},
    }
    with pytest.raises(CatalogError) as caught:
        run(role_set(["org_a"], catalog))
    text = str(caught.value)
    assert "OrganizationRoleSet 'tenants' is not a valid role catalog (2 problems)" in text
    assert "roles.org-admin.name: name must not be blank" in text
    assert "roles.org-viewer.permissions[1]: 'Not OK' may contain only lowercase letters" in text


LONG_NAME = "Viewer of everything in every organization, always"  # 51 characters
WORKOS_ONLY: dict[str, dict[str, Any]] = {
    "org-admin-": {"name": "Admin"},
    "org-viewer": {"name": LONG_NAME},
}


def test_the_access_providers_limits_fail_the_set_by_default() -> None:
    with pytest.raises(CatalogError) as caught:
        run(role_set(["org_a"], WORKOS_ONLY))
    text = str(caught.value)
    assert "OrganizationRoleSet 'tenants' is not a valid role catalog (2 problems)" in text
    assert "roles.org-admin-: slug must have no leading, trailing or consecutive" in text
    assert "roles.org-viewer.name: name must be at most 48 characters (WorkOS's limit" in text
    assert "set `karmo:accessProvider generic`" in text


def test_a_generic_stack_declares_what_only_workos_refuses(tmp_path: Path) -> None:
    config = {"karmo:accessProvider": "generic"}
    roles = run(role_set(["org_a"], WORKOS_ONLY), config=config).roles()
    assert roles["tenants/org_a/org-viewer"]["name"] == LONG_NAME
    assert set(roles) == {"tenants/org_a/org-admin-", "tenants/org_a/org-viewer"}
    path = tmp_path / "roles.json"
    path.write_text(json.dumps({"roles": WORKOS_ONLY}))
    roles = run(
        lambda: OrganizationRoleSet.from_file(path, "files", organization_ids=["org_a"]),
        config=config,
    ).roles()
    assert set(roles) == {"files/org_a/org-admin-", "files/org_a/org-viewer"}


def test_a_catalog_object_is_checked_again_for_the_stacks_access_provider() -> None:
    catalog = Catalog.from_mapping({"roles": WORKOS_ONLY}, source="c", access_provider="generic")
    with pytest.raises(CatalogError, match=r"^OrganizationRoleSet 'tenants' .*\(2 problems\)"):
        run(role_set(["org_a"], catalog))
    config = {"karmo:accessProvider": "generic"}
    assert len(run(role_set(["org_a"], catalog), config=config).roles()) == 2


def test_a_single_role_over_workos_limits_fails_check_in_the_program() -> None:
    def program() -> None:
        OrganizationRole("admin", organization_id="org_a", slug="org-admin-", name="Admin")

    with pytest.raises(Exception, match="slug: slug must have no leading, trailing"):
        run(program)
    assert set(run(program, config={"karmo:accessProvider": "generic"}).roles()) == {"admin"}


# --- catalog files --------------------------------------------------------------------------

GOOD_YAML = """\
roles:
  org-viewer:
    name: Viewer
  org-admin:
    name: Organization Admin
    permissions: ["members:*", "billing:read"]
"""

GOOD_JSON = json.dumps(
    {
        "roles": {
            "org-viewer": {"name": "Viewer"},
            "org-admin": {
                "name": "Organization Admin",
                "permissions": ["members:*", "billing:read"],
            },
        }
    }
)


@pytest.mark.parametrize(
    ("file_name", "text"), [("roles.yaml", GOOD_YAML), ("roles.json", GOOD_JSON)]
)
def test_from_file_declares_the_catalog(tmp_path: Path, file_name: str, text: str) -> None:
    path = tmp_path / file_name
    path.write_text(text)
    roles = run(
        lambda: OrganizationRoleSet.from_file(
            path, "customers", organization_ids=["org_a", "org_b"]
        )
    ).roles()
    assert set(roles) == {
        "customers/org_a/org-admin",
        "customers/org_a/org-viewer",
        "customers/org_b/org-admin",
        "customers/org_b/org-viewer",
    }
    assert roles["customers/org_b/org-admin"] == {
        "organization_id": "org_b",
        "slug": "org-admin",
        "name": "Organization Admin",
        "permissions": ["members:*", "billing:read"],
    }
    assert "permissions" not in roles["customers/org_a/org-viewer"]


# --- duplicate roles ------------------------------------------------------------------------


def test_two_roles_for_one_organization_and_slug_fail_naming_both() -> None:
    def program() -> None:
        OrganizationRole("admin", organization_id="org_a", slug="org-admin", name="Admin")
        OrganizationRole("admin-again", organization_id="org_a", slug="org-admin", name="Admin 2")

    with pytest.raises(ValueError, match="declared by two resources") as caught:
        run(program, preview=True)
    text = str(caught.value)
    assert (
        "Karmo role 'org-admin' in organization 'org_a' is declared by two resources: "
        "OrganizationRole 'admin' (urn:pulumi:dev::p::pulumi-python:dynamic/karmo:"
        "OrganizationRole::admin) and OrganizationRole 'admin-again' (urn:pulumi:dev::p::"
        "pulumi-python:dynamic/karmo:OrganizationRole::admin-again)"
    ) in text
    assert "OrganizationRole.get(<name>, 'org_a/org-admin')" in text


def test_the_second_declaration_never_registers() -> None:

    def program() -> None:
        OrganizationRole("admin", organization_id="org_a", slug="org-admin", name="Admin")
        OrganizationRole("admin-again", organization_id="org_a", slug="org-admin", name="Admin")

    with runtime() as recorder, pytest.raises(ValueError, match="declared by two resources"):
        program_test(program)()
    assert "admin-again" not in {r.name for r in recorder.registered}


def test_same_slug_in_other_organizations_is_no_conflict() -> None:
    def program() -> None:
        OrganizationRole("a", organization_id="org_a", slug="org-admin", name="Admin")
        OrganizationRole("b", organization_id="org_b", slug="org-admin", name="Admin")
        OrganizationRole("c", organization_id="org_a", slug="org-viewer", name="Viewer")

    assert set(run(program).roles()) == {"a", "b", "c"}


def test_two_sets_over_one_organization_fail_naming_both() -> None:
    def program() -> None:
        OrganizationRoleSet("customers", organization_ids=["org_a", "org_b"], catalog=CATALOG)
        OrganizationRoleSet(
            "partners", organization_ids=["org_c", "org_b"], catalog={"org-viewer": {"name": "V"}}
        )

    with pytest.raises(ValueError, match="declared by two resources") as caught:
        run(program, preview=True)
    text = str(caught.value)
    assert "Karmo role 'org-viewer' in organization 'org_b'" in text
    assert (
        "OrganizationRole 'customers/org_b/org-viewer' in OrganizationRoleSet 'customers'" in text
    )
    assert "OrganizationRole 'partners/org_b/org-viewer' in OrganizationRoleSet 'partners'" in text
    # (The mock monitor gives the stack's children a "pulumi:pulumi:Stack$" type prefix
    # that the engine does not; what follows it is the role's URN under its set.)
    assert (
        "karmo:index:OrganizationRoleSet$pulumi-python:dynamic/karmo:"
        "OrganizationRole::partners/org_b/org-viewer)"
    ) in text


def test_a_set_and_a_role_over_one_role_fail_naming_both() -> None:
    def program() -> None:
        OrganizationRole("acme-admin", organization_id="org_acme", slug="org-admin", name="Admin")
        OrganizationRoleSet("customers", organization_ids=["org_acme"], catalog=CATALOG)

    with pytest.raises(ValueError, match="declared by two resources") as caught:
        run(program, preview=True)
    text = str(caught.value)
    assert (
        "OrganizationRole 'acme-admin' (urn:pulumi:dev::p::pulumi-python:dynamic/karmo:"
        "OrganizationRole::acme-admin) and OrganizationRole 'customers/org_acme/org-admin' "
        "in OrganizationRoleSet 'customers'"
    ) in text


def test_output_ids_conflict_once_they_resolve() -> None:
    def program() -> None:
        later = pulumi.Output.from_input("org_a").apply(lambda v: v)
        OrganizationRole("plain", organization_id="org_a", slug="org-admin", name="Admin")
        OrganizationRole("from-output", organization_id=later, slug="org-admin", name="Admin")

    with pytest.raises(ValueError, match="declared by two resources") as caught:
        run(program, preview=True)
    assert "OrganizationRole 'plain'" in str(caught.value)
    assert "OrganizationRole 'from-output'" in str(caught.value)


def test_keyed_output_ids_of_a_set_conflict_with_a_role_once_resolved() -> None:
    def program() -> None:
        acme = pulumi.Output.from_input("org_acme").apply(lambda v: v)
        slug = pulumi.Output.from_input("org-viewer")
        OrganizationRoleSet("customers", organization_ids={"acme": acme}, catalog=CATALOG)
        OrganizationRole("viewer", organization_id="org_acme", slug=slug, name="Viewer")

    with pytest.raises(ValueError, match="declared by two resources") as caught:
        run(program)
    text = str(caught.value)
    assert "OrganizationRole 'customers/acme/org-viewer' in OrganizationRoleSet 'customers'" in text
    assert "OrganizationRole 'viewer'" in text


def test_two_keys_of_one_set_resolving_to_one_organization_conflict() -> None:
    def program() -> None:
        again = pulumi.Output.from_input("org_acme").apply(lambda v: v)
        OrganizationRoleSet(
            "customers",
            organization_ids={"acme": "org_acme", "acme-again": again},
            catalog={"org-viewer": {"name": "Viewer"}},
        )

    with pytest.raises(ValueError, match="declared by two resources") as caught:
        run(program, preview=True)
    text = str(caught.value)
    assert "OrganizationRole 'customers/acme/org-viewer' in OrganizationRoleSet" in text
    assert "OrganizationRole 'customers/acme-again/org-viewer' in OrganizationRoleSet" in text


def test_a_conflict_over_a_secret_id_does_not_reveal_it() -> None:
    def program() -> None:
        hidden = pulumi.Output.secret("org_hidden_42")
        OrganizationRole("plain", organization_id="org_hidden_42", slug="org-admin", name="A")
        OrganizationRole("secret", organization_id=hidden, slug="org-admin", name="A")

    with pytest.raises(ValueError, match="declared by two resources") as caught:
        run(program, preview=True)
    text = str(caught.value)
    assert "org_hidden_42" not in text
    assert "A Karmo role whose organization id or slug is secret" in text
    assert "OrganizationRole 'plain'" in text
    assert "OrganizationRole 'secret'" in text


def test_a_secret_id_stays_secret_when_it_is_claimed() -> None:
    def program() -> None:
        OrganizationRole("r", organization_id=pulumi.Output.secret("org_1"), slug="org-r", name="R")

    (registered,) = run(program).registered
    assert is_rpc_secret(registered.inputs["organization_id"])
    assert unwrap_rpc_secret(registered.inputs["organization_id"]) == "org_1"


def test_output_ids_that_resolve_apart_are_no_conflict() -> None:
    def program() -> None:
        OrganizationRole(
            "a", organization_id=pulumi.Output.from_input("org_a"), slug="org-admin", name="A"
        )
        OrganizationRole(
            "b", organization_id=pulumi.Output.from_input("org_b"), slug="org-admin", name="B"
        )

    assert set(run(program).roles()) == {"a", "b"}


def test_an_invalid_role_is_reported_by_check_not_as_a_duplicate() -> None:
    def program() -> None:
        OrganizationRole("a", organization_id="org_a", slug="Admin", name="A")
        OrganizationRole("b", organization_id="org_a", slug="Admin", name="B")

    with pytest.raises(ValueError, match="slug must start with 'org-'") as caught:
        run(program, preview=True)
    assert "declared by two resources" not in str(caught.value)


def _unknown() -> pulumi.Output[str]:
    """An Output whose value a preview does not know (as another new resource's id)."""
    loop = asyncio.get_event_loop()
    value: asyncio.Future[str | None] = loop.create_future()
    value.set_result(None)
    known: asyncio.Future[bool] = loop.create_future()
    known.set_result(False)
    return pulumi.Output(set(), value, known)  # type: ignore[arg-type]


def test_unknown_ids_in_a_preview_are_no_conflict() -> None:
    # Two organizations not known yet may turn out different: the preview must not fail.
    def program() -> None:
        OrganizationRole("a", organization_id=_unknown(), slug="org-admin", name="A")
        OrganizationRole("b", organization_id=_unknown(), slug="org-admin", name="B")

    assert set(run(program, preview=True).roles()) == {"a", "b"}


def test_a_lookup_with_get_is_not_a_conflict() -> None:
    def program() -> Any:
        OrganizationRole("admin", organization_id="org_a", slug="org-admin", name="Admin")
        found = OrganizationRole.get("admin-lookup", "org_a/org-admin", name="Admin")
        return found.id

    recorder = run(program, preview=True)
    assert set(recorder.roles()) == {"admin", "admin-lookup"}
    assert [r.resource_id for r in recorder.registered if r.name == "admin-lookup"] == [
        "org_a/org-admin"
    ]


def test_every_program_starts_with_no_claims() -> None:
    # The same program twice, as two previews would run it: the second is not a conflict
    # with the first (claims are kept per deployment, not per process).
    def program() -> None:
        OrganizationRole("admin", organization_id="org_a", slug="org-admin", name="Admin")

    assert set(run(program).roles()) == {"admin"}
    assert set(run(program).roles()) == {"admin"}


# --- the example ----------------------------------------------------------------------------


def test_multi_tenant_example() -> None:
    customers = {"acme": "org_01HACME", "globex": "org_01HGLOBEX", "initech": "org_01HINITECH"}
    recorder = run(
        lambda: runpy.run_path(str(EXAMPLE / "__main__.py")) and None,
        config={"customers": customers},
        project="karmo-roles-multi-tenant",
    )
    roles = recorder.roles()
    catalog = json.loads(json.dumps(_yaml(EXAMPLE / "roles.yaml")))["roles"]
    set_roles = {name for name in roles if name.startswith("customer-roles/")}
    assert set_roles == {f"customer-roles/{key}/{slug}" for key in customers for slug in catalog}
    for key, organization_id in customers.items():
        for slug, spec in catalog.items():
            role = roles[f"customer-roles/{key}/{slug}"]
            assert role["organization_id"] == organization_id
            assert role["name"] == spec["name"]
            assert role.get("permissions") == spec.get("permissions")
    # The example's own role, outside the set, in one customer organization.
    extra = set(roles) - set_roles
    assert len(extra) == 1


def _yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())
