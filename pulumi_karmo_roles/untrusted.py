"""Text from the network, made safe to show: the one step between what Karmo (or a
proxy, a gateway, a redirect) sends and an error message, a log record or a warning.

Every piece of server text passes through :func:`clean`, which

1. redacts credentials: the token in use (static or minted) and anything shaped like a
   bearer credential (``Bearer ...``, a JWT, an AWS signature) become ``***``;
2. escapes control, format and separator characters (``\\n``, ``\\x1b``, ``\\u202e``),
   so nothing rewrites the user's terminal or hides text;
3. bounds the length.

Bodies are read with a size cap (:data:`MAX_BODY_BYTES`).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import httpx

from .errors import FieldError
from .models import parse_error_body

__all__ = [
    "EXPIRES",
    "MAX_BODY_BYTES",
    "REDACTED",
    "Answer",
    "CappedStream",
    "bound_answer",
    "clean",
    "excerpt",
    "read_answer",
    "redact",
]

MAX_BODY_BYTES = 1 << 20
"""Largest response body read; a bigger one is cut there (it is never a valid answer)."""

REDACTED = "***"
"""What a credential becomes."""

_CREDENTIAL_SHAPES = [
    # "Bearer <credential>": a run with a digit, so "bearer authentication" stays
    re.compile(r"(?i)\b(bearer|basic)(\s+)(?=[^\s]*[0-9])[A-Za-z0-9._~+/=-]{8,}"),
    # "Authorization: <anything>" up to the end of the line or quote
    re.compile(r"(?i)\b(authorization)(\s*[:=]\s*)[^\r\n\"'<]{4,}"),
    # "access_token": "<x>", token=<x>, api_key=<x>
    re.compile(
        r"(?i)\b(access_?token|refresh_?token|api_?key|token)(\"?\s*[:=]\s*\"?)[^\s\"'<>,;&]{4,}"
    ),
    # a JWT: three base64url parts, the first a JSON header
    re.compile(r"()()eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    # AWS SigV4 parts
    re.compile(r"(Signature|Credential)(=)[A-Za-z0-9/+=_-]{8,}"),
]
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and every credential-shaped run replaced by
    ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for shape in _CREDENTIAL_SHAPES:
        text = shape.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return text


def _escape(text: str) -> str:
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == " " or unicodedata.category(ch) not in _ESCAPED_CATEGORIES:
            out.append(ch)
        else:
            escaped = repr(ch)[1:-1]  # \n, \x1b, \u202e
            out.append(escaped if escaped != ch else f"\\u{ord(ch):04x}")
    return "".join(out)


def clean(value: object, limit: int, secrets: Iterable[str] = ()) -> str:
    """Server text made safe to show: credentials redacted, control characters escaped,
    at most ``limit`` characters (cut with ``…``). Non-text values are shown as text."""
    text = value if isinstance(value, str) else str(value)
    # Redact the whole text before any cut, so no cut ever leaves part of a token behind.
    text = _escape(redact(text, secrets)[: limit * 2])
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def excerpt(content: bytes, limit: int = 160, secrets: Iterable[str] = ()) -> str:
    """A short, single-line, tag-free excerpt of a body that is not a Karmo error (a
    proxy's HTML page), cleaned."""
    secrets = tuple(secrets)
    text = redact(content.decode("utf-8", errors="replace"), secrets)[: limit * 16]
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()
    return clean(text, limit, secrets) if text else "(empty body)"


@dataclass(frozen=True)
class Answer:
    """What a non-2xx answer said, every text cleaned."""

    status_code: int
    retry_after: str | None
    """The ``Retry-After`` header, for the retry policy to parse (never shown)."""
    karmo_body: bool
    """True when the body is Karmo's error envelope (an 8-digit code), not a proxy's."""
    code: str | None
    message: str | None
    errors: tuple[FieldError, ...]
    request_id: str | None
    meta: dict[str, object]
    body_excerpt: str | None
    """A short excerpt of a body that is not a Karmo error."""
    location: str | None
    """The ``Location`` of a redirect."""


def read_answer(response: httpx.Response, content: bytes, secrets: Iterable[str]) -> Answer:
    """Parse a non-2xx answer tolerantly and clean everything it says."""
    secrets = tuple(secrets)
    body = parse_error_body(content)

    def text(value: object, limit: int) -> str | None:
        return None if value is None else clean(value, limit, secrets)

    status, retry_after = response.status_code, response.headers.get("Retry-After")
    location = response.headers.get("Location") if 300 <= status < 400 else None
    if body is None:
        return Answer(
            status_code=status,
            retry_after=retry_after,
            karmo_body=False,
            code=None,
            message=None,
            errors=(),
            request_id=text(response.headers.get("X-Request-Id"), 80),
            meta={},
            body_excerpt=excerpt(content, secrets=secrets),
            location=text(location, 200),
        )
    errors = tuple(FieldError(text(e.pointer, 120), text(e.detail, 200)) for e in body.errors)
    return Answer(
        status_code=status,
        retry_after=retry_after,
        karmo_body=body.is_karmo_error,
        code=text(body.code, 20),
        message=text(body.message, 300),
        errors=errors,
        request_id=text(body.request_id or response.headers.get("X-Request-Id"), 80),
        # meta is kept for code that inspects it; it is never part of a message.
        meta={k: v for k, v in body.meta.items() if k in ("requestId", "request_id")},
        body_excerpt=None,
        location=text(location, 200),
    )


EXPIRES = "pulumi_karmo_roles.expires"
"""The request extension that holds when the attempt's time is up (on the client's clock)."""


def bound_answer(response: httpx.Response, clock: Callable[[], float]) -> None:
    """A response hook: cap the body's size and end the attempt when its time is up
    (``EXPIRES``), however slowly the bytes come, or at once if the headers came late."""
    expires = response.request.extensions.get(EXPIRES, math.inf)

    def expired() -> bool:
        return bool(clock() >= expires)

    if expired():  # connecting, sending and the headers took it all
        raise httpx.ReadTimeout("the answer took longer than the attempt's timeout")
    assert isinstance(response.stream, httpx.SyncByteStream)
    response.stream = CappedStream(response.stream, expired)


class CappedStream(httpx.SyncByteStream):
    """A response body that stops at :data:`MAX_BODY_BYTES` and raises
    :class:`httpx.ReadTimeout` once ``expired()`` says the attempt's time is up: a server
    that sends one byte a second cannot stretch an attempt past its timeout."""

    def __init__(self, stream: httpx.SyncByteStream, expired: Callable[[], bool]) -> None:
        self._stream = stream
        self._expired = expired

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self._stream:
            if self._expired():
                raise httpx.ReadTimeout("the answer took longer than the attempt's timeout")
            yield chunk[: MAX_BODY_BYTES - size]
            size += len(chunk)
            if size >= MAX_BODY_BYTES:
                return

    def close(self) -> None:
        self._stream.close()
