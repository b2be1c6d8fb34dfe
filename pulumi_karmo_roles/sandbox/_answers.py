"""The answers the sandbox sends, and the shapes every room builds them in: Karmo's
error envelope, WorkOS's error, a proxy's HTML page. The handler writes them out."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

_PROXY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
    "{reason}</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True)
class Answer:
    """One answer to send: its status, body, ``Content-Type`` and further headers."""

    status: int
    content: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    """An answer with a JSON body."""
    return Answer(status, json.dumps(body).encode(), "application/json", headers or {})


def karmo_error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Answer:
    """An error in Karmo's envelope, with a fresh ``X-Request-Id``."""
    request_id = "req_" + secrets.token_hex(8)
    body = {
        "code": code,
        "message": message,
        "meta": {"requestId": request_id},
        "errors": errors or [],
    }
    return json_answer(status, body, {"X-Request-Id": request_id, **(headers or {})})


def workos_error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    errors: list[dict[str, str]] | None = None,
) -> Answer:
    """An error in WorkOS's shape, with a fresh ``X-Request-ID``."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_answer(status, body, {**workos_request_id(), **(headers or {})})


def workos_request_id() -> dict[str, str]:
    """The ``X-Request-ID`` header every WorkOS answer carries, fresh."""
    return {"X-Request-ID": "req_" + secrets.token_hex(12)}


def proxy_page(status: int, headers: dict[str, str] | None = None) -> Answer:
    """The HTML error page a proxy in front of the service would send."""
    page = _PROXY_PAGE.format(status=status, reason=HTTPStatus(status).phrase)
    return Answer(status, page.encode(), "text/html", headers or {})
