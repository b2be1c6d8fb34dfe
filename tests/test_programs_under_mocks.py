"""Programs under ``pulumi.runtime.set_mocks``: the example and the resource's Python API.

The mocks stand in for the engine and route each registration through the real
provider's ``check`` (and ``read`` for ``.get()``), so a program that would fail its
preview fails here too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import get_root_resource
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret
from pulumi.runtime.settings import reset_options

from pulumi_karmo_roles import OrganizationRole, OrganizationRoleArgs
from pulumi_karmo_roles._stack import PlainTextCredentialError
from pulumi_karmo_roles.errors import KarmoError, UsageError
from tests.support.mocks import CheckingMocks, program_test, runtime
from tests.support.secrets import TOKEN
from tests.support.secrets import WORKOS_KEY as KEY

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE = EXAMPLES / "basic" / "__main__.py"
ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"


class ProviderMocks(CheckingMocks):
    """Every registration is a role: a role id names only its slug."""

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        assert args.typ == ROLE_TYPE
        return super().new_resource(args)

    def role_id(self, outputs: dict[str, Any]) -> str:
        return f"role_mock_{outputs['slug']}"


@contextlib.contextmanager
def mocked_runtime(project: str, config: dict[str, str]) -> Iterator[ProviderMocks]:
    """A fresh mocked runtime (its own event loop and root stack)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = ProviderMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack="dev", preview=False)
    pulumi.runtime.set_all_config({f"{project}:{k}": v for k, v in config.items()})
    yield mocks
    pulumi.runtime.set_all_config({})
    reset_options()  # no engine, no root stack: later tests see a plain process again
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def mocks() -> Iterator[ProviderMocks]:
    """The runtime of examples/basic, for each test."""
    with mocked_runtime("karmo-roles-basic", {"customerOrganizationId": "org_customer_42"}) as m:
        yield m


@pytest.fixture
def production_mocks() -> Iterator[ProviderMocks]:
    """The runtime of examples/production."""
    with mocked_runtime("karmo-roles-production", {"organizationId": "org_prod"}) as m:
        yield m


@program_test
def test_example_declares_three_roles(mocks: ProviderMocks) -> Any:
    runpy.run_path(str(EXAMPLE))

    def check(outputs: list[Any]) -> None:
        role_ids, support_id = outputs
        assert role_ids == {
            "platform-admin": "role_mock_org-admin",
            "platform-viewer": "role_mock_org-viewer",
            "customer-support": "role_mock_org-support",
        }
        # The customer organization flowed from stack config into the id.
        assert support_id == "org_customer_42/org-support"
        by_name = {r.name: r.inputs for r in mocks.registered}
        assert set(by_name) == {"platform-admin", "platform-viewer", "customer-support"}
        assert by_name["platform-viewer"]["organization_id"] == "org_platform"
        assert by_name["customer-support"]["organization_id"] == "org_customer_42"

    stack = get_root_resource()
    assert stack is not None
    outputs = stack.outputs  # type: ignore[attr-defined]
    return pulumi.Output.all(
        pulumi.Output.from_input(outputs["roleIds"]), outputs["supportRoleResourceId"]
    ).apply(check)


@program_test
def test_serialized_provider_is_secret_and_tokenless(
    mocks: ProviderMocks, monkeypatch: pytest.MonkeyPatch
) -> Any:
    # Even with a token in the program's environment, nothing of it is captured.
    monkeypatch.setenv("KARMO_TOKEN", TOKEN)
    role = OrganizationRole("admin", organization_id="org_1", slug="org-admin", name="Admin")

    def check(_: Any) -> None:
        serialized = mocks.registered[0].inputs["__provider"]
        assert is_rpc_secret(serialized)
        raw = base64.b64decode(unwrap_rpc_secret(serialized))
        assert TOKEN.encode() not in raw

    return role.id.apply(check)


@program_test
def test_keyword_and_args_forms_register_the_same_inputs(mocks: ProviderMocks) -> Any:
    # Two organizations: one program may not declare the same role twice.
    a = OrganizationRole("a", organization_id="org_1", slug="org-a", name="A")
    b = OrganizationRole("b", OrganizationRoleArgs(organization_id="org_2", slug="org-a", name="A"))

    def check(values: list[Any]) -> None:
        assert values == ["org_1/org-a", "org_2/org-a"]
        by_name = {
            r.name: {k: v for k, v in r.inputs.items() if k != "__provider"}
            for r in mocks.registered
        }
        assert by_name["a"] == {"organization_id": "org_1", "slug": "org-a", "name": "A"}
        assert by_name["b"] == {**by_name["a"], "organization_id": "org_2"}

    return pulumi.Output.all(a.id, b.id).apply(check)


@program_test
def test_outputs_are_typed_attributes(mocks: ProviderMocks) -> Any:
    org = pulumi.Output.from_input("org_7")  # an input that is itself an Output
    role = OrganizationRole("r", organization_id=org, slug="org-r", name="R")
    assert isinstance(role.role_id, pulumi.Output)

    def check(values: list[Any]) -> None:
        assert values == ["org_7", "org-r", "R", "role_mock_org-r", "org_7/org-r"]

    return pulumi.Output.all(
        role.organization_id, role.slug, role.name, role.role_id, role.id
    ).apply(check)


@program_test
def test_clear_permissions_on_delete_is_an_input_and_a_typed_output(mocks: ProviderMocks) -> Any:
    a = OrganizationRole(
        "a",
        organization_id="org_1",
        slug="org-a",
        name="A",
        permissions=["x", "w", "x"],
        clear_permissions_on_delete=True,
    )
    b = OrganizationRole(
        "b",
        OrganizationRoleArgs(
            organization_id="org_1", slug="org-b", name="B", clear_permissions_on_delete=True
        ),
    )
    assert isinstance(a.clear_permissions_on_delete, pulumi.Output)

    def check(values: list[Any]) -> None:
        # Permissions are a set: check returns them sorted, each once.
        assert values == [True, True, ["w", "x"]]
        assert [r.inputs["clear_permissions_on_delete"] for r in mocks.registered] == [True, True]

    return pulumi.Output.all(
        a.clear_permissions_on_delete, b.clear_permissions_on_delete, a.permissions
    ).apply(check)


@program_test
def test_get_looks_up_by_id(mocks: ProviderMocks) -> Any:
    role = OrganizationRole.get("existing", "org_1/org-admin", name="Admin")

    def check(values: list[Any]) -> None:
        assert values == ["org_1/org-admin", "org_1", "org-admin", "Admin"]

    return pulumi.Output.all(role.id, role.organization_id, role.slug, role.name).apply(check)


@program_test
def test_production_example_owns_permission_sets(production_mocks: ProviderMocks) -> Any:
    runpy.run_path(str(EXAMPLES / "production" / "__main__.py"))

    def check(outputs: list[Any]) -> None:
        role_ids, auditor_id = outputs
        assert set(role_ids) == {"org-admin", "org-billing", "org-member"}
        assert auditor_id == "role_mock_org-auditor"
        by_name = {r.name: r.inputs for r in production_mocks.registered}
        assert by_name["org-billing"]["permissions"] == [
            "billing:read",
            "billing:write",
            "reports:export",
        ]
        assert all(inputs["organization_id"] == "org_prod" for inputs in by_name.values())
        # The auditor's permissions are not managed: the input is absent.
        assert by_name["org-auditor"].get("permissions") is None

    stack = get_root_resource()
    assert stack is not None
    outputs = stack.outputs  # type: ignore[attr-defined]
    # Wait for every role, not just some: registrations finish in any order.
    return pulumi.Output.all(
        pulumi.Output.from_input(outputs["roleIds"]), outputs["auditorRoleId"]
    ).apply(check)


def test_missing_property_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Missing required property 'slug'"):
        OrganizationRole("r", organization_id="org_1", name="R")


def test_args_and_keywords_together_are_refused() -> None:
    args = OrganizationRoleArgs(organization_id="org_1", slug="org-a", name="A")
    with pytest.raises(TypeError, match="either `args` or keyword arguments"):
        OrganizationRole("r", args, name="B")


def test_resource_type_token() -> None:
    assert OrganizationRole._resource_type_name == "dynamic/karmo:OrganizationRole"


@pytest.mark.parametrize(("key", "value"), [("karmo:token", TOKEN), ("karmo:workosApiKey", KEY)])
def test_a_credential_in_plain_text_stack_config_fails_the_program(key: str, value: str) -> None:
    with runtime():
        pulumi.runtime.set_all_config({key: value})  # set without --secret
        with pytest.raises(PlainTextCredentialError) as caught:
            OrganizationRole("r", organization_id="org_1", slug="org-r", name="R")
        assert str(caught.value) == (
            f"{key} is stored in plain text in the stack config, so it would be written "
            "to the state unencrypted: set it again as a secret with `pulumi config set "
            f"--secret {key} <value>`."
        )
        assert value not in str(caught.value)
        # A KarmoError, and a RunError: the CLI shows its one line, not a traceback.
        assert isinstance(caught.value, KarmoError)
        assert isinstance(caught.value, pulumi.RunError)


@program_test
def test_a_secret_token_in_stack_config_is_accepted(mocks: ProviderMocks) -> Any:
    pulumi.runtime.set_all_config({"karmo:token": TOKEN}, ["karmo:token"])
    role = OrganizationRole("r", organization_id="org_1", slug="org-r", name="R")
    return role.id.apply(lambda id_: None if id_ == "org_1/org-r" else pytest.fail(id_))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: OrganizationRole("r", organization_id="org_1", name="R"), "Missing required"),
        (
            lambda: OrganizationRole(
                "r", OrganizationRoleArgs(organization_id="o", slug="org-a", name="A"), name="B"
            ),
            "either `args` or keyword arguments",
        ),
    ],
)
def test_wrong_calls_are_karmo_errors_and_type_errors(make: Any, words: str) -> None:
    with pytest.raises(UsageError, match=words) as caught:
        make()
    assert isinstance(caught.value, KarmoError)
    assert isinstance(caught.value, TypeError)
