"""The sandbox's WorkOS face as WorkOS's own Python SDK sees it: every organization-role
operation of ``WorkOSClient().authorization``, and the environment-role reads, driven
against the sandbox. Each answer must deserialize into the SDK's models, each error must
raise the exception class the SDK's docstrings name, ``Retry-After`` must be something
the SDK can read, and an ``Idempotency-Key`` replay must return the first answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from workos import (
    AsyncWorkOSClient,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitExceededError,
    RequestOptions,
    ServerError,
    UnprocessableEntityError,
    WorkOSClient,
)
from workos.authorization import Authorization
from workos.authorization.models import Role, RoleList
from workos.common.models import RoleType

from pulumi_karmo_roles._rules import slug_problem
from pulumi_karmo_roles.sandbox import SandboxServer

KARMO_TOKEN = "dev-token"
WORKOS_KEY = "sk_test_a1B2c3D4e5F6g7H8"
ORG = "org_01HACME"


@pytest.fixture(scope="module")
def _server() -> Iterator[SandboxServer]:
    with SandboxServer(KARMO_TOKEN, prefix="/auth-api", workos_api_key=WORKOS_KEY) as server:
        yield server


@pytest.fixture
def server(_server: SandboxServer) -> Iterator[SandboxServer]:
    _server.reset()
    yield _server
    _server.reset()


@contextlib.contextmanager
def sdk_client(
    server: SandboxServer, key: str = WORKOS_KEY, *, max_retries: int = 0, **hooks: Any
) -> Iterator[WorkOSClient]:
    """The SDK's client of the sandbox, without retries unless asked. Its HTTP client is
    the one it builds by default (httpx2), but blind to the proxy settings of whoever runs
    the tests: the sandbox is on 127.0.0.1."""
    with httpx2.Client(timeout=10, follow_redirects=True, trust_env=False, **hooks) as http:
        yield WorkOSClient(
            api_key=key, base_url=server.workos_url, http_client=http, max_retries=max_retries
        )


@pytest.fixture
def sdk(server: SandboxServer) -> Iterator[Authorization]:
    """The SDK's authorization module."""
    with sdk_client(server) as client:
        yield client.authorization


@pytest.fixture
def karmo(server: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KARMO_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, trust_env=False) as client:
        yield client


def upsert(karmo: httpx.Client, slug: str, name: str) -> str:
    answer = karmo.put(f"/organizations/{ORG}/roles/{slug}", json={"name": name})
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def raw(server: SandboxServer, path: str) -> Any:
    """What the face sends for ``GET path``, as JSON: what the SDK's models must hold."""
    headers = {"Authorization": f"Bearer {WORKOS_KEY}"}
    with httpx.Client(base_url=server.workos_url, headers=headers, trust_env=False) as client:
        return client.get(path).json()


def assert_whole(role: Role, raw: dict[str, Any]) -> None:
    """The SDK's model holds every field the face sent, with the same values."""
    assert isinstance(role, Role)
    assert role.to_dict() == raw


# --- reads ---------------------------------------------------------------------------------


def test_the_list_deserializes_into_a_role_list_holding_all_of_each_role(
    server: SandboxServer, sdk: Authorization, karmo: httpx.Client
) -> None:
    server.add_environment_role("member", "Member", ["reports:read"])
    role_id = upsert(karmo, "org-admin", "Admin")
    listed = sdk.list_organization_roles(ORG)
    assert isinstance(listed, RoleList)
    assert [(r.slug, r.type) for r in listed.data] == [
        ("member", RoleType.ENVIRONMENT_ROLE),
        ("org-admin", RoleType.ORGANIZATION_ROLE),
    ]
    admin = listed.data[1]
    assert (admin.id, admin.name, admin.description) == (role_id, "Admin", None)
    assert admin.resource_type_slug == "organization"
    assert admin.created_at.tzinfo is not None
    assert listed.to_dict() == raw(server, f"/authorization/organizations/{ORG}/roles")


def test_get_answers_the_organization_role_or_the_environment_role_of_that_slug(
    server: SandboxServer, sdk: Authorization, karmo: httpx.Client
) -> None:
    upsert(karmo, "org-admin", "Admin")
    server.add_environment_role("member", "Member")
    admin = sdk.get_organization_role(ORG, "org-admin")
    assert_whole(admin, raw(server, f"/authorization/organizations/{ORG}/roles/org-admin"))
    assert sdk.get_organization_role(ORG, "member").type is RoleType.ENVIRONMENT_ROLE
    with pytest.raises(NotFoundError, match="org-nope"):
        sdk.get_organization_role(ORG, "org-nope")


def test_the_environment_roles_are_read_at_their_own_paths(
    server: SandboxServer, sdk: Authorization, karmo: httpx.Client
) -> None:
    upsert(karmo, "org-admin", "Admin")
    server.add_environment_role("member", "Member", ["reports:read"], description="Everyone")
    server.add_environment_role("admin", "Admin", ["*"])
    listed = sdk.list_environment_roles()
    assert isinstance(listed, RoleList)
    assert [(r.slug, r.type) for r in listed.data] == [
        ("member", RoleType.ENVIRONMENT_ROLE),
        ("admin", RoleType.ENVIRONMENT_ROLE),
    ]
    assert listed.to_dict() == raw(server, "/authorization/roles")
    member = sdk.get_environment_role("member")
    assert (member.description, member.permissions) == ("Everyone", ["reports:read"])
    assert_whole(member, raw(server, "/authorization/roles/member"))
    with pytest.raises(NotFoundError, match="org-admin"):
        sdk.get_environment_role("org-admin")  # an organization role is no environment role


# --- create ----------------------------------------------------------------------------


def test_create_with_a_slug(server: SandboxServer, sdk: Authorization) -> None:
    role = sdk.create_organization_role(
        ORG, slug="org-support", name="Support", description="Answers tickets"
    )
    assert isinstance(role, Role)
    assert (role.slug, role.name, role.description) == ("org-support", "Support", "Answers tickets")
    assert (role.type, role.permissions) == (RoleType.ORGANIZATION_ROLE, [])
    assert server.roles()[(ORG, "org-support")] == (role.id, "Support")
    with pytest.raises(ConflictError, match="org-support"):
        sdk.create_organization_role(ORG, slug="org-support", name="Support")
    with pytest.raises(UnprocessableEntityError) as refused:
        sdk.create_organization_role(ORG, slug="org-bad-", name="N" * 49)
    assert [e["field"] for e in refused.value.errors or []] == ["slug", "name"]


def test_create_without_a_slug_derives_one_from_the_name(
    server: SandboxServer, sdk: Authorization
) -> None:
    first = sdk.create_organization_role(ORG, name="Billing Admins")
    second = sdk.create_organization_role(ORG, name="Billing Admins")
    odd = sdk.create_organization_role(ORG, name="Équipe « Support » 👩‍💻")
    opaque = sdk.create_organization_role(ORG, name="مدیران")
    slugs = [first.slug, second.slug, odd.slug, opaque.slug]
    assert first.slug.startswith("org-billing-admins-")
    assert odd.slug.startswith("org-equipe-support-")
    assert len(set(slugs)) == 4
    for slug in slugs:
        assert slug_problem(slug, "workos") is None, slug  # WorkOS's own rules hold
        assert sdk.get_organization_role(ORG, slug).slug == slug
    # The same history gives the same slugs: a test can name what it will read.
    server.reset()
    again = [
        sdk.create_organization_role(ORG, name=name).slug
        for name in ("Billing Admins", "Billing Admins", "Équipe « Support » 👩‍💻", "مدیران")
    ]
    assert again == slugs


def test_a_long_name_still_gives_a_slug_within_workos_limit(
    server: SandboxServer, sdk: Authorization
) -> None:
    role = sdk.create_organization_role(ORG, name="a" * 20 + " " + "b" * 27)
    assert len(role.slug) <= 48
    assert slug_problem(role.slug, "workos") is None


def test_create_with_the_resource_type_every_role_carries(
    server: SandboxServer, sdk: Authorization
) -> None:
    role = sdk.create_organization_role(
        ORG, slug="org-a", name="A", resource_type_slug="organization"
    )
    assert role.resource_type_slug == "organization"
    with pytest.raises(UnprocessableEntityError) as refused:
        sdk.create_organization_role(ORG, slug="org-b", name="B", resource_type_slug="workspace")
    assert [e["field"] for e in refused.value.errors or []] == ["resource_type_slug"]
    assert (ORG, "org-b") not in server.roles()


# --- update, delete ------------------------------------------------------------------------


def test_update(server: SandboxServer, sdk: Authorization, karmo: httpx.Client) -> None:
    upsert(karmo, "org-admin", "Admin")
    server.add_environment_role("member", "Member")
    renamed = sdk.update_organization_role(ORG, "org-admin", name="Admins", description="All")
    assert (renamed.name, renamed.description) == ("Admins", "All")
    cleared = sdk.update_organization_role(ORG, "org-admin", description=None)
    assert (cleared.name, cleared.description) == ("Admins", None)
    assert cleared.updated_at >= cleared.created_at
    with pytest.raises(UnprocessableEntityError):
        sdk.update_organization_role(ORG, "org-admin", name="N" * 49)
    for slug in ("org-nope", "member"):  # absent, or an environment role
        with pytest.raises(NotFoundError):
            sdk.update_organization_role(ORG, slug, name="X")


def test_delete(server: SandboxServer, sdk: Authorization, karmo: httpx.Client) -> None:
    upsert(karmo, "org-admin", "Admin")
    sdk.delete_organization_role(ORG, "org-admin")
    assert server.roles() == {}
    with pytest.raises(NotFoundError):
        sdk.delete_organization_role(ORG, "org-admin")


# --- permissions -------------------------------------------------------------------------


def test_add_a_permission(server: SandboxServer, sdk: Authorization, karmo: httpx.Client) -> None:
    upsert(karmo, "org-admin", "Admin")
    role = sdk.add_organization_role_permission(ORG, "org-admin", body_slug="users:write")
    assert isinstance(role, Role)
    assert role.permissions == ["users:write"]
    again = sdk.add_organization_role_permission(ORG, "org-admin", body_slug="users:write")
    assert again.permissions == ["users:write"]  # already there: no effect
    more = sdk.add_organization_role_permission(ORG, "org-admin", body_slug="audit:read")
    assert more.permissions == ["audit:read", "users:write"]
    assert server.permissions(ORG, "org-admin") == ["audit:read", "users:write"]
    with pytest.raises(UnprocessableEntityError):
        sdk.add_organization_role_permission(ORG, "org-admin", body_slug="Not A Slug")
    with pytest.raises(NotFoundError, match="org-nope"):
        sdk.add_organization_role_permission(ORG, "org-nope", body_slug="users:write")


def test_set_permissions(server: SandboxServer, sdk: Authorization, karmo: httpx.Client) -> None:
    upsert(karmo, "org-admin", "Admin")
    role = sdk.set_organization_role_permissions(
        ORG, "org-admin", permissions=["b:write", "a:read", "b:write"]
    )
    assert role.permissions == ["a:read", "b:write"]
    assert sdk.set_organization_role_permissions(ORG, "org-admin", permissions=[]).permissions == []
    with pytest.raises(UnprocessableEntityError):
        sdk.set_organization_role_permissions(ORG, "org-admin", permissions=["Bad"])
    with pytest.raises(NotFoundError):
        sdk.set_organization_role_permissions(ORG, "org-nope", permissions=[])


def test_remove_a_permission(
    server: SandboxServer, sdk: Authorization, karmo: httpx.Client
) -> None:
    upsert(karmo, "org-admin", "Admin")
    sdk.set_organization_role_permissions(ORG, "org-admin", permissions=["a:read", "b:write"])
    sdk.remove_organization_role_permission(ORG, "org-admin", "a:read")
    assert server.permissions(ORG, "org-admin") == ["b:write"]
    with pytest.raises(NotFoundError, match="a:read"):  # not on the role (any more)
        sdk.remove_organization_role_permission(ORG, "org-admin", "a:read")
    with pytest.raises(NotFoundError, match="Role not found: 'org-nope'"):
        sdk.remove_organization_role_permission(ORG, "org-nope", "b:write")


def test_removing_a_permission_answers_the_role(server: SandboxServer, karmo: httpx.Client) -> None:
    # The SDK drops the body; WorkOS's reference answers the updated role, as set and add.
    upsert(karmo, "org-admin", "Admin")
    headers = {"Authorization": f"Bearer {WORKOS_KEY}"}
    path = f"/authorization/organizations/{ORG}/roles/org-admin/permissions"
    with httpx.Client(base_url=server.workos_url, headers=headers, trust_env=False) as workos:
        workos.put(path, json={"permissions": ["a:read", "b:write"]})
        answer = workos.delete(path + "/a:read")
    assert answer.status_code == 200
    assert_whole(Role.from_dict(answer.json()), answer.json())
    assert answer.json()["permissions"] == ["b:write"]


# --- errors the SDK names ----------------------------------------------------------------------


OPERATIONS: dict[str, Callable[[Authorization], object]] = {
    "list": lambda a: a.list_organization_roles(ORG),
    "get": lambda a: a.get_organization_role(ORG, "org-a"),
    "create": lambda a: a.create_organization_role(ORG, slug="org-b", name="B"),
    "update": lambda a: a.update_organization_role(ORG, "org-a", name="A2"),
    "delete": lambda a: a.delete_organization_role(ORG, "org-a"),
    "add": lambda a: a.add_organization_role_permission(ORG, "org-a", body_slug="x:y"),
    "set": lambda a: a.set_organization_role_permissions(ORG, "org-a", permissions=["x:y"]),
    "remove": lambda a: a.remove_organization_role_permission(ORG, "org-a", "x:y"),
    "list environment": lambda a: a.list_environment_roles(),
    "get environment": lambda a: a.get_environment_role("member"),
}


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_each_operation_succeeds_and_a_wrong_key_is_an_authentication_error(
    server: SandboxServer,
    sdk: Authorization,
    karmo: httpx.Client,
    operation: Callable[[Authorization], object],
) -> None:
    upsert(karmo, "org-a", "A")
    server.add_environment_role("member", "Member")
    sdk.add_organization_role_permission(ORG, "org-a", body_slug="x:y")
    with sdk_client(server, "sk_test_wrong") as wrong, pytest.raises(AuthenticationError):
        operation(wrong.authorization)
    operation(sdk)  # and the right key succeeds, its answer read into the SDK's model


def test_an_unknown_organization_is_not_found() -> None:
    with SandboxServer(KARMO_TOKEN, organizations=[ORG], workos_api_key=WORKOS_KEY) as server:
        with sdk_client(server) as client:
            with pytest.raises(NotFoundError, match="org_other"):
                client.authorization.list_organization_roles("org_other")
            with pytest.raises(NotFoundError, match="org_other"):
                client.authorization.create_organization_role("org_other", name="A")


def test_a_proxys_5xx_is_a_server_error(server: SandboxServer, sdk: Authorization) -> None:
    server.set_faults(error_share=1.0, error_status=503)
    with pytest.raises(ServerError) as failed:
        sdk.list_organization_roles(ORG)
    assert failed.value.status_code == 503


# --- Retry-After, retries, idempotency -----------------------------------------------------


def test_the_rate_limit_window_answers_whole_seconds_the_sdk_reads() -> None:
    now = [100.0]
    with SandboxServer(KARMO_TOKEN, workos_api_key=WORKOS_KEY, clock=lambda: now[0]) as server:
        server.set_faults(rate_limit_rps=1)
        with sdk_client(server) as client:
            client.authorization.list_organization_roles(ORG)
            now[0] += 0.5  # the window frees in half a second: the header rounds it up
            with pytest.raises(RateLimitExceededError) as limited:
                client.authorization.list_organization_roles(ORG)
    assert limited.value.retry_after == 1.0
    assert limited.value.response is not None
    assert limited.value.response.headers["Retry-After"] == "1"


def test_the_rate_limit_share_answers_the_retry_after_it_was_given(
    server: SandboxServer, sdk: Authorization
) -> None:
    server.set_faults(rate_limit_share=1.0, retry_after="7")
    with pytest.raises(RateLimitExceededError) as limited:
        sdk.list_organization_roles(ORG)
    assert limited.value.retry_after == 7.0


def test_an_idempotency_key_replay_returns_the_first_answer(
    server: SandboxServer, sdk: Authorization
) -> None:
    options = RequestOptions(idempotency_key="create-support-1")
    first = sdk.create_organization_role(
        ORG, slug="org-support", name="Support", request_options=options
    )
    replayed = sdk.create_organization_role(
        ORG, slug="org-support", name="Support", request_options=options
    )
    assert replayed == first  # not a 409: the same role, the same times
    assert server.stats()["workos_created"] == 1
    # Without the key, the same request is a second create: 409.
    with pytest.raises(ConflictError):
        sdk.create_organization_role(ORG, slug="org-support", name="Support")
    # A generated slug is replayed too, not derived anew.
    generated = RequestOptions(idempotency_key="create-billing-1")
    one = sdk.create_organization_role(ORG, name="Billing", request_options=generated)
    two = sdk.create_organization_role(ORG, name="Billing", request_options=generated)
    assert one == two
    assert [s for (_, s) in server.roles()].count(one.slug) == 1


def test_a_replay_is_the_first_answer_byte_for_byte_errors_included(
    server: SandboxServer,
) -> None:
    headers = {"Authorization": f"Bearer {WORKOS_KEY}", "Idempotency-Key": "k-1"}
    path = f"/authorization/organizations/{ORG}/roles"
    with httpx.Client(base_url=server.workos_url, headers=headers, trust_env=False) as workos:
        first = workos.post(path, json={"slug": "org-a", "name": "A"})
        replay = workos.post(path, json={"slug": "org-a", "name": "A"})
        refused = workos.post(path, json={"slug": "org-b", "name": "N" * 49},
                              headers={"Idempotency-Key": "k-2"})  # fmt: skip
        refused_again = workos.post(path, json={"slug": "org-b", "name": "N" * 49},
                                    headers={"Idempotency-Key": "k-2"})  # fmt: skip
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.content == first.content
    assert replay.headers["X-Request-ID"] == first.headers["X-Request-ID"]
    assert (refused.status_code, refused_again.content) == (422, refused.content)


def test_a_create_the_sdk_retries_after_its_answer_was_lost_is_one_role(
    server: SandboxServer,
) -> None:
    # The first attempt is held two seconds before the face creates the role; the SDK
    # gives up on it after 1 s, waits its own backoff (0.5 s or more) and sends the same
    # create with the same key. Whichever of the two the face runs first, the other is
    # its replay: one role, and the SDK gets it (without the key's replay: 409). The
    # margins are wide so that a loaded machine never times out the second attempt.
    keys: list[str] = []

    def record(request: httpx2.Request) -> None:
        keys.append(request.headers.get("Idempotency-Key", ""))

    server.script({"action": "hang", "seconds": 2.0, "then": "answer", "face": "workos"})
    with sdk_client(server, max_retries=1, event_hooks={"request": [record]}) as client:
        role = client.authorization.create_organization_role(
            ORG, slug="org-a", name="A", request_options=RequestOptions(timeout=1.0)
        )
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]
    # When the retry is run first, the SDK has its role while the held attempt is still
    # asleep in the face: wait for its answer too, which must be the replay (a 201, not a
    # 409 or a second role). Without the wait this test would not see it at all (and
    # the sandbox's reset would drop it, as it drops any request held across a reset).
    deadline = time.monotonic() + 30.0
    while server.stats()["workos_status_201"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.stats()["workos_status_201"] == 2
    assert server.roles() == {(ORG, "org-a"): (role.id, "A")}
    assert server.stats()["workos_created"] == 1


def test_the_async_client_reads_the_same_models(server: SandboxServer, karmo: httpx.Client) -> None:
    upsert(karmo, "org-admin", "Admin")

    async def read() -> RoleList:
        http = httpx2.AsyncClient(trust_env=False)
        client = AsyncWorkOSClient(api_key=WORKOS_KEY, base_url=server.workos_url,
                                   http_client=http, max_retries=0)  # fmt: skip
        try:
            return await client.authorization.list_organization_roles(ORG)
        finally:
            await http.aclose()

    listed = asyncio.run(read())
    assert [r.slug for r in listed.data] == ["org-admin"]


def test_requests_are_what_the_sdk_sends(server: SandboxServer, sdk: Authorization) -> None:
    sdk.create_organization_role(ORG, name="Support", description=None)
    (create,) = [r for r in server.requests() if r["face"] == "workos"]
    assert create["content_type"] == "application/json"
    assert json.loads(create["body"]) == {"name": "Support", "description": None}
    assert "WorkOS Python" in create["user_agent"]
