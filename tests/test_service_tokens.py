"""Service tokens minted with AWS SigV4 (``karmo:auth = aws-sigv4``), against the sandbox in
minted-token mode. Fake static AWS credentials; nothing leaves 127.0.0.1 (instance
metadata lookups are disabled)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from pulumi_karmo_roles._http.credentials import ServiceToken, sigv4_signer
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles.errors import (
    APITimeoutError,
    ConfigurationError,
    KarmoError,
    ServiceTokenError,
)
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.concurrency import run_concurrently
from tests.support.harness import EngineError, ProviderProcess
from tests.support.readme import advised_install, install_targets
from tests.support.secrets import AWS_SECRET, aws_env

ROLE = {"organization_id": "org_1", "slug": "org-ops", "name": "Ops"}


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    env = aws_env(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def minting() -> Iterator[SandboxServer]:
    with SandboxServer(token="", token_lifetime=900) as server:
        yield server


@pytest.fixture
def provider(aws: dict[str, str], minting: SandboxServer) -> Iterator[OrganizationRoleProvider]:
    p = OrganizationRoleProvider()
    config = {"karmo:apiUrl": minting.url, "karmo:auth": "aws-sigv4", "karmo:maxRetries": "0"}
    p.configure(ConfigureRequest(Config(config, "sigv4")))
    yield p
    p.close()


def test_mint_on_first_use_then_reuse(
    provider: OrganizationRoleProvider, minting: SandboxServer
) -> None:
    for i in range(5):
        provider.create({**ROLE, "slug": f"org-r{i}"})
    stats = minting.stats()
    assert stats["minted"] == 1
    assert stats["created"] == 5
    mint = [r for r in minting.requests() if r["path"] == "/auth/token"]
    assert len(mint) == 1
    assert mint[0]["method"] == "POST"
    assert mint[0]["body"] == "{}"


def test_sandbox_refuses_an_unsigned_mint(minting: SandboxServer) -> None:
    def unsigned(url: str, body: bytes, headers: object) -> dict[str, str]:
        return {"Content-Type": "application/json"}

    with KarmoClient(minting.url, ServiceToken(minting.url, unsigned), max_retries=0) as client:
        with pytest.raises(ServiceTokenError) as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert "403 FORBIDDEN" in str(caught.value)
    assert "execute-api:Invoke" in str(caught.value)


def test_camel_case_token_answer_is_accepted() -> None:
    def karmo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(200, json={"accessToken": "tok_camel", "expiresIn": 600})
        assert request.headers["Authorization"] == "Bearer tok_camel"
        return httpx.Response(201, json={"id": "role_1"})

    source = ServiceToken("https://karmo.invalid", lambda url, body, headers: dict(headers))
    transport = httpx.MockTransport(karmo)
    with KarmoClient("https://karmo.invalid", source, transport=transport) as client:
        assert client.upsert_role("org_1", "org-a", "A").role_id == "role_1"


@pytest.mark.parametrize(
    "answer",
    [{"expires_in": 900}, {"access_token": "tok_secret_value", "expires_in": -5}, "nope"],
)
def test_unusable_token_answer_is_reported_without_its_body(answer: object) -> None:
    def karmo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    source = ServiceToken("https://karmo.invalid", lambda url, body, headers: dict(headers))
    transport = httpx.MockTransport(karmo)
    with KarmoClient("https://karmo.invalid", source, transport=transport) as client:
        with pytest.raises(ServiceTokenError, match="without a usable token") as caught:
            client.upsert_role("org_1", "org-a", "A")
    assert "tok_secret_value" not in str(caught.value)


def test_renewed_shortly_before_expiry(aws: dict[str, str], minting: SandboxServer) -> None:
    now = [1_000_000.0]
    source = ServiceToken(minting.url, sigv4_signer(None), clock=lambda: now[0])
    with KarmoClient(minting.url, source) as client:
        client.upsert_role("org_1", "org-a", "A")
        now[0] += 900 - 61  # a minute and a second before expiry: still good
        client.upsert_role("org_1", "org-b", "B")
        assert minting.stats()["minted"] == 1
        now[0] += 2  # within the last minute: renew first
        client.upsert_role("org_1", "org-c", "C")
    assert minting.stats()["minted"] == 2


def test_renewed_once_on_401(provider: OrganizationRoleProvider, minting: SandboxServer) -> None:
    provider.create(dict(ROLE))
    minting.expire_tokens()  # Karmo now rejects the cached token
    provider.create({**ROLE, "slug": "org-after"})
    stats = minting.stats()
    assert stats["minted"] == 2
    assert stats["status_401"] == 1


def test_a_second_401_is_reported(aws: dict[str, str], minting: SandboxServer) -> None:
    minting.script({"status": 401}, {"status": 401})  # before and after renewing
    source = ServiceToken(minting.url, sigv4_signer(None))
    with KarmoClient(minting.url, source, max_retries=0) as c:
        with pytest.raises(KarmoError, match="401 UNAUTHORIZED"):
            c.upsert_role("org_1", "org-a", "A")


def test_concurrent_operations_mint_once(
    provider: OrganizationRoleProvider, minting: SandboxServer
) -> None:
    errors = run_concurrently(lambda i: provider.create({**ROLE, "slug": f"org-c{i}"}), 8)
    assert errors == []
    assert minting.stats()["minted"] == 1


def test_missing_extra_names_it(
    minting: SandboxServer, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "botocore" or m.startswith("botocore.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "botocore", None)  # as if not installed
    p = OrganizationRoleProvider()
    p.configure(
        ConfigureRequest(Config({"karmo:apiUrl": minting.url, "karmo:auth": "aws-sigv4"}, "x"))
    )
    with pytest.raises(ConfigurationError) as caught:
        p.create(dict(ROLE))
    # Advice that works today (the package is not on PyPI): the README's command.
    advice = advised_install(str(caught.value))
    assert advice.endswith("[aws]")
    assert advice in install_targets()
    assert minting.stats().get("requests", 0) == 0


def test_missing_region(
    minting: SandboxServer, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigurationError, match="karmo:awsRegion"):
        sigv4_signer(None)


def test_unknown_auth_mode(minting: SandboxServer) -> None:
    # Checked at configure time: even a preview, which calls nothing, fails.
    p = OrganizationRoleProvider()
    with pytest.raises(ConfigurationError, match="karmo:auth must be one of token, aws-sigv4"):
        p.configure(
            ConfigureRequest(Config({"karmo:apiUrl": minting.url, "karmo:auth": "oauth"}, "x"))
        )


def test_tokens_and_credentials_never_leak(
    provider: OrganizationRoleProvider,
    minting: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    created = provider.create(dict(ROLE))
    minting.expire_tokens()
    minting.script({"status": 403, "message": "nope"})
    with pytest.raises(KarmoError) as caught:
        provider.create({**ROLE, "slug": "org-x"})
    secrets = [*minting.minted_tokens(), AWS_SECRET]
    texts = [str(caught.value), repr(caught.value), repr(created.outs), capsys.readouterr().err]
    texts += [record.getMessage() for record in caplog.records]
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_service_tokens_through_the_engine(tmp_path: Path, minting: SandboxServer) -> None:
    with ProviderProcess(env=aws_env(tmp_path)) as process:
        process.configure({"karmo:apiUrl": minting.url, "karmo:auth": "aws-sigv4"})
        for i in range(3):
            process.create({**ROLE, "slug": f"org-e{i}"})
        assert minting.stats()["minted"] == 1
        minting.expire_tokens()  # the next PUT gets 401 ...
        minting.script({"action": "pass"}, {"status": 403})  # ... and the new mint 403
        with pytest.raises(EngineError) as caught:
            process.create({**ROLE, "slug": "org-refused"})
        assert caught.value.message.startswith("pulumi_karmo_roles.errors.ServiceTokenError")
        for secret in [*minting.minted_tokens(), AWS_SECRET]:
            assert secret not in caught.value.details
            assert secret not in process.stderr()


AWS_STYLE = (
    "AWS4-HMAC-SHA256 Credential=FAKEKARMOACCESSKEY01/20260101/eu-west-1/execute-api/"
    "aws4_request, SignedHeaders=host, Signature=" + "0" * 64
)


def _signed(headers: Any) -> dict[str, str]:
    return {**dict(headers), "Authorization": AWS_STYLE, "X-Amz-Date": "20260101T000000Z"}


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


def test_a_mint_counts_against_the_deadline(minting: SandboxServer) -> None:
    minting.script({"action": "hang", "seconds": 3})  # the mint hangs
    source = ServiceToken(minting.url, lambda url, body, headers: _signed(headers))
    policy = RetryPolicy(max_retries=5, deadline=0.5)
    with KarmoClient(minting.url, source, timeout=5, retry_policy=policy) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"0\.5 s retry deadline"):
            client.upsert_role("org_1", "org-a", "A")
        assert time.monotonic() - started < 10  # only fails on a real hang
