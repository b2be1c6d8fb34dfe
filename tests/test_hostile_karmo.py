"""A hostile Karmo, a proxy, a pasted token (issue 11): nothing echoed, nothing
unbounded, nothing lost. Each test names the item it holds the client to; loopback
servers misbehave on purpose (``hostile.py``), directly and through
``python -m pulumi.dynamic``."""

from __future__ import annotations

import importlib.util
import json
import logging
import ssl
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TOKEN, configured_provider, run_concurrently
from harness import EngineError, ProviderProcess
from hostile import HostileServer, Proxy, Reply, Seen
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from pulumi_karmo_roles._config import Settings
from pulumi_karmo_roles._http.credentials import Credential, ServiceToken
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles.errors import (
    APITimeoutError,
    ConfigurationError,
    InternalServerError,
    InvalidResponseError,
    KarmoError,
    RateLimitError,
    RedirectError,
    RequestNotSentError,
    ServiceTokenError,
    UnprocessableEntityError,
)
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer

VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}
OTHER_BEARER = "Bearer sk_other_4f9a8b7c6d5e"  # a credential that is not ours


def karmo_error(status: int, message: str, **extra: Any) -> bytes:
    body = {"code": f"{status}00001", "message": message, "meta": {"requestId": "req_1"}}
    return json.dumps({**body, **extra}).encode()


def answering(where: str) -> HostileServer:
    """A server that echoes the request's Authorization header ``where``."""

    def reply(seen: Seen) -> Reply:
        auth = seen.headers["authorization"]
        if where == "message":
            return Reply(500, {}, karmo_error(500, f"bad header {auth}; also {OTHER_BEARER}"))
        if where == "field":
            errors = [{"pointer": "/name", "detail": f"token {auth} refused"}]
            return Reply(422, {}, karmo_error(422, "no", errors=errors))
        if where == "request_id":
            return Reply(500, {"X-Request-Id": auth.split()[-1]}, b"oops")
        return Reply(500, {}, f"<html><pre>Authorization: {auth}</pre></html>".encode())

    return HostileServer(reply)


# 1. A token echoed by the server is never quoted ------------------------------------------


@pytest.mark.parametrize("where", ["message", "field", "request_id", "html"])
def test_echoed_token_is_redacted(where: str, no_token_in_logs: None) -> None:
    with answering(where) as server, KarmoClient(server.url, TOKEN, max_retries=0) as client:
        with pytest.raises(KarmoError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    assert TOKEN not in text
    assert "sk_other" not in text
    assert "***" in text


@pytest.mark.parametrize("where", ["message", "html"])
def test_echoed_token_is_redacted_through_the_engine(where: str) -> None:
    with answering(where) as server:
        process = ProviderProcess()
        try:
            process.configure(
                {"karmo:apiUrl": server.url, "karmo:token": TOKEN, "karmo:maxRetries": "0"}
            )
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            assert "***" in caught.value.message
            assert TOKEN not in caught.value.details
            assert TOKEN not in process.stderr()
        finally:
            process.close()


def test_echoed_minted_token_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    minted = "svc_minted_0123456789abcdef"

    def karmo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(200, json={"access_token": minted, "expires_in": 900})
        said = f"we got {request.headers['Authorization']} and {minted}"
        return httpx.Response(
            500, json={"code": "50000001", "message": said}, headers={"X-Request-Id": minted}
        )

    source = ServiceToken("https://karmo.invalid", lambda url, body, headers: dict(headers))
    transport = httpx.MockTransport(karmo)
    with KarmoClient("https://karmo.invalid", source, transport=transport, max_retries=0) as c:
        with pytest.raises(InternalServerError) as caught:
            c.upsert_role("org_1", "org-a", "A")
    assert minted not in str(caught.value)
    assert all(minted not in record.getMessage() for record in caplog.records)


def test_server_text_has_control_characters_escaped(sandbox: SandboxServer) -> None:
    sandbox.script({"status": 422, "message": "red \x1b[31malert\nline2 \u202eevil"})
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
        with pytest.raises(UnprocessableEntityError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    assert "\x1b" not in text
    assert "\n" not in text
    assert "\u202e" not in text
    assert "\\x1b[31malert\\nline2 \\u202eevil" in text


# 2. A pasted token: trailing whitespace stripped, inner whitespace refused unseen -----------


@pytest.mark.parametrize("pasted", [TOKEN + "\n", f"  {TOKEN}\r\n", f"\t{TOKEN} "])
def test_token_with_surrounding_whitespace_is_stripped(sandbox: SandboxServer, pasted: str) -> None:
    provider = configured_provider(sandbox.url, {"karmo:token": pasted})
    assert provider.create(dict(VALID)).id == "org_1/org-a"


BAD_TOKENS = [
    "kt_live abc123",  # a space
    "kt_live\nabc123",  # a newline inside
    "kt_live\x00abc123",  # NUL
    "kt_live_äbc123",  # non-ASCII
    "kt_live_\u200babc",  # zero-width space
]


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_token_with_inner_whitespace_or_non_ascii_fails_at_configure(bad: str) -> None:
    provider = OrganizationRoleProvider()
    config = {"karmo:apiUrl": "http://127.0.0.1:9", "karmo:token": bad}
    with pytest.raises(ConfigurationError) as caught:
        provider.configure(ConfigureRequest(Config(config, "x")))
    text = str(caught.value)
    assert "karmo:token" in text
    assert "printable ASCII without spaces" in text
    for part in ("kt_live", "abc"):
        assert part not in text


def test_bad_token_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KARMO_TOKEN", "kt_live\nabc123")
    with pytest.raises(ConfigurationError, match="KARMO_TOKEN holds whitespace") as caught:
        OrganizationRoleProvider().configure(ConfigureRequest(Config({}, "x")))
    assert "abc123" not in str(caught.value)


def test_bad_token_through_the_engine(sandbox: SandboxServer) -> None:
    process = ProviderProcess()
    try:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN + "\x00x"})
        with pytest.raises(EngineError) as caught:
            process.check(VALID)
        assert "ConfigurationError: karmo:token holds a control character" in caught.value.details
        assert TOKEN not in caught.value.details
        assert TOKEN not in process.stderr()
        assert sandbox.stats().get("requests", 0) == 0
    finally:
        process.close()


# 3. One exception boundary -----------------------------------------------------------------


class RawHeader(Credential):
    """A credential that sends a header h11 refuses (as a pasted token once did)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def secrets(self) -> tuple[str, ...]:
        return (self.value,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.value
        yield request


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}\n", f"Bearer {TOKEN}\x00"])
def test_whatever_sending_raises_becomes_a_karmo_error(sandbox: SandboxServer, header: str) -> None:
    with KarmoClient(sandbox.url, RawHeader(header), max_retries=3) as client:
        with pytest.raises(RequestNotSentError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert sandbox.stats().get("requests", 0) == 0  # and not retried


def test_non_ascii_header_becomes_a_karmo_error(sandbox: SandboxServer) -> None:
    with KarmoClient(sandbox.url, RawHeader(f"Bearer {TOKEN}é"), max_retries=0) as client:
        with pytest.raises(KarmoError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert TOKEN not in str(caught.value)


def test_an_empty_name_is_karmos_to_refuse(sandbox: SandboxServer) -> None:
    # It used to raise pydantic's ValidationError before anything was sent.
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
        with pytest.raises(UnprocessableEntityError, match="/name"):
            client.upsert_role("org_1", "org-a", "")


def test_an_unencodable_body_is_a_karmo_error(sandbox: SandboxServer) -> None:
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
        with pytest.raises(RequestNotSentError, match="TypeError"):
            client.upsert_role("org_1", "org-a", object())  # type: ignore[arg-type]


def test_a_minted_token_with_a_newline_is_refused_unseen() -> None:
    def karmo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": "svc_tok_secret\nX", "expires_in": 900})

    source = ServiceToken("https://karmo.invalid", lambda url, body, headers: dict(headers))
    transport = httpx.MockTransport(karmo)
    with KarmoClient("https://karmo.invalid", source, transport=transport) as client:
        with pytest.raises(ServiceTokenError, match="without a usable token") as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert "svc_tok_secret" not in str(caught.value)


# 4. Timeout per attempt, deadline per operation ------------------------------------------


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
        process = ProviderProcess()
        try:
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
        finally:
            process.close()


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_both_requests_of_a_create_share_one_deadline(sandbox: SandboxServer) -> None:
    time_ = FakeTime()

    def factory(settings: Settings) -> Session:
        return Session(
            retry_policy=RetryPolicy(max_retries=5, deadline=3.0),
            sleep=time_.sleep,
            clock=time_.clock,
        )

    provider = configured_provider(sandbox.url)
    provider.set_session_factory(factory)
    # The upsert waits 2 s, then the permissions request would wait 2 s more: 4 > 3.
    sandbox.script(
        {"status": 429, "retry_after": "2"},
        {"action": "pass"},
        {"status": 429, "retry_after": "2"},
    )
    with pytest.raises(KarmoError) as caught:
        provider.create({**VALID, "permissions": ["a:b"]})
    assert isinstance(caught.value.__cause__, RateLimitError)
    assert "would pass the 3 s retry deadline" in str(caught.value)
    # Alone, each request fits its own deadline.
    time_.now = 0.0
    sandbox.script({"status": 429, "retry_after": "2"})
    assert provider.create(dict(VALID)).outs is not None


def test_a_mint_counts_against_the_deadline(minting: SandboxServer) -> None:
    minting.script({"action": "hang", "seconds": 3})  # the mint hangs
    source = ServiceToken(minting.url, lambda url, body, headers: _signed(headers))
    policy = RetryPolicy(max_retries=5, deadline=0.5)
    with KarmoClient(minting.url, source, timeout=5, retry_policy=policy) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"0\.5 s retry deadline"):
            client.upsert_role("org_1", "org-a", "A")
        assert time.monotonic() - started < 10  # only fails on a real hang


# 5. The role id is checked --------------------------------------------------------------


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
    process = ProviderProcess()
    try:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
        with pytest.raises(EngineError) as caught:
            process.create(VALID)
        assert "InvalidResponseError" in caught.value.message
        assert "\x1b" not in caught.value.details
        assert "\x1b" not in process.stderr()
    finally:
        process.close()


def test_a_role_id_of_255_printable_characters_is_kept(sandbox: SandboxServer) -> None:
    role_id = "r" * 254 + "~"
    sandbox.script({"status": 201, "body": {"id": role_id}})
    with KarmoClient(sandbox.url, TOKEN) as client:
        assert client.upsert_role("org_1", "org-a", "A").role_id == role_id


# 6. Proxies and a private CA --------------------------------------------------------------


def test_http_proxy_is_honoured(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
            client.upsert_role("org_1", "org-a", "A")
    assert proxy.seen == [f"PUT {sandbox.url}/organizations/org_1/roles/org-a"]
    assert len(sandbox.roles()) == 1


def test_no_proxy_is_honoured(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
            client.upsert_role("org_1", "org-a", "A")
    assert proxy.seen == []


def test_http_proxy_through_the_engine(sandbox: SandboxServer) -> None:
    with Proxy() as proxy:
        process = ProviderProcess(env={"HTTP_PROXY": proxy.url})
        try:
            process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
            process.create(VALID)
        finally:
            process.close()
    assert proxy.seen == [f"PUT {sandbox.url}/organizations/org_1/roles/org-a"]


@pytest.fixture(scope="module")
def https_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, Path]]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with SandboxServer(token=TOKEN, tls=context) as server:
        yield server, bundle


def test_connect_proxy_and_private_ca(
    https_sandbox: tuple[SandboxServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, bundle = https_sandbox
    server.reset()
    with Proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        with KarmoClient(server.url, TOKEN, max_retries=0) as client:
            client.upsert_role("org_1", "org-a", "A")
    assert proxy.seen == [f"CONNECT 127.0.0.1:{server.port}"]
    assert len(server.roles()) == 1


def test_an_untrusted_certificate_is_a_connection_error(
    https_sandbox: tuple[SandboxServer, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, _ = https_sandbox
    monkeypatch.setenv("SSL_CERT_FILE", str(_other_ca(tmp_path)))
    with KarmoClient(server.url, TOKEN, max_retries=0) as client:
        with pytest.raises(KarmoError, match=r"Could not reach Karmo.*CERTIFICATE_VERIFY_FAILED"):
            client.upsert_role("org_1", "org-a", "A")


def _other_ca(tmp_path: Path) -> Path:
    import trustme

    path = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


# 7. A redirect names where it points, and is never followed ---------------------------


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


# 11. Retries are shown where `pulumi up` shows a dynamic provider's messages --------------


def test_each_retry_is_announced(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = configured_provider(sandbox.url, {"karmo:maxRetries": "2"})
    sandbox.script({"status": 429, "retry_after": "0"}, {"status": 502, "body": "html"})
    provider.create(dict(VALID))
    lines = [line for line in capsys.readouterr().err.splitlines() if "retrying" in line]
    path = "PUT /organizations/org_1/roles/org-a"
    assert lines == [
        f"warning: Karmo: {path} answered 429 TOO_MANY_REQUESTS; retrying in 0.0 s "
        "(attempt 2 of 3).",
        f"warning: Karmo: {path} answered 502 BAD_GATEWAY; retrying in "
        + lines[1].split("retrying in ")[1],
    ]
    assert lines[1].endswith("(attempt 3 of 3).")


def test_retries_show_on_the_provider_stderr_while_they_happen(sandbox: SandboxServer) -> None:
    process = ProviderProcess()
    try:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
        sandbox.script({"status": 429, "retry_after": "2"})
        done = threading.Event()

        def create() -> None:
            process.create(VALID)
            done.set()

        thread = threading.Thread(target=create)
        thread.start()
        seen_during = False
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            if "retrying in 2.0 s (attempt 2 of 5)" in process.stderr():
                seen_during = not done.is_set()
                break
            time.sleep(0.05)
        thread.join(timeout=30)
        assert seen_during, process.stderr()
        assert done.is_set()
    finally:
        process.close()


# 12. One slow or failing mint blocks no one behind a second retry cycle ------------------

AWS_STYLE = (
    "AWS4-HMAC-SHA256 Credential=FAKEKARMOACCESSKEY01/20260101/eu-west-1/execute-api/"
    "aws4_request, SignedHeaders=host, Signature=" + "0" * 64
)


def _signed(headers: Any) -> dict[str, str]:
    return {**dict(headers), "Authorization": AWS_STYLE, "X-Amz-Date": "20260101T000000Z"}


@pytest.fixture
def minting() -> Iterator[SandboxServer]:
    with SandboxServer(token="", token_lifetime=900) as server:
        yield server


def test_a_failed_mint_fails_every_waiting_thread_once(minting: SandboxServer) -> None:
    # A slow mint, so the others queue behind it even on a loaded machine.
    minting.set_faults(latency_ms=1000)
    minting.script({"status": 503, "body": "html"})  # ... and it fails
    source = ServiceToken(minting.url, lambda url, body, headers: _signed(headers))
    with KarmoClient(minting.url, source, max_retries=0) as client:
        errors = run_concurrently(lambda i: client.upsert_role("org_1", f"org-{i}", "A"), 4)
    assert len(errors) == 4
    assert all(isinstance(e, ServiceTokenError) and "503" in str(e) for e in errors)
    mints = [r for r in minting.requests() if r["path"] == "/auth/token"]
    assert len(mints) == 1  # the others did not each mint again behind a lock


def test_after_a_failed_mint_every_thread_retries_on_its_own(minting: SandboxServer) -> None:
    minting.set_faults(latency_ms=100)
    minting.script({"status": 503, "body": "html"})
    source = ServiceToken(minting.url, lambda url, body, headers: _signed(headers))
    policy = RetryPolicy(max_retries=1, initial_delay=0.01, jitter=0.0)
    with KarmoClient(minting.url, source, retry_policy=policy) as client:
        errors = run_concurrently(lambda i: client.upsert_role("org_1", f"org-{i}", "A"), 4)
    assert errors == []
    assert minting.stats()["minted"] == 1
    assert len([r for r in minting.requests() if r["path"] == "/auth/token"]) == 2


def test_a_hanging_mint_is_bounded_for_every_thread(minting: SandboxServer) -> None:
    minting.script(*[{"action": "hang", "seconds": 2}] * 4)  # every mint hangs
    source = ServiceToken(minting.url, lambda url, body, headers: _signed(headers))
    with KarmoClient(minting.url, source, timeout=0.3, max_retries=0) as client:
        started = time.monotonic()
        errors = run_concurrently(lambda i: client.upsert_role("org_1", f"org-{i}", "A"), 4)
        assert time.monotonic() - started < 10  # only fails on a real hang
    assert len(errors) == 4
    assert all(isinstance(e, APITimeoutError) for e in errors)


def test_a_long_token_is_never_cut_in_half_by_a_bound() -> None:
    from pulumi_karmo_roles._http.untrusted import clean, excerpt

    long_token = "t" * 1000 + "Z"
    assert "tttt" not in clean((long_token + " ") * 50, 200, [long_token])
    page = ("<b></b>" * 400 + long_token).encode()  # the token straddles the excerpt's cut
    assert "tttt" not in excerpt(page, secrets=[long_token])


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("ALL_PROXY", "socks5://127.0.0.1:1", "ImportError"),  # socksio is not installed
        ("SSL_CERT_FILE", "/nonexistent/ca.pem", "FileNotFoundError"),
    ],
)
def test_unusable_network_variables_are_a_configuration_error(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    if variable == "ALL_PROXY" and importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed: a SOCKS proxy is usable here")
    monkeypatch.setenv(variable, value)
    provider = configured_provider(sandbox.url)
    with pytest.raises(ConfigurationError, match="HTTPS_PROXY, ALL_PROXY") as caught:
        provider.create(dict(VALID))
    assert words in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_pasted_token_through_the_engine(sandbox: SandboxServer) -> None:
    process = ProviderProcess()
    try:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN + "\n"})
        assert process.create(VALID)[0] == "org_1/org-a"
        assert TOKEN not in process.stderr()
    finally:
        process.close()


def test_a_redirect_through_the_engine() -> None:
    location = "https://karmo.example/auth-api/organizations/org_1/roles/org-a"
    with HostileServer(lambda seen: Reply(308, {"Location": location}, b"")) as server:
        process = ProviderProcess()
        try:
            process.configure({"karmo:apiUrl": server.url, "karmo:token": TOKEN})
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            assert caught.value.message.startswith(
                "pulumi_karmo_roles.errors.RedirectError: Karmo redirected PUT "
            )
            assert f"to {location}" in caught.value.message
            assert "set `karmo:apiUrl`" in caught.value.message
            assert TOKEN not in caught.value.details
        finally:
            process.close()
