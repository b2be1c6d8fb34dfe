"""Read-back from WorkOS (``karmo:workosApiKey``): what WorkOS really holds reaches
``refresh`` and ``OrganizationRole.get``, over the same session as Karmo's writes, with
the same bounds and redaction; against the sandbox's WorkOS face, directly and through
``python -m pulumi.dynamic``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles._http.workos import WorkOSReader
from pulumi_karmo_roles.errors import (
    AuthenticationError,
    InputError,
    InternalServerError,
    KarmoError,
    PermissionDeniedError,
    RateLimitError,
)
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.concurrency import run_concurrently
from tests.support.dashboard import Dashboard
from tests.support.harness import EngineError, ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import ENCODINGS, TOKEN, WORKOS_KEY
from tests.support.servers import HostileServer, Reply, Seen

ROLE = {"organization_id": "org_1", "slug": "org-admin", "name": "Admin"}
LIST_PATH = "/authorization/organizations/org_1/roles"


@pytest.fixture
def clients(sandbox: SandboxServer) -> Iterator[tuple[KarmoClient, WorkOSReader]]:
    """A Karmo client and a WorkOS reader over one session, no waits between retries."""
    waits: list[float] = []
    session = Session(retry_policy=RetryPolicy(max_retries=3), sleep=waits.append)
    karmo = KarmoClient(sandbox.url, TOKEN, session=session)
    reader = WorkOSReader(sandbox.workos_url, WORKOS_KEY, session=session)
    yield karmo, reader
    session.close()


def read_back_provider(sandbox: SandboxServer, **config: str) -> OrganizationRoleProvider:
    return configured_provider(
        sandbox.url,
        {"karmo:workosApiKey": WORKOS_KEY, "karmo:workosApiUrl": sandbox.workos_url, **config},
    )


# The reader -------------------------------------------------------------------------------


def test_the_reader_sees_what_karmo_wrote_and_what_the_dashboard_changed(
    sandbox: SandboxServer, clients: tuple[KarmoClient, WorkOSReader]
) -> None:
    karmo, reader = clients
    upserted = karmo.upsert_role("org_1", "org-admin", "Admin")
    karmo.set_role_permissions("org_1", "org-admin", ["b:read", "a:write"])
    role = reader.role("org_1", "org-admin")
    assert role is not None
    assert (role.role_id, role.name, role.permissions) == (
        upserted.role_id,
        "Admin",
        ("a:write", "b:read"),
    )
    Dashboard(sandbox).rename("org_1", "org-admin", "Renamed")
    fresh = WorkOSReader(sandbox.workos_url, WORKOS_KEY, session=reader.session)
    renamed = fresh.role("org_1", "org-admin")
    assert renamed is not None
    assert renamed.name == "Renamed"


def test_reads_of_many_roles_share_one_list_per_organization(
    sandbox: SandboxServer, clients: tuple[KarmoClient, WorkOSReader]
) -> None:
    karmo, reader = clients
    for i in range(200):
        karmo.upsert_role(f"org_{i % 2}", f"org-r{i}", f"R {i}")
    sandbox.reset_requests()
    found: dict[int, str] = {}

    def read(i: int) -> None:
        role = reader.operation().role(f"org_{i % 2}", f"org-r{i}")
        assert role is not None
        found[i] = role.name

    assert run_concurrently(read, 200) == []
    assert found == {i: f"R {i}" for i in range(200)}
    workos = [r for r in sandbox.requests() if r["face"] == "workos"]
    assert [r["method"] for r in workos] == ["GET", "GET"]  # one list per organization


def test_a_role_missing_from_the_list_is_asked_for_alone_before_it_is_gone(
    sandbox: SandboxServer, clients: tuple[KarmoClient, WorkOSReader]
) -> None:
    karmo, reader = clients
    karmo.upsert_role("org_1", "org-a", "A")
    assert reader.role("org_1", "org-gone") is None
    paths = [r["path"] for r in sandbox.requests() if r["face"] == "workos"]
    assert paths == [
        "/authorization/organizations/org_1/roles",
        "/authorization/organizations/org_1/roles/org-gone",
    ]


def test_an_environment_role_is_a_clear_error(
    sandbox: SandboxServer, clients: tuple[KarmoClient, WorkOSReader]
) -> None:
    _, reader = clients
    sandbox.add_environment_role("org-member", "Member")
    with pytest.raises(InputError) as caught:
        reader.role("org_1", "org-member")
    assert str(caught.value) == (
        "slug 'org-member' names a WorkOS EnvironmentRole in organization 'org_1', not an "
        "organization role: Karmo's organization roles cannot use it. Choose another slug."
    )
    assert reader.roles("org_1") == []  # environment roles are left out of a listing


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, AuthenticationError, "check `karmo:workosApiKey` (or WORKOS_API_KEY)"),
        (
            403,
            PermissionDeniedError,
            "set `karmo:workosApiKey` (or WORKOS_API_KEY) to a key of this",
        ),
    ],
)
def test_401_and_403_say_which_key_to_check(
    sandbox: SandboxServer,
    clients: tuple[KarmoClient, WorkOSReader],
    status: int,
    error: type[KarmoError],
    words: str,
) -> None:
    _, reader = clients
    sandbox.script({"status": status, "face": "workos"})
    with pytest.raises(error) as caught:
        reader.role("org_1", "org-admin")
    text = str(caught.value)
    assert text.startswith(
        f"WorkOS rejected GET /authorization/organizations/org_1/roles: {status}"
    )
    assert words in text
    assert "karmo:token" not in text


def test_a_wrong_key_is_a_401_that_names_the_key(sandbox: SandboxServer) -> None:
    with Session(retry_policy=RetryPolicy(max_retries=0)) as session:
        reader = WorkOSReader(sandbox.workos_url, "sk_test_wrong_key_123", session=session)
        with pytest.raises(AuthenticationError, match="karmo:workosApiKey"):
            reader.roles("org_1")


def test_429_and_5xx_are_retried_within_the_deadline(
    sandbox: SandboxServer, clients: tuple[KarmoClient, WorkOSReader]
) -> None:
    karmo, reader = clients
    karmo.upsert_role("org_1", "org-admin", "Admin")
    sandbox.script(
        {"status": 429, "retry_after": "1", "face": "workos"},
        {"status": 502, "body": "html", "face": "workos"},
    )
    role = reader.role("org_1", "org-admin")
    assert role is not None
    assert sandbox.stats()["workos_requests"] == 3
    sandbox.script(*[{"status": 503, "body": "html", "face": "workos"}] * 4)
    with pytest.raises(InternalServerError, match="WorkOS failed on its side"):
        WorkOSReader(sandbox.workos_url, WORKOS_KEY, session=reader.session).roles("org_2")


def test_the_deadline_bounds_a_read(sandbox: SandboxServer) -> None:
    policy = RetryPolicy(max_retries=10, deadline=2.0)
    with Session(retry_policy=policy) as session:
        reader = WorkOSReader(sandbox.workos_url, WORKOS_KEY, session=session)
        sandbox.script(*[{"status": 429, "retry_after": "1.5", "face": "workos"}] * 5)
        with pytest.raises(RateLimitError, match="retry deadline"):
            reader.roles("org_1")


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_the_key_echoed_in_any_encoding_is_never_shown(encoding: str) -> None:
    def reply(seen: Seen) -> Reply:
        key = seen.headers["authorization"].removeprefix("Bearer ")
        said = json.dumps({"message": f"bad key {ENCODINGS[encoding](key)}", "code": "x"})
        return Reply(401, {"X-Request-ID": ENCODINGS[encoding](key)}, said.encode())

    with HostileServer(reply) as server, Session(max_retries=0) as session:
        reader = WorkOSReader(server.url, WORKOS_KEY, session=session)
        with pytest.raises(AuthenticationError) as caught:
            reader.roles("org_1")
    for encode in ENCODINGS.values():
        assert encode(WORKOS_KEY) not in str(caught.value)
    assert "***" in str(caught.value)


def test_a_karmo_error_never_shows_the_workos_key_either(sandbox: SandboxServer) -> None:
    # One session redacts every credential it holds, whichever server echoes it.
    def reply(seen: Seen) -> Reply:
        return Reply(500, {}, f"<pre>{WORKOS_KEY} {TOKEN}</pre>".encode())

    with HostileServer(reply) as server, Session(max_retries=0) as session:
        WorkOSReader(server.url, WORKOS_KEY, session=session)
        karmo = KarmoClient(server.url, TOKEN, session=session)
        with pytest.raises(InternalServerError) as caught:
            karmo.upsert_role("org_1", "org-a", "A")
    assert WORKOS_KEY not in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_text_no_rule_accepts_keeps_no_key_and_no_control_character(
    sandbox: SandboxServer,
) -> None:
    # Everything else is kept as it is (tests/test_exact_text.py): such a name differs
    # from every declared one, so the next `pulumi up` corrects it.
    body = {
        "object": "list",
        "data": [
            {
                "object": "role",
                "id": "role_01X",
                "slug": "org-a",
                "name": "evil\x1b[2J\u202e" + WORKOS_KEY + "x" * 1000,
                "type": "OrganizationRole",
                "permissions": ["a:b", "c\nd"],
            }
        ],
    }
    with (
        HostileServer(lambda seen: Reply(200, {}, json.dumps(body).encode())) as server,
        Session(max_retries=0) as session,
    ):
        role = WorkOSReader(server.url, WORKOS_KEY, session=session).role("org_1", "org-a")
    assert role is not None
    assert role.name == ("evil\\x1b[2J\u202e***" + "x" * 1000)[:256]
    assert WORKOS_KEY not in role.name
    assert role.permissions == ("a:b", "c\\nd")
    assert role.altered == "name holds a credential in use (shown as ***)"


# The provider ---------------------------------------------------------------------------


def created(provider: OrganizationRoleProvider, **props: Any) -> dict[str, Any]:
    result = provider.create({**ROLE, **props})
    assert result.outs is not None
    return dict(result.outs)


def test_refresh_reads_back_name_role_id_and_managed_permissions(sandbox: SandboxServer) -> None:
    provider = read_back_provider(sandbox)
    outs = created(provider, permissions=["a:read"])
    dashboard = Dashboard(sandbox)
    dashboard.rename("org_1", "org-admin", "Renamed in the dashboard")
    dashboard.set_permissions("org_1", "org-admin", ["a:read", "z:everything"])
    result = read_back_provider(sandbox).read("org_1/org-admin", outs)
    assert result.id == "org_1/org-admin"
    assert result.outs is not None
    assert result.outs["name"] == "Renamed in the dashboard"
    assert result.outs["permissions"] == ["a:read", "z:everything"]
    assert result.outs["role_id"] == outs["role_id"]
    # Later diffs compare against what WorkOS holds: a preview shows the way back.
    assert result.inputs == {
        "organization_id": "org_1",
        "slug": "org-admin",
        "name": "Renamed in the dashboard",
        "permissions": ["a:read", "z:everything"],
    }
    diff = provider.diff("org_1/org-admin", result.outs, {**ROLE, "permissions": ["a:read"]})
    assert diff.changes is True
    assert diff.replaces == []


def test_unmanaged_permissions_stay_unmanaged(sandbox: SandboxServer) -> None:
    provider = read_back_provider(sandbox)
    outs = created(provider)
    Dashboard(sandbox).set_permissions("org_1", "org-admin", ["x:y"])
    result = read_back_provider(sandbox).read("org_1/org-admin", outs)
    assert result.outs is not None
    assert result.outs["permissions"] is None
    assert result.inputs is not None
    assert "permissions" not in result.inputs
    assert provider.diff("org_1/org-admin", result.outs, ROLE).changes is False


def test_a_role_deleted_in_the_dashboard_is_gone_from_the_state(sandbox: SandboxServer) -> None:
    provider = read_back_provider(sandbox)
    outs = created(provider)
    Dashboard(sandbox).delete("org_1", "org-admin")
    result = read_back_provider(sandbox).read("org_1/org-admin", outs)
    assert not result.id


def test_without_a_key_refresh_keeps_the_state_and_says_so_once(
    engine: ProviderProcess, sandbox: SandboxServer
) -> None:
    _, outs = engine.create(ROLE)
    Dashboard(sandbox).rename("org_1", "org-admin", "Renamed")
    for _ in range(3):
        _, read = engine.read("org_1/org-admin", outs)
        assert read["name"] == "Admin"
    notices = [line for line in engine.stderr().splitlines() if "no read endpoint" in line]
    assert notices == [
        "info: Karmo has no read endpoint: refresh keeps what the state recorded, so a role "
        "renamed, changed or deleted in WorkOS is not visible; set `karmo:workosApiKey` (as a "
        "secret) to read roles back from WorkOS."
    ]
    assert not [r for r in sandbox.requests() if r["face"] == "workos" and r["method"] == "GET"]


def test_a_new_configuration_replaces_the_reader(sandbox: SandboxServer) -> None:
    # The reader is built once per configuration: configuring again (without the key)
    # must drop it, not keep reading WorkOS with the old settings.
    provider = read_back_provider(sandbox)
    outs = created(provider)
    Dashboard(sandbox).rename("org_1", "org-admin", "Renamed")
    read = provider.read("org_1/org-admin", outs)
    assert (read.outs or {})["name"] == "Renamed"
    stack = {"karmo:token": TOKEN, "karmo:maxRetries": "0", "karmo:apiUrl": sandbox.url}
    provider.configure(ConfigureRequest(Config(stack, "karmo-test")))
    read = provider.read("org_1/org-admin", outs)
    assert (read.outs or {})["name"] == "Admin"  # what the state recorded: no read-back


def test_get_returns_the_real_role(sandbox: SandboxServer) -> None:
    provider = read_back_provider(sandbox)
    outs = created(provider, permissions=["a:read"])
    got = read_back_provider(sandbox).read("org_1/org-admin", {"name": "whatever"})
    assert got.outs is not None
    assert got.outs["role_id"] == outs["role_id"]
    assert (got.outs["name"], got.outs["permissions"]) == ("Admin", ["a:read"])
    with pytest.raises(InputError, match="WorkOS has no organization role 'org-none'"):
        read_back_provider(sandbox).read("org_1/org-none", {})


def test_read_back_through_the_engine(sandbox: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure(
            {
                "karmo:apiUrl": sandbox.url,
                "karmo:token": TOKEN,
                "karmo:workosApiKey": WORKOS_KEY,
                "karmo:workosApiUrl": sandbox.workos_url,
            }
        )
        _, outs = process.create({**ROLE, "permissions": ["a:read"]})
        Dashboard(sandbox).rename("org_1", "org-admin", "Renamed")
        id_, read = process.read("org_1/org-admin", outs)
        assert (id_, read["name"]) == ("org_1/org-admin", "Renamed")
        Dashboard(sandbox).delete("org_1", "org-admin")
        # The list answer is shared within a process: a new one sees the delete.
        other = ProviderProcess()
        try:
            other.configure(
                {"karmo:workosApiKey": WORKOS_KEY, "karmo:workosApiUrl": sandbox.workos_url}
            )
            gone, _ = other.read("org_1/org-admin", outs)
            assert gone == ""
            sandbox.add_environment_role("org-env", "Environment")
            with pytest.raises(EngineError) as caught:
                other.read("org_2/org-env", {**outs, "slug": "org-env"})
            assert caught.value.message.startswith("pulumi_karmo_roles.errors.InputError: slug")
        finally:
            leaked = WORKOS_KEY in other.stderr()
            other.close()
        assert not leaked
        assert WORKOS_KEY not in process.stderr()


def test_the_key_is_never_in_the_serialized_provider_or_outputs(sandbox: SandboxServer) -> None:
    import base64

    from pulumi.dynamic.dynamic import serialize_provider

    provider = read_back_provider(sandbox)
    outs = created(provider)
    read = provider.read("org_1/org-admin", outs)
    assert WORKOS_KEY not in json.dumps([outs, read.outs, read.inputs])
    assert WORKOS_KEY.encode() not in base64.b64decode(serialize_provider(provider))


def test_reads_go_through_the_proxy_variables(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.servers import Proxy

    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as karmo:
        karmo.upsert_role("org_1", "org-admin", "Admin")
    with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with Session(max_retries=0) as session:
            role = WorkOSReader(sandbox.workos_url, WORKOS_KEY, session=session).role(
                "org_1", "org-admin"
            )
    assert role is not None
    assert proxy.seen == [f"GET {sandbox.workos_url}/authorization/organizations/org_1/roles"]
