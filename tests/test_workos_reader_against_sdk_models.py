"""The read-back fed what WorkOS's own SDK says WorkOS answers: bodies built with the
models of ``workos`` 10.6.0 (``Role.to_dict()``, ``RoleList.to_dict()``), with fields the
SDK does not know yet and ``description: null``, served from a server on 127.0.0.1. The
WorkOS reader must read each of them, exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workos.authorization.models import Role, RoleList
from workos.common.models import RoleType

from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles._http.workos import WorkOSReader, WorkOSRole
from pulumi_karmo_roles._rules import name_problem
from pulumi_karmo_roles.errors import InputError
from tests.support.secrets import WORKOS_KEY
from tests.support.servers import HostileServer, Reply, Seen

ORG = "org_01HACME"
LIST_PATH = f"/authorization/organizations/{ORG}/roles"
WHEN = datetime(2024, 1, 15, 12, 0, tzinfo=timezone.utc)

# Fields WorkOS may add before the SDK knows them: the reader must pass over them.
UNKNOWN_ROLE_FIELDS: dict[str, Any] = {
    "priority": 3,
    "is_default_role": False,
    "organization_id": ORG,
    "future": {"nested": [1, {"deeper": None}]},
}
UNKNOWN_LIST_FIELDS: dict[str, Any] = {"list_metadata": {"before": None, "after": None}}


def sdk_role(
    slug: str,
    name: str,
    role_id: str,
    *,
    permissions: list[str] | None = None,
    description: str | None = None,
    environment: bool = False,
) -> Role:
    return Role(
        slug=slug,
        object="role",
        id=role_id,
        name=name,
        description=description,
        type=RoleType.ENVIRONMENT_ROLE if environment else RoleType.ORGANIZATION_ROLE,
        resource_type_slug="organization",
        permissions=permissions or [],
        created_at=WHEN,
        updated_at=WHEN,
    )


def with_unknown_fields(role: Role) -> dict[str, Any]:
    body = {**role.to_dict(), **UNKNOWN_ROLE_FIELDS}
    assert Role.from_dict(body) == role  # still an answer the SDK itself reads
    return body


def list_body(*roles: Role) -> dict[str, Any]:
    body = RoleList(object="list", data=list(roles)).to_dict()
    body = {**body, **UNKNOWN_LIST_FIELDS}
    body["data"] = [with_unknown_fields(r) for r in roles]
    assert RoleList.from_dict(body).data == list(roles)
    return body


class WorkOS:
    """A WorkOS on 127.0.0.1 answering the bodies it is given, by path; other paths get
    WorkOS's 404."""

    def __init__(self) -> None:
        self.bodies: dict[str, dict[str, Any]] = {}
        self.server = HostileServer(self._answer)

    def _answer(self, request: Seen) -> Reply:
        body = self.bodies.get(request.target)
        if body is None:
            missing = {"message": "Role not found.", "code": "entity_not_found"}
            return Reply(404, {"Content-Type": "application/json"}, json.dumps(missing).encode())
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def reader(self) -> Iterator[WorkOSReader]:
        with Session(retry_policy=RetryPolicy(max_retries=0)) as session:
            yield WorkOSReader(self.server.url, WORKOS_KEY, session=session)


@pytest.fixture(scope="module")
def workos() -> Iterator[WorkOS]:
    stage = WorkOS()
    with stage.server:
        yield stage


@pytest.fixture
def reader(workos: WorkOS) -> Iterator[WorkOSReader]:
    workos.bodies.clear()
    workos.server.seen.clear()
    yield from workos.reader()


def read_as(role: Role) -> WorkOSRole:
    """What the reader must make of an organization role WorkOS holds."""
    return WorkOSRole(
        role_id=role.id,
        slug=role.slug,
        name=role.name,
        permissions=tuple(sorted(set(role.permissions))),
    )


def test_a_list_the_sdk_builds_is_read_role_for_role(workos: WorkOS, reader: WorkOSReader) -> None:
    member = sdk_role("member", "Member", "role_01ENV", permissions=["reports:read"],
                      environment=True)  # fmt: skip
    admin = sdk_role(
        "org-admin", "Admin", "role_01ADMIN", permissions=["users:write", "audit:read"]
    )
    support = sdk_role("org-support", "Équipe « Support »", "role_01SUPPORT",
                       description="Answers tickets")  # fmt: skip
    persian = sdk_role("org-fa", "مدیران ارشد", "role_01FA", permissions=["a:b", "a:b"])
    workos.bodies[LIST_PATH] = list_body(member, admin, support, persian)
    assert reader.roles(ORG) == [read_as(admin), read_as(support), read_as(persian)]
    assert reader.role(ORG, "org-support") == read_as(support)
    assert [r.target for r in workos.server.seen] == [LIST_PATH]  # one list, read once


def test_a_role_missing_from_the_list_is_read_alone_from_the_sdks_role(
    workos: WorkOS, reader: WorkOSReader
) -> None:
    late = sdk_role("org-late", "Late", "role_01LATE", permissions=["x:y"])
    workos.bodies[LIST_PATH] = list_body()
    workos.bodies[f"{LIST_PATH}/org-late"] = with_unknown_fields(late)
    assert reader.role(ORG, "org-late") == read_as(late)
    assert reader.role(ORG, "org-gone") is None  # WorkOS's 404: no such role


def test_an_environment_role_read_alone_is_no_organization_role(
    workos: WorkOS, reader: WorkOSReader
) -> None:
    member = sdk_role("member", "Member", "role_01ENV", environment=True)
    workos.bodies[LIST_PATH] = list_body(member)
    workos.bodies[f"{LIST_PATH}/member"] = with_unknown_fields(member)
    # An environment role's slug breaks the organization-role rule, so the reader refuses
    # the question before it asks WorkOS anything.
    with pytest.raises(InputError, match="slug must start with 'org-'"):
        reader.role(ORG, "member")
    assert workos.server.seen == []


def test_description_null_and_an_empty_list_are_read(workos: WorkOS, reader: WorkOSReader) -> None:
    bare = sdk_role("org-bare", "Bare", "role_01BARE")
    body = list_body(bare)
    assert body["data"][0]["description"] is None  # the SDK writes the null, not nothing
    assert body["data"][0]["permissions"] == []
    workos.bodies[LIST_PATH] = body
    assert reader.roles(ORG) == [read_as(bare)]


# Any role the SDK's model holds whose values a declared role could have: the reader reads
# it back exactly (names of letters, digits, punctuation, symbols and spaces).
_slugs = st.from_regex(r"org-[a-z0-9]{1,12}(?:[-_][a-z0-9]{1,6}){0,2}", fullmatch=True)
_names = st.text(
    st.characters(categories=["L", "N", "P", "S"], include_characters=" "), min_size=1, max_size=48
).filter(lambda name: name_problem(name, "workos") is None)
_permissions = st.lists(st.from_regex(r"[a-z0-9:._*-]{1,20}", fullmatch=True), max_size=5)
_roles = st.lists(
    st.builds(
        sdk_role,
        slug=_slugs,
        name=_names,
        role_id=st.from_regex(r"role_01[0-9A-Z]{24}", fullmatch=True),
        permissions=_permissions,
        description=st.none() | st.text(max_size=150),
        environment=st.booleans(),
    ),
    max_size=6,
    unique_by=lambda role: role.slug,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(roles=_roles)
def test_any_role_list_the_sdk_builds_is_read_exactly(workos: WorkOS, roles: list[Role]) -> None:
    workos.bodies.clear()
    workos.bodies[LIST_PATH] = list_body(*roles)
    for reader in workos.reader():
        organization_roles = [r for r in roles if r.type is RoleType.ORGANIZATION_ROLE]
        assert reader.roles(ORG) == [read_as(r) for r in organization_roles]
        for role in organization_roles:
            assert reader.role(ORG, role.slug) == read_as(role)
