"""One exception boundary: whatever sending a request raises ends as a ``KarmoError``
whose text never quotes a header, directly and through ``python -m pulumi.dynamic``."""

from __future__ import annotations

from collections.abc import Generator

import httpx
import pytest

from pulumi_karmo_roles._http.credentials import Credential, ServiceToken
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles.errors import (
    KarmoError,
    RequestNotSentError,
    ServiceTokenError,
    UnprocessableEntityError,
)
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.secrets import TOKEN


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
