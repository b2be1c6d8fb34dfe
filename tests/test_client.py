"""The HTTP client against the sandbox on 127.0.0.1: requests, answers, errors, retries."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from pulumi_karmo_roles import __version__
from pulumi_karmo_roles._http.body import MAX_BODY_BYTES
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    InvalidResponseError,
    KarmoError,
    ProviderNotConfiguredError,
    RateLimitError,
    RedirectError,
    UnprocessableEntityError,
)
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import EngineError, ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN
from tests.support.servers import HostileServer, Reply, closed_port
from tests.support.tables import STATUS_TABLE, verb

VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}


class Sleeps(list[float]):
    """Records the waits between attempts instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sandbox: SandboxServer, sleeps: Sleeps) -> Iterator[KarmoClient]:
    with KarmoClient(sandbox.url, TOKEN, max_retries=3, sleep=sleeps) as c:
        yield c


def test_create_then_update_returns_same_role_id(
    client: KarmoClient, sandbox: SandboxServer
) -> None:
    first = client.upsert_role("org_123", "org-admin", "Organization Admin")
    second = client.upsert_role("org_123", "org-admin", "Org Admins")
    assert first.created is True
    assert second.created is False
    assert first.role_id == second.role_id
    assert first.role_id.startswith("role_01")
    assert sandbox.roles() == {("org_123", "org-admin"): (first.role_id, "Org Admins")}


def test_request_shape(client: KarmoClient, sandbox: SandboxServer) -> None:
    client.upsert_role("org_123", "org-admin", "Organization Admin")
    (seen,) = sandbox.requests()
    assert seen["method"] == "PUT"
    assert seen["path"] == "/organizations/org_123/roles/org-admin"
    assert seen["user_agent"].startswith(f"pulumi-karmo-roles/{__version__}")
    assert seen["content_type"] == "application/json"
    assert json.loads(seen["body"]) == {"name": "Organization Admin"}


def test_bearer_token_is_sent_and_checked(sandbox: SandboxServer) -> None:
    with KarmoClient(sandbox.url, "not-the-token", max_retries=0) as wrong:
        with pytest.raises(AuthenticationError):
            wrong.upsert_role("org_123", "org-admin", "Admin")
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as right:
        assert right.upsert_role("org_123", "org-admin", "Admin").created


def test_base_url_with_path_prefix() -> None:
    with SandboxServer(token=TOKEN, prefix="/auth-api") as prefixed:
        with KarmoClient(prefixed.url + "/", TOKEN) as c:
            c.upsert_role("org_1", "org-a", "A")
        assert prefixed.requests()[0]["path"] == "/auth-api/organizations/org_1/roles/org-a"


def test_path_segments_are_percent_encoded(client: KarmoClient, sandbox: SandboxServer) -> None:
    # check() rejects these values; the client must still never let one escape its segment.
    with pytest.raises(UnprocessableEntityError):
        client.upsert_role("a/../b?c#d", "org-x/../y", "X")
    assert sandbox.requests()[0]["path"] == (
        "/organizations/a%2F..%2Fb%3Fc%23d/roles/org-x%2F..%2Fy"
    )


def test_unicode_name_is_sent_exactly(client: KarmoClient, sandbox: SandboxServer) -> None:
    name = 'Ädmin "ops" 🚀 مدير'
    client.upsert_role("org_1", "org-u", name)
    assert json.loads(sandbox.requests()[0]["body"]) == {"name": name}
    assert sandbox.roles()[("org_1", "org-u")][1] == name


def test_accepts_role_id_field_alias(client: KarmoClient, sandbox: SandboxServer) -> None:
    sandbox.script({"status": 200, "body": {"roleId": "role_ALIAS"}})
    assert client.upsert_role("org_1", "org-a", "A").role_id == "role_ALIAS"


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("<html>ok</html>", "no role id"),
        ({"name": "A"}, "no role id"),
        ({"id": ""}, "no role id"),
    ],
)
def test_success_without_role_id_is_a_clear_error(
    client: KarmoClient, sandbox: SandboxServer, body: object, what: str
) -> None:
    sandbox.script({"status": 201, "body": body})
    with pytest.raises(InvalidResponseError) as caught:
        client.upsert_role("org_1", "org-a", "A")
    assert what in str(caught.value)
    assert "running `pulumi up` again converges" in str(caught.value)


def test_unexpected_success_status_is_an_error(client: KarmoClient, sandbox: SandboxServer) -> None:
    sandbox.script({"status": 204, "body": ""})
    with pytest.raises(InvalidResponseError, match="unexpected 204"):
        client.upsert_role("org_1", "org-a", "A")


@pytest.mark.parametrize(("status", "cls", "advice", "retried"), STATUS_TABLE)
def test_each_documented_status(
    sandbox: SandboxServer,
    sleeps: Sleeps,
    status: int,
    cls: type[APIStatusError],
    advice: str,
    retried: bool,
) -> None:
    sandbox.script(
        {
            "status": status,
            "code": f"{status}00042",
            "message": "Something Karmo said",
            "errors": [{"pointer": "/name", "detail": "must not be blank"}],
            "retry_after": "0",
        }
    )
    sandbox.script({"status": status, "code": f"{status}00042", "retry_after": "0"})
    with KarmoClient(sandbox.url, TOKEN, max_retries=1, sleep=sleeps) as c:
        with pytest.raises(cls) as caught:
            c.upsert_role("org_123", "org-admin", "Admin")
    # Retried or not: 429 and outages get another attempt, everything else is final.
    assert sandbox.stats()["requests"] == (2 if retried else 1)
    assert len(sleeps) == (1 if retried else 0)
    error = caught.value
    text = str(error)
    assert text.startswith(f"Karmo {verb(status)} PUT ")
    assert "/organizations/org_123/roles/org-admin" in text
    assert f": {status} " in text
    assert f"(code {status}00042)" in text
    if not retried:  # the error is the first answer's (a retried one: the second's)
        assert "Something Karmo said; /name: must not be blank" in text
    assert advice in text
    assert error.status_code == status
    assert error.code == f"{status}00042"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.request_id in text
    assert TOKEN not in text


def test_message_matches_the_documented_example(sandbox: SandboxServer) -> None:
    sandbox.script(
        {
            "status": 422,
            "code": "42200001",
            "message": "Request validation failed",
            "errors": [{"pointer": "/name", "detail": "must not be blank"}],
        }
    )
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as c, pytest.raises(KarmoError) as caught:
        c.upsert_role("org_123", "org-admin", "Admin")
    assert str(caught.value).startswith(
        "Karmo rejected PUT /organizations/org_123/roles/org-admin: 422 UNPROCESSABLE_ENTITY "
        "(code 42200001): Request validation failed; /name: must not be blank."
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # wrapped in {"error": ...}, pointer under source.pointer (JSON:API style)
        (
            {
                "error": {
                    "code": "42200001",
                    "errors": [{"source": {"pointer": "/name"}, "detail": "too long"}],
                }
            },
            "(code 42200001): /name: too long.",
        ),
        # code as a number, no message, no errors
        ({"code": 42200001}, "(code 42200001). Correct"),
        # not JSON: a proxy's page, cleaned and cut short
        ("<html><body><h1>422 Nope</h1>" + "x" * 5000 + "</body></html>", "422 Nope"),
    ],
)
def test_error_bodies_are_parsed_tolerantly(
    sandbox: SandboxServer, body: object, expected: str
) -> None:
    sandbox.script({"status": 422, "body": body})
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as c, pytest.raises(KarmoError) as caught:
        c.upsert_role("org_1", "org-a", "A")
    assert expected in str(caught.value)
    assert len(str(caught.value)) < 400


def test_sandbox_validation_reaches_the_user(client: KarmoClient) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        client.upsert_role("org_1", "org-a", "   ")
    assert "/name: must not be blank" in str(caught.value)
    assert caught.value.errors[0].pointer == "/name"


# Retries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 429, "retry_after": "0"},
        {"status": 429},  # no Retry-After: backoff
        {"status": 500},
        {"status": 502, "body": "html"},
        {"status": 503, "body": "html"},  # a 503 without a Karmo body is an outage
        {"status": 504, "body": "html"},
        {"action": "drop"},  # connection closed without an answer
    ],
)
def test_retryable_failures_are_retried(
    client: KarmoClient, sandbox: SandboxServer, sleeps: Sleeps, failure: dict[str, object]
) -> None:
    sandbox.script(failure, failure)
    assert client.upsert_role("org_1", "org-a", "A").created
    assert sandbox.stats()["requests"] == 3
    assert len(sleeps) == 2


def test_retries_are_bounded_by_max_retries(
    client: KarmoClient, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.set_faults(error_share=1.0, error_status=502)
    with pytest.raises(InternalServerError) as caught:
        client.upsert_role("org_1", "org-a", "A")
    assert sandbox.stats()["requests"] == 4  # 1 + max_retries=3
    assert caught.value.attempts == 4
    assert "after 4 attempts" in str(caught.value)
    assert "<html>" not in str(caught.value)
    # Capped exponential backoff: 0.5, 1, 2 seconds, each shortened by at most 25% jitter.
    bases = [0.5, 1.0, 2.0]
    assert all(0.75 * b <= s <= b for s, b in zip(sleeps, bases, strict=True))


def test_retry_after_seconds_is_honoured(
    client: KarmoClient, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.script({"status": 429, "retry_after": "7"})
    client.upsert_role("org_1", "org-a", "A")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured(
    client: KarmoClient, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.script({"status": 429, "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    client.upsert_role("org_1", "org-a", "A")
    assert sleeps == [0.0]  # a date in the past: go now


def test_rate_limit_exhausted(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    sandbox.set_faults(rate_limit_share=1.0, retry_after="0")
    with KarmoClient(sandbox.url, TOKEN, max_retries=2, sleep=sleeps) as c:
        with pytest.raises(RateLimitError, match="after 3 attempts"):
            c.upsert_role("org_1", "org-a", "A")
    assert sleeps == [0.0, 0.0]


def test_connection_refused_names_url_and_attempts(sleeps: Sleeps) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with KarmoClient(url, TOKEN, max_retries=2, sleep=sleeps) as c:
        with pytest.raises(APIConnectionError) as caught:
            c.upsert_role("org_1", "org-a", "A")
    assert url in str(caught.value)
    assert "3 attempts" in str(caught.value)
    assert len(sleeps) == 2


def test_timeout_is_retried_then_reported(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    sandbox.script(*[{"action": "hang", "seconds": 1.0}] * 2)
    with KarmoClient(sandbox.url, TOKEN, timeout=0.2, max_retries=1, sleep=sleeps) as c:
        with pytest.raises(APITimeoutError, match=r"timed out after 0\.2 s, 2 attempts"):
            c.upsert_role("org_1", "org-a", "A")


def test_timeout_then_success(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    sandbox.script({"action": "hang", "seconds": 1.0})
    with KarmoClient(sandbox.url, TOKEN, timeout=0.2, max_retries=1, sleep=sleeps) as c:
        assert c.upsert_role("org_1", "org-a", "A").created
    assert len(sleeps) == 1


def test_connections_are_reused(client: KarmoClient, sandbox: SandboxServer) -> None:
    for i in range(20):
        client.upsert_role("org_1", f"org-r{i}", "R")
    assert sandbox.stats()["connections"] == 1


def test_huge_body_is_read_with_a_cap(client: KarmoClient, sandbox: SandboxServer) -> None:
    sandbox.script({"status": 500, "body": "x" * (8 << 20)}, *[{"status": 500, "body": "x"}] * 3)
    with pytest.raises(InternalServerError) as caught:
        client.upsert_role("org_1", "org-a", "A")
    assert len(str(caught.value)) < 500


def test_huge_body_is_not_read_to_the_end() -> None:
    consumed = 0

    class Endless(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            nonlocal consumed
            for _ in range(4096):  # 256 MiB if read to the end
                consumed += 65536
                yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, stream=Endless())

    transport = httpx.MockTransport(handler)
    with KarmoClient("https://karmo.invalid", TOKEN, transport=transport, max_retries=0) as c:
        with pytest.raises(InternalServerError):
            c.upsert_role("org_1", "org-a", "A")
    assert consumed <= MAX_BODY_BYTES + 65536


def test_token_stays_out_of_repr_logs_and_errors(
    sandbox: SandboxServer, sleeps: Sleeps, no_token_in_logs: None
) -> None:
    with KarmoClient(sandbox.url, TOKEN, max_retries=1, sleep=sleeps) as c:
        assert TOKEN not in repr(c)
        sandbox.script({"status": 500}, {"status": 401})
        with pytest.raises(KarmoError) as caught:
            c.upsert_role("org_1", "org-a", "A")
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)


def test_custom_transport_is_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "role_X"})

    with KarmoClient(
        "https://karmo.invalid/api", TOKEN, transport=httpx.MockTransport(handler)
    ) as c:
        assert c.upsert_role("org_1", "org-a", "A").role_id == "role_X"
    assert str(seen[0].url) == "https://karmo.invalid/api/organizations/org_1/roles/org-a"
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_retry_policy_override(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    policy = RetryPolicy(max_retries=1, initial_delay=0.01, jitter=0.0)
    sandbox.script({"status": 500})
    with KarmoClient(sandbox.url, TOKEN, retry_policy=policy, sleep=sleeps) as c:
        c.upsert_role("org_1", "org-a", "A")
    assert sleeps == [0.01]


def test_503_without_karmo_body_is_an_outage_not_a_configuration_state(
    sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.script(*[{"status": 503, "body": "html"}] * 2)
    with KarmoClient(sandbox.url, TOKEN, max_retries=1, sleep=sleeps) as c:
        with pytest.raises(InternalServerError) as caught:
            c.upsert_role("org_1", "org-a", "A")
    assert not isinstance(caught.value, ProviderNotConfiguredError)
    assert "503 SERVICE_UNAVAILABLE" in str(caught.value)
    assert "not configured" not in str(caught.value)
    assert len(sleeps) == 1  # it was retried


def test_huge_karmo_messages_are_bounded(client: KarmoClient, sandbox: SandboxServer) -> None:
    errors = [{"pointer": "/name", "detail": "d" * 10_000}] * 50  # under the 1 MiB cap
    sandbox.script({"status": 422, "message": "m" * 100_000, "errors": errors})
    with pytest.raises(UnprocessableEntityError) as caught:
        client.upsert_role("org_1", "org-a", "A")
    assert len(str(caught.value)) < 4000
    assert len(caught.value.errors) == 10


def test_debug_log_names_the_request_not_the_token(
    client: KarmoClient, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pulumi_karmo_roles")
    client.upsert_role("org_1", "org-a", "A")
    client.set_role_permissions("org_1", "org-a", ["x"])
    messages = [r.getMessage() for r in caplog.records if r.name == "pulumi_karmo_roles"]
    assert messages[0].startswith("PUT /organizations/org_1/roles/org-a -> 201 in ")
    assert messages[1].startswith("PUT /organizations/org_1/roles/org-a/permissions -> 204 in ")
    assert all(TOKEN not in m for m in messages)


def dripping(seconds_per_byte: float) -> HostileServer:
    body = b'{"id": "role_drip_0123456789"}'
    return HostileServer(lambda seen: Reply(201, {}, body, drip=seconds_per_byte))


def test_a_slow_drip_fails_at_the_timeout() -> None:
    # 30 bytes at 0.2 s each would be a valid answer after 6 s; the timeout is 0.5 s.
    with dripping(0.2) as server, KarmoClient(server.url, TOKEN, timeout=0.5, max_retries=0) as c:
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as caught:
            c.upsert_role("org_1", "org-a", "A")
        assert time.monotonic() - started < 10  # only fails on a real hang
    assert "timed out after 0.5 s" in str(caught.value)
    assert "karmo:timeout" in str(caught.value)


def test_the_deadline_cuts_an_attempt_and_is_blamed() -> None:
    policy = RetryPolicy(max_retries=3, deadline=0.6)
    with dripping(0.2) as server, KarmoClient(server.url, TOKEN, retry_policy=policy) as c:
        with pytest.raises(APITimeoutError) as caught:
            c.upsert_role("org_1", "org-a", "A")
    assert "within the 0.6 s retry deadline" in str(caught.value)
    assert "karmo:retryDeadline" in str(caught.value)


def test_a_slow_drip_through_the_engine() -> None:
    with dripping(0.2) as server:
        with ProviderProcess() as process:
            process.configure(
                {
                    "karmo:apiUrl": server.url,
                    "karmo:token": TOKEN,
                    "karmo:timeout": "5",
                    "karmo:retryDeadline": "0.5",
                }
            )
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            assert "APITimeoutError" in caught.value.message
            assert "0.5 s retry deadline" in caught.value.message


@pytest.mark.parametrize(
    "role_id",
    ["role\nX", "role\x1b[31mX", "role\u202eX", "role\x00X", "has space", "x" * 900_000],
)
def test_a_malformed_role_id_fails_the_create(sandbox: SandboxServer, role_id: str) -> None:
    sandbox.script({"status": 201, "body": {"id": role_id}})
    provider = configured_provider(sandbox.url)
    with pytest.raises(InvalidResponseError) as caught:
        provider.create(dict(VALID))
    text = str(caught.value)
    assert "printable ASCII characters without spaces" in text
    assert "The role may have been written; running `pulumi up` again converges." in text
    assert len(text) < 600
    assert text.isprintable()


def test_a_malformed_role_id_on_adoption_through_the_engine(sandbox: SandboxServer) -> None:
    sandbox.script({"status": 200, "body": {"id": "role\n\x1b[2J"}})
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
        with pytest.raises(EngineError) as caught:
            process.create(VALID)
        assert "InvalidResponseError" in caught.value.message
        assert "\x1b" not in caught.value.details
        assert "\x1b" not in process.stderr()


def test_a_role_id_of_255_printable_characters_is_kept(sandbox: SandboxServer) -> None:
    role_id = "r" * 254 + "~"
    sandbox.script({"status": 201, "body": {"id": role_id}})
    with KarmoClient(sandbox.url, TOKEN) as client:
        assert client.upsert_role("org_1", "org-a", "A").role_id == role_id


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_names_its_location_and_is_not_followed(status: int) -> None:
    with HostileServer(lambda seen: Reply(201, {}, b'{"id": "role_X"}')) as elsewhere:
        location = f"{elsewhere.url}/organizations/org_1/roles/org-a"
        redirect = Reply(status, {"Location": location}, b"")
        with HostileServer(lambda seen: redirect) as server:
            with KarmoClient(server.url, TOKEN) as client:
                with pytest.raises(RedirectError) as caught:
                    client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    assert f"to {location}" in text
    assert "set `karmo:apiUrl`" in text
    assert caught.value.location == location
    assert elsewhere.seen == []  # the token went nowhere else
    assert len(server.seen) == 1  # and a redirect is not retried


def test_a_redirect_through_the_engine() -> None:
    location = "https://karmo.example/auth-api/organizations/org_1/roles/org-a"
    with HostileServer(lambda seen: Reply(308, {"Location": location}, b"")) as server:
        with ProviderProcess() as process:
            process.configure({"karmo:apiUrl": server.url, "karmo:token": TOKEN})
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            assert caught.value.message.startswith(
                "pulumi_karmo_roles.errors.RedirectError: Karmo redirected PUT "
            )
            assert f"to {location}" in caught.value.message
            assert "set `karmo:apiUrl`" in caught.value.message
            assert TOKEN not in caught.value.details
