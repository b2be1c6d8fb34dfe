"""The fault matrix: each row is a way Karmo or the network can fail, what the user
gets, and proof that nothing is lost (state never claims a role Karmo lacks; a rerun
converges). Every test runs with a distinctive token and asserts it appears in no
exception text, log record or provider stderr (``no_token_in_logs``, ``engine``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    InvalidResponseError,
    KarmoError,
    RateLimitError,
)
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.concurrency import run_concurrently
from tests.support.harness import EngineError, ProviderProcess
from tests.support.providers import configured_provider
from tests.support.rawserver import RawServer
from tests.support.secrets import TOKEN
from tests.support.servers import closed_port

pytestmark = pytest.mark.usefixtures("no_token_in_logs")

VALID = {"organization_id": "org_123", "slug": "org-admin", "name": "Organization Admin"}


class FakeTime:
    """A clock that only moves when the client sleeps: waits cost no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def client_for(
    url: str, fake_time: FakeTime, *, timeout: float = 30.0, **policy: Any
) -> KarmoClient:
    return KarmoClient(
        url,
        TOKEN,
        timeout=timeout,
        retry_policy=RetryPolicy(**policy),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )


def no_token(error: BaseException) -> None:
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)


# Server down --------------------------------------------------------------------------


def test_server_down(fake_time: FakeTime) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with client_for(url, fake_time, max_retries=4) as client:
        with pytest.raises(APIConnectionError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    assert url in text
    assert "5 attempts" in text
    assert "Connection refused" in text or "ConnectError" in text
    assert len(fake_time.sleeps) == 4
    no_token(caught.value)


def test_server_down_through_the_engine() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": url, "karmo:token": TOKEN, "karmo:maxRetries": "1"})
        with pytest.raises(EngineError) as caught:
            process.create(VALID)
        assert caught.value.message.startswith(
            f"pulumi_karmo_roles.errors.APIConnectionError: Could not reach Karmo at {url}"
        )
        assert "2 attempts" in caught.value.message
        assert TOKEN not in caught.value.details
        assert TOKEN not in process.stderr()


# Connection reset -----------------------------------------------------------------------


def test_reset_mid_request_is_retried(fake_time: FakeTime) -> None:
    with RawServer("reset_mid_request", "reset_mid_request", "ok") as raw:
        with client_for(raw.url, fake_time) as client:
            assert client.upsert_role("org_1", "org-a", "A").role_id == "role_RAW"
    assert raw.connections == 3


def test_garbage_answer_is_retried_then_reported(fake_time: FakeTime) -> None:
    with RawServer("garbage") as raw:
        with client_for(raw.url, fake_time, max_retries=2) as client:
            with pytest.raises(APIConnectionError, match="3 attempts"):
                client.upsert_role("org_1", "org-a", "A")


@pytest.mark.parametrize("action", ["reset", "truncate", "drop"])
def test_reset_mid_response_is_retried(
    sandbox: SandboxServer, fake_time: FakeTime, action: str
) -> None:
    sandbox.script({"action": action}, {"action": action})
    with client_for(sandbox.url, fake_time) as client:
        role = client.upsert_role("org_1", "org-a", "A")
    assert sandbox.roles() == {("org_1", "org-a"): (role.role_id, "A")}
    assert sandbox.stats()["requests"] == 3


# Hangs -------------------------------------------------------------------------------


def test_hang_past_timeout(sandbox: SandboxServer, fake_time: FakeTime) -> None:
    # Karmo hangs far longer than any bound below: only the client's timeout ends this.
    sandbox.script(*[{"action": "hang", "seconds": 60.0}] * 3)
    caught: list[BaseException] = []

    def upsert() -> None:
        with client_for(sandbox.url, fake_time, timeout=0.2, max_retries=2) as client:
            try:
                client.upsert_role("org_1", "org-a", "A")
            except BaseException as exc:
                caught.append(exc)

    caller = threading.Thread(target=upsert, daemon=True)
    caller.start()
    caller.join(timeout=30)  # generous: fails only if the timeout does not fire at all
    assert not caller.is_alive(), "the client waited for a hung Karmo"
    assert len(caught) == 1
    assert isinstance(caught[0], APITimeoutError)
    assert "timed out after 0.2 s, 3 attempts" in str(caught[0])
    assert sandbox.roles() == {}


# Rate limits -------------------------------------------------------------------------


def test_429_without_retry_after_backs_off_with_jitter(
    sandbox: SandboxServer, fake_time: FakeTime
) -> None:
    sandbox.set_faults(rate_limit_share=1.0, retry_after=None)
    with client_for(sandbox.url, fake_time, max_retries=6) as client:
        with pytest.raises(RateLimitError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    bases = [0.5, 1, 2, 4, 8, 8]
    assert all(0.75 * b <= s <= b for s, b in zip(fake_time.sleeps, bases, strict=True))
    assert len(set(fake_time.sleeps)) > 1  # jittered: not all the same
    assert fake_time.sleeps != bases
    assert "kept rate-limiting" in str(caught.value)
    assert "after 7 attempts" in str(caught.value)


def test_huge_retry_after_is_capped_and_the_deadline_holds(
    sandbox: SandboxServer, fake_time: FakeTime
) -> None:
    sandbox.set_faults(rate_limit_share=1.0, retry_after="3600")
    with client_for(sandbox.url, fake_time, max_retries=10, deadline=150.0) as client:
        with pytest.raises(RateLimitError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert fake_time.sleeps == [60.0, 60.0]  # capped at 60 s; a third would pass 150 s
    text = str(caught.value)
    assert "after 3 attempts" in text
    assert "would pass the 150 s retry deadline" in text
    assert "kept rate-limiting" in text


def test_deadline_from_stack_config(sandbox: SandboxServer) -> None:
    sandbox.set_faults(rate_limit_share=1.0, retry_after="2")
    with ProviderProcess() as process:
        process.configure(
            {"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN, "karmo:retryDeadline": "1"}
        )
        with pytest.raises(EngineError, match="1 s retry deadline"):
            process.create(VALID)
        # One request: the 2 s Retry-After would pass the 1 s deadline, so no wait began.
        assert sandbox.stats()["requests"] == 1


# 5xx bursts ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_burst_then_recovery(sandbox: SandboxServer, fake_time: FakeTime, status: int) -> None:
    sandbox.script(*[{"status": status, "body": "html"}] * 3)
    with client_for(sandbox.url, fake_time) as client:
        assert client.upsert_role("org_1", "org-a", "A").created
    assert len(fake_time.sleeps) == 3


def test_5xx_burst_exhausted_quotes_a_short_excerpt(
    sandbox: SandboxServer, fake_time: FakeTime
) -> None:
    page = "<html><head><style>body{}</style></head><body><h1>Gateway down</h1>"
    page += "<p>" + "lorem ipsum " * 10_000 + "</p></body></html>"
    sandbox.script(*[{"status": 502, "body": page, "content_type": "text/html"}] * 5)
    with client_for(sandbox.url, fake_time) as client:
        with pytest.raises(InternalServerError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    assert "502 BAD_GATEWAY" in text
    assert "Gateway down lorem ipsum" in text
    assert "<" not in text.split("502 BAD_GATEWAY")[1]
    assert len(text) < 500


# Bad success answers -----------------------------------------------------------------


@pytest.mark.parametrize("body", ["<html>OK</html>", {"name": "A"}, "", {"id": None}])
def test_success_without_usable_body(
    sandbox: SandboxServer, fake_time: FakeTime, body: object
) -> None:
    sandbox.script({"status": 201, "body": body})
    with client_for(sandbox.url, fake_time) as client:
        with pytest.raises(InvalidResponseError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert "running `pulumi up` again converges" in str(caught.value)


def test_huge_body_is_capped(sandbox: SandboxServer, fake_time: FakeTime) -> None:
    sandbox.script({"status": 201, "body": "x" * (32 << 20)})
    with client_for(sandbox.url, fake_time) as client:
        with pytest.raises(InvalidResponseError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert len(str(caught.value)) < 500


# Concurrency ----------------------------------------------------------------------------


@pytest.fixture
def provider(sandbox: SandboxServer) -> OrganizationRoleProvider:
    return configured_provider(sandbox.url, {"karmo:maxRetries": "10"})


def test_200_concurrent_operations_against_flaky_karmo(
    sandbox: SandboxServer, provider: OrganizationRoleProvider
) -> None:
    # 20% of requests fail: half before Karmo writes, half after (the answer is lost).
    sandbox.set_faults(error_share=0.1, error_status=502, lost_answer_share=0.1)
    results: dict[int, str] = {}
    waits: list[float] = []  # the backoff is recorded, not slept: retries follow at once
    provider.set_session_factory(
        lambda settings: Session(
            retry_policy=RetryPolicy(max_retries=10, deadline=None), sleep=waits.append
        )
    )

    def work(i: int) -> None:
        created = provider.create({**VALID, "slug": f"org-r{i}", "name": f"Role {i}"})
        assert created.outs is not None
        results[i] = created.outs["role_id"]

    errors = run_concurrently(work, 200)
    assert errors == []
    roles = sandbox.roles()
    assert len(roles) == 200  # one role per (organization, slug)
    assert {roles[("org_123", f"org-r{i}")][0] for i in range(200)} == set(results.values())
    assert len(set(results.values())) == 200
    stats = sandbox.stats()
    assert stats["created"] == 200  # a retry after a lost answer updates, never duplicates
    assert stats["updated"] > 0  # ... and answers were lost: Karmo had written
    assert stats["status_502"] > stats["updated"]  # ... and others failed before writing
    assert len(waits) >= stats["updated"]  # each lost answer was retried after a wait


# Interrupted create ----------------------------------------------------------------------


def test_interrupted_create_converges(sandbox: SandboxServer) -> None:
    config = {"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN}
    first = ProviderProcess()
    first.configure(config)
    # Karmo writes, then answers only after the provider is gone (it is killed below).
    sandbox.set_faults(answer_delay_ms=60_000)
    failures: list[BaseException] = []

    def create() -> None:
        try:
            first.create(VALID)
        except EngineError as exc:
            failures.append(exc)

    caller = threading.Thread(target=create)
    caller.start()
    deadline = time.monotonic() + 30  # generous: fails only if Karmo never writes
    while not sandbox.roles() and time.monotonic() < deadline:
        time.sleep(0.01)
    (role_id, _) = sandbox.roles()[("org_123", "org-admin")]
    first.close()  # the provider dies: the engine never records the role
    caller.join(timeout=10)
    assert failures  # the engine saw the create fail

    sandbox.set_faults(answer_delay_ms=0)
    with ProviderProcess() as second:
        second.configure(config)
        id_, outs = second.create(VALID)  # what the next `pulumi up` does
        assert id_ == "org_123/org-admin"
        assert outs["role_id"] == role_id
        assert len(sandbox.roles()) == 1
        assert sandbox.stats()["created"] == 1


# The token, across everything above --------------------------------------------------


def test_distinctive_token_in_no_error(sandbox: SandboxServer, fake_time: FakeTime) -> None:
    sandbox.script(
        {"status": 401, "message": "bad token", "errors": [{"pointer": "/", "detail": "x"}]}
    )
    with client_for(sandbox.url, fake_time) as client:
        with pytest.raises(KarmoError) as caught:
            client.upsert_role("org_1", "org-a", "A")
        assert TOKEN not in repr(client)
    no_token(caught.value)
