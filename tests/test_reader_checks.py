"""The WorkOS reader checks what it is given: a single-role answer is the role asked for,
a list holds each slug once, every role has a known type; a 404 says whether WorkOS
answered it; and coalesced list reads clean up on every failure, wait within a bound, and
never hand another thread's interrupt to the threads that waited. Against the sandbox's
WorkOS face and hostile loopback servers; the provider directly and through
``python -m pulumi.dynamic``; ``karmo-roles discover``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping

import pytest

from pulumi_karmo_roles._discover import main
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles._http.workos import WorkOSReader
from pulumi_karmo_roles.errors import (
    APIError,
    APITimeoutError,
    InputError,
    InvalidResponseError,
    KarmoError,
    NotFoundError,
)
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import EngineError, ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN, WORKOS_KEY
from tests.support.servers import HostileServer, Reply, Seen

LIST = "/authorization/organizations/org_1/roles"


def role(slug: str, name: str = "R", **more: object) -> dict[str, object]:
    return {
        "object": "role",
        "id": f"role_{slug.replace('-', '_')}",
        "slug": slug,
        "name": name,
        "description": None,
        "type": "OrganizationRole",
        "permissions": [],
        **more,
    }


def listing(*roles: Mapping[str, object]) -> bytes:
    return json.dumps({"object": "list", "data": list(roles)}).encode()


def answers(by_path: dict[str, tuple[int, bytes]]) -> Callable[[Seen], Reply]:
    """A server that answers each path as given (404 with an HTML page elsewhere)."""

    def reply(seen: Seen) -> Reply:
        status, body = by_path.get(seen.target, (404, b"<html><h1>Not Found</h1></html>"))
        return Reply(status, {"Content-Type": "application/json"}, body)

    return reply


def reader_of(url: str, session: Session) -> WorkOSReader:
    return WorkOSReader(url, WORKOS_KEY, session=session)


# A single-role answer is the role asked for --------------------------------------------

SUPERADMIN = role("org-superadmin", "Super Admin", permissions=["*"])


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (SUPERADMIN, "org-superadmin"),  # another role
        (role("org-Viewer"), "org-Viewer"),  # not exactly the slug asked for
        ({k: v for k, v in role("org-viewer").items() if k != "type"}, "not a role"),
        (role("org-viewer", type="SomethingElse"), "SomethingElse"),
    ],
)
def test_a_single_role_answer_must_be_the_role_asked_for(
    answer: dict[str, object], said: str
) -> None:
    paths = {LIST: (200, listing()), f"{LIST}/org-viewer": (200, json.dumps(answer).encode())}
    with HostileServer(answers(paths)) as server, Session(max_retries=0) as session:
        with pytest.raises(InvalidResponseError) as caught:
            reader_of(server.url, session).role("org_1", "org-viewer")
    text = str(caught.value)
    assert text.startswith(f"WorkOS answered GET {LIST}/org-viewer with 200 but not ")
    assert said in text


def test_the_provider_never_records_another_role_directly_or_through_the_engine() -> None:
    paths = {LIST: (200, listing()), f"{LIST}/org-viewer": (200, json.dumps(SUPERADMIN).encode())}
    outs = {
        "organization_id": "org_1",
        "slug": "org-viewer",
        "name": "Viewer",
        "permissions": [],
        "role_id": "role_v",
    }
    config = {"karmo:workosApiKey": WORKOS_KEY, "karmo:maxRetries": "0"}
    with HostileServer(answers(paths)) as server:
        config["karmo:workosApiUrl"] = server.url
        with pytest.raises(InvalidResponseError):
            configured_provider(None, config).read("org_1/org-viewer", outs)
        with ProviderProcess() as process:
            process.configure(config)
            with pytest.raises(EngineError) as caught:
                process.read("org_1/org-viewer", outs)
    assert "InvalidResponseError: WorkOS answered GET" in caught.value.message
    assert "org-superadmin" in caught.value.message


def test_an_environment_role_answered_alone_is_still_a_clear_input_error() -> None:
    environment = role("org-member", type="EnvironmentRole")
    paths = {LIST: (200, listing()), f"{LIST}/org-member": (200, json.dumps(environment).encode())}
    with HostileServer(answers(paths)) as server, Session(max_retries=0) as session:
        with pytest.raises(InputError, match="names a WorkOS EnvironmentRole"):
            reader_of(server.url, session).role("org_1", "org-member")


# A list holds each slug once -------------------------------------------------------------


def test_a_slug_listed_twice_is_an_invalid_answer_for_every_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    twice = listing(role("org-a", "First"), role("org-b"), role("org-a", "Second"))
    with HostileServer(answers({LIST: (200, twice)})) as server:
        reads: list[Callable[[WorkOSReader], object]] = [
            lambda reader: reader.role("org_1", "org-a"),
            lambda reader: reader.role("org_1", "org-b"),
            lambda reader: reader.roles("org_1"),
        ]
        for read in reads:
            with Session(max_retries=0) as session, pytest.raises(InvalidResponseError) as caught:
                read(reader_of(server.url, session))
            assert "(it holds the slug 'org-a' twice)" in str(caught.value)
        monkeypatch.setenv("WORKOS_API_KEY", WORKOS_KEY)
        monkeypatch.setenv("WORKOS_API_URL", server.url)
        monkeypatch.setenv("KARMO_MAX_RETRIES", "0")
        assert main(["discover", "--organization", "org_1"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("karmo-roles: error: WorkOS answered GET ")
    assert "the slug 'org-a' twice" in line


def test_a_role_of_unknown_type_in_a_list_is_an_invalid_answer() -> None:
    odd = listing(role("org-a"), role("org-b", type="GroupRole"))
    with HostileServer(answers({LIST: (200, odd)})) as server, Session(max_retries=0) as session:
        with pytest.raises(InvalidResponseError, match="unknown type 'GroupRole'"):
            reader_of(server.url, session).roles("org_1")


# 404: WorkOS's, or not -----------------------------------------------------------------


def test_a_404_from_workos_names_the_organization() -> None:
    with (
        SandboxServer(TOKEN, workos_api_key=WORKOS_KEY, organizations=["org_1"]) as only_one,
        Session(max_retries=0) as session,
        pytest.raises(NotFoundError) as caught,
    ):
        reader_of(only_one.workos_url, session).roles("org_2")
    assert str(caught.value) == (
        "WorkOS rejected GET /authorization/organizations/org_2/roles: 404 NOT_FOUND (code "
        "entity_not_found): Organization not found: 'org_2'. WorkOS does not know this "
        "organization: check `organization_id` and that `karmo:workosApiKey` (or "
        "WORKOS_API_KEY) is a key of its WorkOS environment. [request id "
        f"{caught.value.request_id}]"
    )


@pytest.mark.parametrize("where", ["a wrong path", "a proxy's page"])
def test_a_404_that_is_not_workos_s_points_at_the_url_setting(
    sandbox: SandboxServer, where: str
) -> None:
    with Session(max_retries=0) as session:
        if where == "a wrong path":
            reader = reader_of(sandbox.workos_url + "/v2", session)
            with pytest.raises(NotFoundError) as caught:
                reader.roles("org_1")
        else:
            with HostileServer(answers({})) as server, pytest.raises(NotFoundError) as caught:
                reader_of(server.url, session).roles("org_1")
    text = str(caught.value)
    assert "check that `karmo:workosApiUrl` (or WORKOS_API_URL) is WorkOS's API" in text
    assert "WorkOS does not know this organization" not in text


def test_a_missing_role_is_gone_only_when_workos_says_so(sandbox: SandboxServer) -> None:
    with Session(max_retries=0) as session:
        assert reader_of(sandbox.workos_url, session).role("org_1", "org-gone") is None
    # The list answered, but the single read's 404 is a proxy's page: not "gone".
    with HostileServer(answers({LIST: (200, listing())})) as server:
        with Session(max_retries=0) as session, pytest.raises(NotFoundError) as caught:
            reader_of(server.url, session).role("org_1", "org-gone")
    assert "karmo:workosApiUrl" in str(caught.value)


# Coalesced list reads ---------------------------------------------------------------


def test_an_organization_id_that_cannot_be_sent_is_an_input_error_and_blocks_nothing(
    sandbox: SandboxServer,
) -> None:
    undecodable = b"\xff".decode("utf-8", "surrogateescape")  # what argv gives for $'\xff'
    with Session(max_retries=0) as session:
        reader = reader_of(sandbox.workos_url, session)
        for _ in range(2):  # the second read does not wait for a first that never ended
            with pytest.raises(InputError, match="unpaired surrogate U\\+DCFF"):
                reader.roles(undecodable)
        assert reader.roles("org_1") == []


def test_discover_says_so_in_one_line(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKOS_API_KEY", WORKOS_KEY)
    monkeypatch.setenv("WORKOS_API_URL", sandbox.workos_url)
    # Refused as a usage error (status 2), before anything is read.
    unsendable = b"\xff".decode("utf-8", "surrogateescape")
    assert main(["discover", "--organization", unsendable]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("karmo-roles: error: ")
    assert "Traceback" not in line


class Stalled:
    """A session ``sleep`` that holds the thread reading the list (it retries a 503) until
    released, then does ``then``."""

    def __init__(self, then: Callable[[], None] = lambda: None) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.then = then

    def __call__(self, seconds: float) -> None:
        self.entered.set()
        assert self.release.wait(30)
        self.then()


def first_503_then(body: bytes) -> Callable[[Seen], Reply]:
    seen: list[str] = []

    def reply(request: Seen) -> Reply:
        seen.append(request.target)
        if len(seen) == 1:
            return Reply(503, {}, b"busy")
        return Reply(200, {"Content-Type": "application/json"}, body)

    return reply


def waiting(reader: WorkOSReader, count: int) -> None:
    """Until ``count`` threads wait for org_1's list (bounded: the test fails otherwise)."""
    for _ in range(3000):
        pending = reader._lists.get("org_1")
        if pending is not None and pending.waiting >= count:
            return
        time.sleep(0.01)
    raise AssertionError("the readers never waited")


def read_in_threads(
    reader: WorkOSReader, count: int
) -> tuple[list[threading.Thread], list[object]]:
    outcomes: list[object] = []

    def read() -> None:
        try:
            outcomes.append(reader.operation().roles("org_1"))
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=read, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_an_interrupt_in_the_reading_thread_stays_there() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    stalled = Stalled(then=interrupt)
    policy = RetryPolicy(max_retries=1)
    with (
        HostileServer(first_503_then(listing(role("org-a")))) as server,
        Session(retry_policy=policy, sleep=stalled) as session,
    ):
        reader = reader_of(server.url, session)
        fetcher, fetched = read_in_threads(reader, 1)
        assert stalled.entered.wait(30)
        threads, outcomes = read_in_threads(reader, 3)
        waiting(reader, 3)
        stalled.release.set()
        for thread in [*fetcher, *threads]:
            thread.join(30)
        assert isinstance(fetched[0], KeyboardInterrupt)  # where it happened
        assert len(outcomes) == 3
        for outcome in outcomes:
            assert type(outcome) is APIError, outcome
            assert str(outcome) == (
                f"WorkOS's answer to GET {LIST} was being read for another operation, which "
                "stopped (KeyboardInterrupt) before it had it. Run the command again."
            )
        # The entry is gone: the next read asks again (and gets the list).
        assert [r.slug for r in reader.roles("org_1")] == ["org-a"]


def test_a_read_waits_for_another_at_most_until_its_own_deadline() -> None:
    # The session's clock stands still until the fetching thread is released, so its
    # retry is never refused for time a loaded machine spent on the first attempt; then
    # it jumps past the deadline, as if the thread had been held that long.
    now = [0.0]

    def jump() -> None:
        now[0] += 10.0

    stalled = Stalled(then=jump)
    policy = RetryPolicy(max_retries=1, deadline=0.5)
    with (
        HostileServer(first_503_then(listing(role("org-a")))) as server,
        Session(retry_policy=policy, sleep=stalled, clock=lambda: now[0]) as session,
    ):
        reader = reader_of(server.url, session)
        fetcher, fetched = read_in_threads(reader, 1)
        assert stalled.entered.wait(30)
        threads, outcomes = read_in_threads(reader, 1)
        threads[0].join(10)  # the fetching thread is still held: only the bound ends this
        alive = threads[0].is_alive()
        stalled.release.set()
        fetcher[0].join(30)
    assert not alive
    assert isinstance(outcomes[0], APITimeoutError)
    assert "within the 0.5 s retry deadline" in str(outcomes[0])
    assert isinstance(fetched[0], APITimeoutError)  # held past its deadline too


def test_every_failure_of_the_reading_thread_reaches_its_waiters() -> None:
    with (
        HostileServer(answers({LIST: (200, b"{not json")})) as server,
        Session(max_retries=0) as session,
    ):
        reader = reader_of(server.url, session)
        for _ in range(2):  # not kept: each read asks again
            with pytest.raises(InvalidResponseError):
                reader.roles("org_1")
        assert "org_1" not in reader._lists
    assert issubclass(InvalidResponseError, KarmoError)
