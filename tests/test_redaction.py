"""Secrets a server echoes are never shown, however it encoded them, and cleaning server
text takes time linear in its length."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_karmo_roles._http.credentials import ServiceToken
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.session import proxy_credentials
from pulumi_karmo_roles._http.untrusted import clean, excerpt, redact
from pulumi_karmo_roles.errors import (
    InternalServerError,
    KarmoError,
    RedirectError,
    UnprocessableEntityError,
)
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import EngineError, ProviderProcess
from tests.support.secrets import ENCODINGS, TOKEN
from tests.support.servers import HostileServer, Reply, Seen

# A valid token with the characters servers like to escape.
SLASHED = "kr_live/Q7mZp+Xv2Ls9"
VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_each_encoding_of_a_secret_is_redacted(encoding: str) -> None:
    echoed = ENCODINGS[encoding](SLASHED)
    assert redact(f"you sent {echoed}!", [SLASHED]) == "you sent ***!"


# A token whose base64 holds "+" and "/" at each of the three alignments, so that the
# URL-safe alphabet ("-", "_") differs from the standard one inside the secret's bits.
PUNCTUATED_IN_BASE64 = "kr_live/Q7~~~?>?~Xv2Ls9"


@pytest.mark.parametrize("secret", [SLASHED, PUNCTUATED_IN_BASE64])
@pytest.mark.parametrize("offset", [0, 1, 2, 7])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_a_secret_in_base64_is_redacted_whole_at_any_offset_in_a_blob(
    offset: int, encode: Callable[[bytes], bytes], secret: str
) -> None:
    # Wherever the secret sits in a longer base64 blob, its middle characters are the
    # same; the whole run goes, so no character mixing its first or last bits is left.
    blob = encode(b"x" * offset + secret.encode() + b'","n":1}').decode()
    if secret == PUNCTUATED_IN_BASE64:  # the two alphabets differ where the secret is
        assert ("-" in blob) == (encode is base64.urlsafe_b64encode)
    assert redact(f"echo: {blob}.", [secret]) == "echo: ***."


def test_a_short_secret_is_redacted_only_as_itself() -> None:
    # A proxy's 3-character password: its hex and base64 forms would match ordinary text.
    assert redact("pw1 cHcx 707731 PW1", ["pw1"]) == "*** cHcx 707731 ***"


def test_html_named_references_of_every_kind_are_redacted() -> None:
    said = json.dumps({"message": "sk&lowbar;test&UnderBar;k&sol;y&plus;Z&period;9-q"})
    assert redact(said, ["sk_test_k/y+Z.9-q"]) == '{"message": "***"}'


def test_a_numeric_reference_without_its_semicolon_is_redacted() -> None:
    echoed = "".join(f"&#{ord(c)}" for c in SLASHED)  # HTML reads them without ";"
    assert redact(f"<p>{echoed}</p>", [SLASHED]) == "<p>***</p>"


secret_text = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/+.~"),
    min_size=8,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(
    secret=secret_text,
    encoding=st.sampled_from(sorted(ENCODINGS)),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_generated_echoes_of_generated_secrets_are_redacted(
    secret: str, encoding: str, before: str, after: str
) -> None:
    echoed = ENCODINGS[encoding](secret)
    redacted = redact(f"{before} {echoed} {after}", [secret])
    assert echoed not in redacted
    assert "***" in redacted


def test_meta_values_are_cleaned_as_any_server_text() -> None:
    said = f"req \x1b[2J{TOKEN}\n{base64.b64encode(TOKEN.encode()).decode()} " + "x" * 100_000

    def reply(seen: Seen) -> Reply:
        return Reply(500, {}, karmo_error(500, "no", meta={"requestId": said, "other": said}))

    with HostileServer(reply) as server, KarmoClient(server.url, TOKEN, max_retries=0) as c:
        with pytest.raises(KarmoError) as caught:
            c.upsert_role("org_1", "org-a", "A")
    meta = caught.value.meta  # type: ignore[attr-defined]
    assert set(meta) == {"requestId"}
    shown = meta["requestId"]
    assert shown.startswith("req \\x1b[2J***\\n*** xxx")
    assert shown.isprintable()
    assert len(shown) <= 80
    assert caught.value.request_id == shown  # type: ignore[attr-defined]


def slashed_server(where: str) -> HostileServer:
    def reply(seen: Seen) -> Reply:
        token = seen.headers["authorization"].removeprefix("Bearer ")
        if where == "json":
            body = json.dumps({"code": "50000001", "message": f"bad token {token}"})
            return Reply(500, {}, body.replace("/", "\\/").encode())
        return Reply(302, {"Location": f"https://login.example/?t={quote(token, safe='')}"})

    return HostileServer(reply)


@pytest.mark.parametrize("where", ["json", "location"])
def test_a_token_echoed_encoded_is_never_quoted(where: str) -> None:
    with (
        slashed_server(where) as server,
        KarmoClient(server.url, SLASHED, max_retries=0) as client,
        pytest.raises(KarmoError) as caught,
    ):
        client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    for encode in ENCODINGS.values():
        assert encode(SLASHED) not in text
    assert "***" in text
    if where == "location":
        assert isinstance(caught.value, RedirectError)


@pytest.mark.parametrize("where", ["json", "location"])
def test_a_token_echoed_encoded_through_the_engine(where: str) -> None:
    with slashed_server(where) as server:
        with ProviderProcess() as process:
            process.configure(
                {"karmo:apiUrl": server.url, "karmo:token": SLASHED, "karmo:maxRetries": "0"}
            )
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            for encode in ENCODINGS.values():
                assert encode(SLASHED) not in caught.value.details
                assert encode(SLASHED) not in process.stderr()


def test_proxy_credentials_are_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://ops%40corp:s3cr%2Ft@proxy.corp:3128")
    found = proxy_credentials()
    assert "ops@corp:s3cr/t" in found  # decoded, as a proxy would see it
    assert "s3cr/t" in found
    assert "s3cr%2Ft" in found
    assert "b3BzQGNvcnA6czNjci90" in found  # base64, as in Proxy-Authorization
    assert redact("407: denied s3cr%2Ft and b3BzQGNvcnA6czNjci90", found) == (
        "407: denied *** and ***"
    )


def test_a_proxy_echoing_its_credentials_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    def reply(seen: Seen) -> Reply:
        said = seen.headers.get("proxy-authorization", "")
        return Reply(502, {}, f"<html>bad gateway for {said} hunter22</html>".encode())

    with HostileServer(reply) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://ops:hunter22@127.0.0.1:{proxy.port}")
        with (
            KarmoClient("http://karmo.example", "kt_token_0123456789", max_retries=0) as c,
            pytest.raises(KarmoError) as caught,
        ):
            c.upsert_role("org_1", "org-a", "A")
    assert "hunter22" not in str(caught.value)
    assert "b3BzOmh1bnRlcjIy" not in str(caught.value)


# Linear time ---------------------------------------------------------------------------------


def finishes(seconds: float, call: Callable[[], Any]) -> None:
    """Fail only if ``call`` is still running after ``seconds``: each of these inputs took
    minutes or hours when cleaning was quadratic, and takes well under a second now."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"


PATHOLOGICAL = {
    "jwt starts without a dot": "eyJ" * 400_000,
    "bearer runs without a digit": "bearer " + "a" * 1_000_000,
    "many bearers": "Bearer abcdefgh " * 100_000,
    "authorization without a colon": "authorization" + " " * 1_000_000,
    "token without a value": "token" + " " * 1_000_000,
    "unclosed tags": "<" * 1_000_000,
    "unclosed scripts": "<script " * 200_000,
    "escapes": "\\u00" * 300_000,
    "percent signs": "%2" * 500_000,
    "one base64 run": "QUFB" * 250_000,
    "echoes in one base64 run": (base64.b64encode(SLASHED.encode()).decode() + "A") * 40_000,
    "hex digits": "6b72" * 250_000,
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_cleaning_is_linear(name: str) -> None:
    text = PATHOLOGICAL[name]
    finishes(30, lambda: clean(text, 300, [SLASHED, "kt_other_0123456789abcdef"]))
    finishes(30, lambda: excerpt(text.encode(), 160, [SLASHED]))


def test_cleaning_still_redacts_what_it_did() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    for text, kept in [
        (f"token {jwt} here", "token *** here"),
        (f"x{jwt}", f"x{jwt}"),  # inside a longer run: not a JWT of its own
        ("Authorization: Bearer abc123def456", "Authorization: ***"),
        ("Bearer authentication is required", "Bearer authentication is required"),
        ("use Bearer sk_12345678abc", "use Bearer ***"),
        ('{"access_token": "abcd1234"}', '{"access_token": "***"}'),
        ("Signature=0123456789abcdef", "Signature=***"),
    ]:
        assert redact(text) == kept
    assert excerpt(b"<html><script>var t = 1;</script><p>Bad &amp; gateway</p>") == (
        "Bad & gateway"
    )


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
        with ProviderProcess() as process:
            process.configure(
                {"karmo:apiUrl": server.url, "karmo:token": TOKEN, "karmo:maxRetries": "0"}
            )
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            assert "***" in caught.value.message
            assert TOKEN not in caught.value.details
            assert TOKEN not in process.stderr()


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


def test_a_long_token_is_never_cut_in_half_by_a_bound() -> None:
    from pulumi_karmo_roles._http.untrusted import clean, excerpt

    long_token = "t" * 1000 + "Z"
    assert "tttt" not in clean((long_token + " ") * 50, 200, [long_token])
    page = ("<b></b>" * 400 + long_token).encode()  # the token straddles the excerpt's cut
    assert "tttt" not in excerpt(page, secrets=[long_token])
