"""Programs of thousands of roles register, in any mix with other dynamic resources,
under ``pulumi.runtime.set_mocks``.

The SDK's provider serializer adds a wrapper to ``pickle._Pickler._batch_setitems`` for
every dynamic resource and never takes it off, so the pickle of any provider holding a
dictionary walks a chain as long as the program; near the 980th resource that overflows
the stack (pulumi/pulumi#17803). Our resources register without lengthening it.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.rpc import unwrap_rpc_secret

from pulumi_karmo_roles import OrganizationRole
from pulumi_karmo_roles._pickle_chain import chain_length, unchained
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from tests.support.mocks import run

ROLES = 2_000


class DictProvider(ResourceProvider):
    """Another library's dynamic provider, whose pickle holds a dictionary (its settings)."""

    def __init__(self) -> None:
        super().__init__()
        self.settings = {"region": "eu", "tier": 2}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("x", props)


class Other(pulumi.dynamic.Resource, module="other", name="Thing"):
    def __init__(self, name: str) -> None:
        super().__init__(DictProvider(), name, {"value": name})


def test_thousands_of_roles_register_among_other_dynamic_resources() -> None:
    before = chain_length()

    def program() -> None:
        for i in range(ROLES):
            OrganizationRole(
                f"role-{i}", organization_id=f"org_{i % 100}", slug=f"org-r{i}", name=f"R {i}"
            )
            if i % 8 == 0:  # another provider, interleaved: it adds a wrapper each time
                Other(f"other-{i}")

    recorder = run(program)
    roles = [r for r in recorder.registered if r.typ.endswith("karmo:OrganizationRole")]
    assert len(roles) == ROLES
    # Deterministic: every role carries the same serialized provider, of 120 characters.
    providers = {unwrap_rpc_secret(r.inputs["__provider"]) for r in roles}
    assert providers == {serialize_provider(OrganizationRoleProvider())}
    assert len(providers.pop()) <= 120
    # The other provider's wrappers since our last registration are all that is left.
    assert chain_length() <= max(before, 1)


def test_our_registration_leaves_no_wrapper_behind() -> None:
    for _ in range(50):  # another provider's resources made a chain
        serialize_provider(DictProvider())
    assert chain_length() >= 50

    recorder = run(lambda: OrganizationRole("one", organization_id="org_1", slug="org-a", name="A"))
    assert len(recorder.registered) == 1
    assert chain_length() == 0


def test_a_long_chain_left_by_others_is_not_walked_by_ours() -> None:
    for _ in range(1_500):  # longer than the recursion limit allows anyone to walk
        serialize_provider(ResourceProvider())  # pickles no dictionary: survives
    with unchained():
        serialized = serialize_provider(OrganizationRoleProvider())
    assert base64.b64decode(serialized)
    assert chain_length() == 0


def test_the_guard_leaves_anything_but_the_sdk_wrappers_alone(monkeypatch: Any) -> None:
    import pickle

    def someone_elses(self: Any, items: Any) -> None:
        raise AssertionError("not called here")

    monkeypatch.setattr(pickle._Pickler, "_batch_setitems", someone_elses)
    with unchained():
        assert pickle._Pickler._batch_setitems is someone_elses  # type: ignore[attr-defined]
    assert pickle._Pickler._batch_setitems is someone_elses  # type: ignore[attr-defined]
    assert chain_length() == 0
