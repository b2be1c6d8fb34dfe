"""The sandbox's WorkOS face, over HTTP on 127.0.0.1 with httpx: WorkOS's organization-role
API over the role store the Karmo face writes to, its own API key, the same faults, and
WorkOS's limits on the Karmo face in ``workos`` mode."""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles._http.workos import WorkOSReader
from pulumi_karmo_roles.sandbox import SandboxServer
from pulumi_karmo_roles.sandbox._answers import Answer
from pulumi_karmo_roles.sandbox._replays import KEPT, Replays

KARMO_TOKEN = "dev-token"
WORKOS_KEY = "sk_test_a1B2c3D4e5F6g7H8"
ORG = "org_01HACME"
ROLE_FIELDS = {
    "object",
    "id",
    "slug",
    "name",
    "description",
    "type",
    "resource_type_slug",
    "permissions",
    "created_at",
    "updated_at",
}


@pytest.fixture(scope="module")
def _server() -> Iterator[SandboxServer]:
    with SandboxServer(KARMO_TOKEN, prefix="/auth-api", workos_api_key=WORKOS_KEY) as server:
        yield server


@pytest.fixture
def server(_server: SandboxServer) -> Iterator[SandboxServer]:
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def karmo(server: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the Karmo face (under its prefix)."""
    headers = {"Authorization": f"Bearer {KARMO_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, trust_env=False) as client:
        yield client


@pytest.fixture
def workos(server: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the WorkOS face, as a WorkOS SDK would configure it."""
    headers = {"Authorization": f"Bearer {WORKOS_KEY}"}
    with httpx.Client(base_url=server.workos_url, headers=headers, trust_env=False) as client:
        yield client


def roles_path(organization_id: str = ORG, slug: str | None = None) -> str:
    path = f"/authorization/organizations/{organization_id}/roles"
    return path if slug is None else f"{path}/{slug}"


def upsert(karmo: httpx.Client, slug: str, name: str, organization_id: str = ORG) -> str:
    answer = karmo.put(f"/organizations/{organization_id}/roles/{slug}", json={"name": name})
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def assert_workos_error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert answer.headers["X-Request-ID"].startswith("req_")
    return dict(body)


def parse_time(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


# --- the address, the key --------------------------------------------------------------


def test_the_workos_face_is_at_the_root_whatever_karmos_prefix(server: SandboxServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/auth-api"
    assert server.workos_url == f"http://127.0.0.1:{server.port}"


@pytest.mark.parametrize("prefix", ["/authorization", "/authorization/v1"])
def test_a_prefix_that_would_hide_the_workos_face_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="would hide the WorkOS face"):
        SandboxServer(KARMO_TOKEN, prefix=prefix)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sk_test_wrong", f"Bearer {KARMO_TOKEN}", WORKOS_KEY, f"bearer {WORKOS_KEY}"],
)
def test_a_wrong_or_missing_key_gets_401(server: SandboxServer, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = httpx.get(server.workos_url + roles_path(), headers=headers, trust_env=False)
    assert_workos_error(answer, 401, "unauthorized")
    assert server.stats()["workos_status_401"] == 1


def test_the_karmo_token_and_the_workos_key_are_not_interchangeable(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    upsert(karmo, "org-admin", "Admin")
    assert workos.get(roles_path(slug="org-admin")).status_code == 200
    answer = httpx.put(
        server.url + f"/organizations/{ORG}/roles/org-admin",
        json={"name": "A"},
        headers={"Authorization": f"Bearer {WORKOS_KEY}"},
        trust_env=False,
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "40100001"  # Karmo's envelope, not WorkOS's


def test_without_a_key_the_workos_face_says_how_to_enable_it() -> None:
    with SandboxServer(KARMO_TOKEN) as bare:
        answer = httpx.get(
            bare.workos_url + roles_path(),
            headers={"Authorization": "Bearer anything"},
            trust_env=False,
        )
    body = assert_workos_error(answer, 401, "unauthorized")
    assert "--workos-api-key" in body["message"]


def test_the_key_is_never_recorded(workos: httpx.Client, server: SandboxServer) -> None:
    workos.get(roles_path())
    (seen,) = server.requests()
    assert seen["face"] == "workos"
    assert WORKOS_KEY not in json.dumps(server.requests())


# --- reads -------------------------------------------------------------------------------


def test_a_role_upserted_through_karmo_reads_back_as_an_organization_role(
    karmo: httpx.Client, workos: httpx.Client
) -> None:
    role_id = upsert(karmo, "org-admin", "Organization Admin")
    answer = workos.get(roles_path(slug="org-admin"))
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"].startswith("req_")
    role = answer.json()
    assert set(role) == ROLE_FIELDS
    assert {k: role[k] for k in ROLE_FIELDS - {"created_at", "updated_at"}} == {
        "object": "role",
        "id": role_id,
        "slug": "org-admin",
        "name": "Organization Admin",
        "description": None,
        "type": "OrganizationRole",
        "resource_type_slug": "organization",
        "permissions": [],
    }
    assert parse_time(role["created_at"]) == parse_time(role["updated_at"])


def test_karmos_permissions_and_renames_show_through_workos(
    karmo: httpx.Client, workos: httpx.Client
) -> None:
    role_id = upsert(karmo, "org-admin", "Admin")
    created = workos.get(roles_path(slug="org-admin")).json()
    answer = karmo.put(
        f"/organizations/{ORG}/roles/org-admin/permissions",
        json={"permissions": ["members:write", "billing:read"]},
    )
    assert answer.status_code == 204
    assert upsert(karmo, "org-admin", "Admins") == role_id
    role = workos.get(roles_path(slug="org-admin")).json()
    assert (role["id"], role["name"]) == (role_id, "Admins")
    assert role["permissions"] == ["billing:read", "members:write"]
    assert parse_time(role["updated_at"]) >= parse_time(created["updated_at"])
    assert role["created_at"] == created["created_at"]


def test_an_absent_role_is_404(karmo: httpx.Client, workos: httpx.Client) -> None:
    upsert(karmo, "org-admin", "Admin", organization_id="org_other")
    answer = workos.get(roles_path(slug="org-admin"))
    body = assert_workos_error(answer, 404, "entity_not_found")
    assert "org-admin" in body["message"]


def test_the_list_holds_environment_roles_then_the_organizations_in_order(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    member = server.add_environment_role("member", "Member", ["reports:read"])
    ids = [upsert(karmo, slug, slug.title()) for slug in ("org-b", "org-a", "org-c")]
    upsert(karmo, "org-elsewhere", "Elsewhere", organization_id="org_other")
    answer = workos.get(roles_path())
    assert answer.status_code == 200
    listed = answer.json()
    assert set(listed) == {"object", "data"}
    assert listed["object"] == "list"
    assert [(r["slug"], r["type"], r["id"]) for r in listed["data"]] == [
        ("member", "EnvironmentRole", member),
        ("org-b", "OrganizationRole", ids[0]),
        ("org-a", "OrganizationRole", ids[1]),
        ("org-c", "OrganizationRole", ids[2]),
    ]
    assert all(set(role) == ROLE_FIELDS for role in listed["data"])
    assert listed["data"][0]["permissions"] == ["reports:read"]
    # Another organization sees the environment role and its own roles only.
    other = workos.get(roles_path("org_other")).json()["data"]
    assert [r["slug"] for r in other] == ["member", "org-elsewhere"]
    # An organization without roles still has the environment roles.
    assert [r["slug"] for r in workos.get(roles_path("org_empty")).json()["data"]] == ["member"]


def test_the_single_read_answers_an_environment_role_for_its_slug(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    server.add_environment_role("org-admin", "Environment Admin", description="Everywhere")
    role = workos.get(roles_path(slug="org-admin")).json()
    assert (role["type"], role["name"], role["description"]) == (
        "EnvironmentRole",
        "Environment Admin",
        "Everywhere",
    )
    # The organization's own role of that slug comes first.
    upsert(karmo, "org-admin", "Organization Admin")
    role = workos.get(roles_path(slug="org-admin")).json()
    assert (role["type"], role["name"]) == ("OrganizationRole", "Organization Admin")
    assert server.roles() == {(ORG, "org-admin"): (role["id"], "Organization Admin")}


def test_environment_roles_through_the_admin_endpoint(
    server: SandboxServer, workos: httpx.Client
) -> None:
    # The admin endpoints are at the root too (never under Karmo's prefix).
    admin = httpx.Client(base_url=server.workos_url, trust_env=False)
    with admin:
        answer = admin.post("/_sandbox/environment_roles", json={"slug": "viewer", "name": "V"})
        assert answer.status_code == 201
        assert answer.json()["type"] == "EnvironmentRole"
        bad = admin.post("/_sandbox/environment_roles", json={"slug": "Viewer!", "name": "V"})
        assert bad.status_code == 400
        assert "environment role slug" in bad.json()["error"]
        assert [r["slug"] for r in admin.get("/_sandbox/roles").json()["environment_roles"]] == [
            "viewer"
        ]
    assert workos.get(roles_path(slug="viewer")).json()["id"] == answer.json()["id"]
    server.reset()
    assert workos.get(roles_path(slug="viewer")).status_code == 404


@pytest.mark.parametrize(
    ("slug", "name", "permissions"),
    [("Member", "M", []), ("member", "N" * 49, []), ("member", "M", ["Not OK"])],
)
def test_an_environment_role_workos_would_refuse_is_refused(
    server: SandboxServer, slug: str, name: str, permissions: list[str]
) -> None:
    with pytest.raises(ValueError, match="environment role"):
        server.add_environment_role(slug, name, permissions)


def test_an_unknown_organization_is_404() -> None:
    with SandboxServer(KARMO_TOKEN, organizations=[ORG], workos_api_key=WORKOS_KEY) as server:
        headers = {"Authorization": f"Bearer {WORKOS_KEY}"}
        get = httpx.Client(base_url=server.workos_url, headers=headers, trust_env=False)
        with get:
            assert get.get(roles_path()).status_code == 200
            body = assert_workos_error(get.get(roles_path("org_nope")), 404, "entity_not_found")
            assert "org_nope" in body["message"]
            assert_workos_error(get.get(roles_path("org%2Fx", "org-a")), 404, "entity_not_found")


def test_unknown_routes_and_methods(workos: httpx.Client) -> None:
    assert_workos_error(workos.get("/authorization/permissions"), 404, "not_found")
    assert_workos_error(workos.get(roles_path(slug="org-a") + "/permissions/p/x"), 404,
                        "not_found")  # fmt: skip
    assert_workos_error(workos.delete(roles_path()), 405, "method_not_allowed")
    assert_workos_error(workos.get(roles_path(slug="org-a") + "/permissions"), 405,
                        "method_not_allowed")  # fmt: skip


def test_environment_roles_are_read_only_here(server: SandboxServer, workos: httpx.Client) -> None:
    server.add_environment_role("member", "Member")
    for method, path in [
        ("POST", "/authorization/roles"),
        ("PATCH", "/authorization/roles/member"),
        ("PUT", "/authorization/roles/member/permissions"),
        ("POST", "/authorization/roles/member/permissions"),
    ]:
        answer = workos.request(method, path, json={})
        error = assert_workos_error(answer, 405, "method_not_allowed")
        assert "/_sandbox/environment_roles" in error["message"]
    assert_workos_error(workos.get("/authorization/roles/nope"), 404, "entity_not_found")


# --- changes behind Pulumi's back ----------------------------------------------------------


def test_a_dashboard_rename_shows_in_the_karmo_admin_view(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    role_id = upsert(karmo, "org-admin", "Admin")
    answer = workos.patch(
        roles_path(slug="org-admin"), json={"name": "Renamed", "description": "By hand"}
    )
    assert answer.status_code == 200
    role = answer.json()
    assert (role["id"], role["name"], role["description"]) == (role_id, "Renamed", "By hand")
    assert set(role) == ROLE_FIELDS
    assert server.roles() == {(ORG, "org-admin"): (role_id, "Renamed")}
    admin = httpx.get(server.workos_url + "/_sandbox/roles", trust_env=False).json()
    assert [(r["slug"], r["name"]) for r in admin["roles"]] == [("org-admin", "Renamed")]
    # A PATCH without a name keeps it.
    kept = workos.patch(roles_path(slug="org-admin"), json={"description": None}).json()
    assert (kept["name"], kept["description"]) == ("Renamed", None)
    assert server.stats()["workos_updated"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "N" * 49}, "name"),
        ({"name": " "}, "name"),
        ({"name": 7}, "name"),
        ({"description": "d" * 151}, "description"),
        ({"slug": "org-other"}, "slug"),
        ([], "body"),
    ],
)
def test_a_patch_workos_would_refuse_is_422_and_changes_nothing(
    server: SandboxServer,
    karmo: httpx.Client,
    workos: httpx.Client,
    body: Any,
    field: str,
) -> None:
    role_id = upsert(karmo, "org-admin", "Admin")
    answer = workos.patch(roles_path(slug="org-admin"), json=body)
    error = assert_workos_error(answer, 422, "invalid_request_parameters")
    assert [e["field"] for e in error["errors"]] == [field]
    assert server.roles() == {(ORG, "org-admin"): (role_id, "Admin")}


def test_a_name_of_48_characters_is_accepted_by_patch(
    karmo: httpx.Client, workos: httpx.Client
) -> None:
    upsert(karmo, "org-admin", "Admin")
    assert workos.patch(roles_path(slug="org-admin"), json={"name": "N" * 48}).status_code == 200


def test_changes_to_an_absent_or_environment_role_are_404(
    server: SandboxServer, workos: httpx.Client
) -> None:
    server.add_environment_role("member", "Member")
    for slug in ("org-none", "member"):
        path = roles_path(slug=slug)
        assert_workos_error(workos.patch(path, json={"name": "X"}), 404, "entity_not_found")
        assert_workos_error(workos.delete(path), 404, "entity_not_found")
        answer = workos.put(path + "/permissions", json={"permissions": []})
        assert_workos_error(answer, 404, "entity_not_found")
    assert workos.get(roles_path(slug="member")).json()["name"] == "Member"


def test_a_dashboard_delete_leaves_karmo_to_create_the_role_anew(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    role_id = upsert(karmo, "org-admin", "Admin")
    answer = workos.delete(roles_path(slug="org-admin"))
    assert (answer.status_code, answer.content) == (204, b"")
    assert answer.headers["X-Request-ID"].startswith("req_")
    assert_workos_error(workos.get(roles_path(slug="org-admin")), 404, "entity_not_found")
    assert server.roles() == {}
    assert server.permissions(ORG, "org-admin") is None
    again = karmo.put(f"/organizations/{ORG}/roles/org-admin", json={"name": "Admin"})
    assert again.status_code == 201  # created, not updated
    assert again.json()["id"] != role_id


def test_dashboard_permissions_replace_the_set(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    upsert(karmo, "org-admin", "Admin")
    path = roles_path(slug="org-admin") + "/permissions"
    answer = workos.put(path, json={"permissions": ["users:read", "billing:*", "users:read"]})
    assert answer.status_code == 200
    assert answer.json()["permissions"] == ["billing:*", "users:read"]
    assert set(answer.json()) == ROLE_FIELDS
    assert server.permissions(ORG, "org-admin") == ["billing:*", "users:read"]
    assert workos.put(path, json={"permissions": []}).json()["permissions"] == []
    assert server.permissions(ORG, "org-admin") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permissions": ["ok", "Not OK"]}, "permissions[1]"),
        ({"permissions": "a"}, "permissions"),
        ({}, "permissions"),
    ],
)
def test_permissions_workos_would_refuse_are_422(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client, body: Any, field: str
) -> None:
    upsert(karmo, "org-admin", "Admin")
    answer = workos.put(roles_path(slug="org-admin") + "/permissions", json=body)
    error = assert_workos_error(answer, 422, "invalid_request_parameters")
    assert [e["field"] for e in error["errors"]] == [field]
    assert server.permissions(ORG, "org-admin") == []


def test_a_dashboard_create_is_a_role_karmo_then_adopts(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    answer = workos.post(roles_path(), json={"slug": "org-support", "name": "Support"})
    assert answer.status_code == 201
    role = answer.json()
    assert (role["type"], role["slug"]) == ("OrganizationRole", "org-support")
    again = workos.post(roles_path(), json={"slug": "org-support", "name": "Support"})
    assert_workos_error(again, 409, "organization_role_slug_conflict")
    adopted = karmo.put(f"/organizations/{ORG}/roles/org-support", json={"name": "Support"})
    assert (adopted.status_code, adopted.json()["id"]) == (200, role["id"])
    bad = workos.post(roles_path(), json={"slug": "org-bad-", "name": "N" * 49})
    error = assert_workos_error(bad, 422, "invalid_request_parameters")
    assert [e["field"] for e in error["errors"]] == ["slug", "name"]


def test_only_what_the_face_carried_out_is_replayed_for_a_key(
    server: SandboxServer, workos: httpx.Client
) -> None:
    key = {"Idempotency-Key": "k-1"}
    body = {"slug": "org-a", "name": "A"}
    wrong = workos.post(roles_path(), json=body, headers={**key, "Authorization": "Bearer x"})
    assert wrong.status_code == 401
    server.script({"status": 429, "retry_after": "0", "face": "workos"})
    assert workos.post(roles_path(), json=body, headers=key).status_code == 429
    created = workos.post(roles_path(), json=body, headers=key)
    assert created.status_code == 201  # neither the 401 nor the 429 was kept for the key
    assert workos.post(roles_path(), json=body, headers=key).content == created.content
    other = workos.post(roles_path(), json={"slug": "org-b", "name": "B"}, headers=key)
    assert other.content == created.content  # the key's first answer, whatever is sent
    assert (ORG, "org-b") not in server.roles()
    # A key is one POST's: a PATCH or a DELETE with one is carried out each time.
    patch = {"Idempotency-Key": "k-2"}
    assert workos.patch(roles_path(slug="org-a"), json={"name": "B"}, headers=patch).is_success
    assert workos.delete(roles_path(slug="org-a"), headers=patch).status_code == 204
    assert workos.delete(roles_path(slug="org-a"), headers=patch).status_code == 404
    server.reset()  # forgets the keys with the roles
    assert workos.post(roles_path(), json=body, headers=key).status_code == 201


def test_the_oldest_keys_are_forgotten_first() -> None:
    replays = Replays()
    runs: list[int] = []

    def run(n: int) -> Answer:
        runs.append(n)
        return Answer(201, str(n).encode())

    for n in range(KEPT + 1):
        replays.answer(f"k-{n}", functools.partial(run, n))
    assert replays.answer(f"k-{KEPT}", lambda: run(-1)).content == str(KEPT).encode()
    assert replays.answer("k-0", lambda: run(-2)).content == b"-2"  # forgotten: run again
    assert runs[-1] == -2
    assert len(runs) == KEPT + 2


# --- faults, counting --------------------------------------------------------------------


def test_requests_are_counted_and_recorded_per_face(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    upsert(karmo, "org-admin", "Admin")
    workos.get(roles_path())
    workos.get(roles_path(slug="org-admin"))
    stats = server.stats()
    assert (stats["requests"], stats["workos_requests"]) == (1, 2)
    assert (stats["status_201"], stats["workos_status_200"]) == (1, 2)
    assert "status_200" not in stats
    assert [(r["face"], r["method"], r["path"]) for r in server.requests()] == [
        ("karmo", "PUT", f"/auth-api/organizations/{ORG}/roles/org-admin"),
        ("workos", "GET", roles_path()),
        ("workos", "GET", roles_path(slug="org-admin")),
    ]


def test_the_rate_limit_share_answers_429_with_retry_after(
    server: SandboxServer, workos: httpx.Client
) -> None:
    server.set_faults(rate_limit_share=1.0, retry_after="2")
    answer = workos.get(roles_path())
    assert_workos_error(answer, 429, "rate_limit_exceeded")
    assert answer.headers["Retry-After"] == "2"
    assert server.stats()["workos_status_429"] == 1


def test_the_error_share_answers_a_proxys_page(server: SandboxServer, workos: httpx.Client) -> None:
    server.set_faults(error_share=1.0, error_status=503)
    answer = workos.get(roles_path())
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "text/html"


def test_latency_applies_to_the_workos_face(server: SandboxServer, workos: httpx.Client) -> None:
    # Shown by a client timeout shorter than the latency, not by timing the answer.
    server.set_faults(latency_ms=2000)
    with pytest.raises(httpx.ReadTimeout):
        workos.get(roles_path(), timeout=0.2)
    server.set_faults(latency_ms=0)
    assert workos.get(roles_path()).status_code == 200


def test_faults_can_target_one_face(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    server.set_faults(rate_limit_share=1.0, face="workos")
    assert karmo.put(f"/organizations/{ORG}/roles/org-a", json={"name": "A"}).status_code == 201
    assert workos.get(roles_path()).status_code == 429
    server.set_faults(face="karmo")
    assert karmo.put(f"/organizations/{ORG}/roles/org-a", json={"name": "A"}).status_code == 429
    assert workos.get(roles_path()).status_code == 200


def test_a_fault_for_an_unknown_face_is_refused(server: SandboxServer) -> None:
    with pytest.raises(ValueError, match="face must be one of"):
        server.set_faults(face="okta")


def test_scripted_answers_take_the_workos_shape_and_may_target_a_face(
    server: SandboxServer, karmo: httpx.Client, workos: httpx.Client
) -> None:
    server.script(
        {"status": 500, "face": "workos"},
        {"status": 429, "retry_after": "0", "face": "workos", "code": "slow_down"},
        {"action": "pass", "face": "workos"},
    )
    # A Karmo request does not take an answer meant for WorkOS.
    assert karmo.put(f"/organizations/{ORG}/roles/org-a", json={"name": "A"}).status_code == 201
    assert_workos_error(workos.get(roles_path()), 500, "internal_server_error")
    limited = workos.get(roles_path())
    assert_workos_error(limited, 429, "slow_down")
    assert limited.headers["Retry-After"] == "0"
    assert workos.get(roles_path()).status_code == 200
    # Without a face, the next request of either face takes it, in its own shape.
    server.script({"status": 503})
    assert_workos_error(workos.get(roles_path()), 503, "service_unavailable")


def test_each_face_has_its_own_rate_limit_window() -> None:
    now = [100.0]
    with SandboxServer(KARMO_TOKEN, workos_api_key=WORKOS_KEY, clock=lambda: now[0]) as server:
        server.set_faults(rate_limit_rps=2)
        headers = {"Authorization": f"Bearer {WORKOS_KEY}"}
        with (
            httpx.Client(base_url=server.workos_url, headers=headers, trust_env=False) as workos,
            httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {KARMO_TOKEN}"},
                trust_env=False,
            ) as karmo,
        ):
            statuses = [workos.get(roles_path()).status_code for _ in range(3)]
            karmo_status = karmo.put(f"/organizations/{ORG}/roles/org-a", json={"name": "A"})
            limited = workos.get(roles_path())
            now[0] += 1.0
            later = workos.get(roles_path()).status_code
    assert statuses == [200, 200, 429]
    assert karmo_status.status_code == 201
    assert_workos_error(limited, 429, "rate_limit_exceeded")
    assert limited.headers["Retry-After"] == "1"  # whole seconds, as WorkOS's SDKs read it
    assert later == 200


def test_our_reader_waits_the_whole_seconds_the_window_asks_for() -> None:
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the reader's wait moves the sandbox's clock
        waits.append(seconds)
        now[0] += seconds

    with SandboxServer(KARMO_TOKEN, workos_api_key=WORKOS_KEY, clock=lambda: now[0]) as server:
        server.set_faults(rate_limit_rps=1)
        headers = {"Authorization": f"Bearer {WORKOS_KEY}"}
        with httpx.Client(base_url=server.workos_url, headers=headers, trust_env=False) as c:
            assert c.get(roles_path()).status_code == 200  # the window is full
        now[0] += 0.25
        with Session(retry_policy=RetryPolicy(max_retries=1), sleep=sleep) as session:
            roles = WorkOSReader(server.workos_url, WORKOS_KEY, session=session).roles(ORG)
        statuses = {k: v for k, v in server.stats().items() if k.startswith("workos_status")}
    assert roles == []
    assert waits == [1.0]  # the window freed in 0.75 s; WorkOS's SDKs read whole seconds
    assert statuses == {"workos_status_200": 2, "workos_status_429": 1}


def test_an_unusable_content_length_gets_a_workos_400(server: SandboxServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(
            f"PATCH {roles_path(slug='org-a')} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {WORKOS_KEY}\r\nContent-Length: abc\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert json.loads(body)["code"] == "invalid_request"


# --- WorkOS's limits on the Karmo face ---------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "name", "pointer"),
    [
        ("org-admin", "N" * 49, "/name"),
        ("org-admin-", "Admin", "/slug"),
        ("org--admin", "Admin", "/slug"),
        ("org-a__b", "Admin", "/slug"),
        ("org-" + "a" * 45, "Admin", "/slug"),
    ],
)
def test_workos_mode_refuses_what_workos_would(
    server: SandboxServer, karmo: httpx.Client, slug: str, name: str, pointer: str
) -> None:
    assert server.access_provider == "workos"  # the default
    answer = karmo.put(f"/organizations/{ORG}/roles/{slug}", json={"name": name})
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert error["pointer"] == pointer
    assert "WorkOS's" in error["detail"]
    assert server.roles() == {}


def test_workos_mode_accepts_the_boundaries(karmo: httpx.Client, workos: httpx.Client) -> None:
    slug = "org-a_b-" + "c" * 40
    assert len(slug) == 48
    upsert(karmo, slug, "N" * 48)
    assert workos.get(roles_path(slug=slug)).json()["name"] == "N" * 48


def test_generic_mode_applies_karmos_rules_alone() -> None:
    with (
        SandboxServer(KARMO_TOKEN, access_provider="generic", workos_api_key=WORKOS_KEY) as server,
        httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {KARMO_TOKEN}"},
            trust_env=False,
        ) as karmo,
    ):
        assert server.access_provider == "generic"
        for slug, name in [("org-admin", "N" * 49), ("org-admin-", "A"), ("org-a__b", "A")]:
            answer = karmo.put(f"/organizations/{ORG}/roles/{slug}", json={"name": name})
            assert answer.status_code == 201
        refused = karmo.put(f"/organizations/{ORG}/roles/org-b", json={"name": "N" * 256})
        assert refused.status_code == 422
        assert server.roles()[(ORG, "org-admin")][1] == "N" * 49


def test_an_unknown_access_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="access_provider must be one of workos, generic"):
        SandboxServer(KARMO_TOKEN, access_provider="okta")


# --- the command line ----------------------------------------------------------------------


def test_the_command_line_serves_both_faces_in_the_chosen_mode() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pulumi_karmo_roles.sandbox",
            "--port",
            "0",
            "--token",
            KARMO_TOKEN,
            "--prefix",
            "/auth-api",
            "--workos-api-key",
            WORKOS_KEY,
            "--access-provider",
            "generic",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        workos_line = process.stdout.readline()
        assert workos_line.startswith("workos face at http://127.0.0.1:")
        assert WORKOS_KEY not in workos_line
        workos_url = workos_line.split()[-1]
        assert url == workos_url + "/auth-api"
        put = httpx.put(
            f"{url}/organizations/{ORG}/roles/org-admin-",
            json={"name": "N" * 49},
            headers={"Authorization": f"Bearer {KARMO_TOKEN}"},
            trust_env=False,
        )
        assert put.status_code == 201  # generic: Karmo's rules alone
        read = httpx.get(
            workos_url + roles_path(slug="org-admin-"),
            headers={"Authorization": f"Bearer {WORKOS_KEY}"},
            trust_env=False,
        )
        assert (read.status_code, read.json()["id"]) == (200, put.json()["id"])
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
