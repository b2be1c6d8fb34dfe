"""Text from the network, made safe to show: the one step between what Karmo (or a
proxy, a gateway, a redirect) sends and an error message, a log record or a warning.

Every piece of server text passes through :func:`clean`, which

1. redacts credentials: each secret in use (the token, minted tokens, proxy passwords),
   also where the server echoed it in another case, JSON-escaped, percent-encoded, as
   HTML character references, in hex or in base64 (see :mod:`.echoes`), and anything
   shaped like a credential (``Bearer ...``, a JWT, an AWS signature) becomes ``***``;
2. escapes control, format and separator characters (``\\n``, ``\\x1b``, ``\\u202e``),
   so nothing rewrites the user's terminal or hides text;
3. bounds the length.

Each step is linear in the length of its input, so no answer can make cleaning slow.
:func:`read_answer` reads a non-2xx answer into the one model of an error body,
:class:`Answer`, tolerant of every shape the contract allows.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import FieldError, status_name
from .echoes import redact_secret
from .models import is_json, load_json

REDACTED = "***"
"""What a credential becomes."""

# Every pattern is linear: no two quantifiers can share characters, and a pattern that
# may fail after a long run starts only where such a run starts (the JWT's look-behind).
_CREDENTIAL_SHAPES = [
    # "Bearer <credential>": only a run with a digit (the replacement checks), so
    # "bearer authentication" stays
    re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})"),
    # "Authorization: <anything>" up to the end of the line or quote
    re.compile(r"(?i)\b(authorization)(\s*[:=]\s*)([^\r\n\"'<]{4,})"),
    # "access_token": "<x>", token=<x>, api_key=<x>
    re.compile(
        r"(?i)\b(access_?token|refresh_?token|api_?key|token)(\"?\s*[:=]\s*\"?)([^\s\"'<>,;&]{4,})"
    ),
    # a JWT: three base64url parts, the first a JSON header
    re.compile(r"()()((?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)"),
    # AWS SigV4 parts
    re.compile(r"(Signature|Credential)(=)([A-Za-z0-9/+=_-]{8,})"),
]
_DIGIT = re.compile(r"[0-9]")
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})
_SPACE = re.compile(r"\s+")
# A tag never holds "<", so a run of unclosed "<" is scanned once.
_TAG = re.compile(r"<[^<>]*>")
_HIDDEN_ELEMENT = re.compile(r"<(script|style)\b", re.IGNORECASE)


def _shape_replacement(match: re.Match[str]) -> str:
    head, gap, value = match.groups()
    if head.lower() in ("bearer", "basic") and not _DIGIT.search(value):
        return match.group(0)
    return f"{head}{gap}{REDACTED}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (however the server encoded it) and every
    credential-shaped run replaced by ``***``. Linear in the length of ``text``."""
    text = redact_secrets(text, secrets)
    for shape in _CREDENTIAL_SHAPES:
        text = shape.sub(_shape_replacement, text)
    return text


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (however the server encoded it) replaced by
    ``***``, and nothing else changed: for text that is kept as it is, where a run that
    merely looks like a credential (``token=abc123``) may be a role's real name."""
    for secret in secrets:
        if secret:
            text = redact_secret(text, secret, REDACTED)
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


def _strip_tags(text: str) -> str:
    # A script or style element's text is no message: drop it to its end tag (or to the
    # end of the text), searching forward only, so the scan stays linear.
    parts, at = [], 0
    while found := _HIDDEN_ELEMENT.search(text, at):
        parts.append(text[at : found.start()])
        end = text.lower().find(f"</{found.group(1).lower()}", found.end())
        if end < 0:
            at = len(text)
            break
        close = text.find(">", end)
        at = len(text) if close < 0 else close + 1
    parts.append(text[at:])
    return _TAG.sub(" ", " ".join(parts))


def excerpt(content: bytes, limit: int = 160, secrets: Iterable[str] = ()) -> str:
    """A short, single-line, tag-free excerpt of a body that is not a Karmo error (a
    proxy's HTML page), cleaned."""
    secrets = tuple(secrets)
    text = redact(content.decode("utf-8", errors="replace"), secrets)[: limit * 16]
    text = _SPACE.sub(" ", html.unescape(_strip_tags(text))).strip()
    return clean(text, limit, secrets) if text else "(empty body)"


_KARMO_CODE = re.compile(r"[0-9]{8}")
_MAX_FIELD_ERRORS = 10


@dataclass(frozen=True)
class Answer:
    """What a non-2xx answer said, every text cleaned: the one model of an error body."""

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
    """A short excerpt of a body that is not an error envelope."""
    location: str | None
    """The ``Location`` of a redirect."""

    @property
    def status_name(self) -> str:
        """The status's name, e.g. ``BAD_GATEWAY``."""
        return status_name(self.status_code)


def read_answer(response: httpx.Response, content: bytes, secrets: Iterable[str]) -> Answer:
    """Read a non-2xx answer tolerantly and clean everything it says. The envelope may be
    Karmo's (``code``, ``message``, ``meta``, ``errors``), wrapped as ``{"error": {...}}``,
    with JSON:API pointers (``source.pointer``), or WorkOS's (``message`` or
    ``error_description``, ``code``, ``errors`` with ``field``). A body that cannot be
    parsed (not JSON, nested too deep, cut at the size bound) is classified by the status
    alone, with a short excerpt."""
    secrets = tuple(secrets)

    def text(value: object, limit: int) -> str | None:
        return None if value is None else clean(value, limit, secrets)

    status, retry_after = response.status_code, response.headers.get("Retry-After")
    location = response.headers.get("Location") if 300 <= status < 400 else None
    header_id = response.headers.get("X-Request-Id")
    data = load_json(content)
    if is_json(data) and isinstance(data, dict) and isinstance(data.get("error"), dict):
        data = data["error"]
    if not (is_json(data) and isinstance(data, dict)):
        return Answer(
            status_code=status,
            retry_after=retry_after,
            karmo_body=False,
            code=None,
            message=None,
            errors=(),
            request_id=text(header_id, 80),
            meta={},
            body_excerpt=excerpt(content, secrets=secrets),
            location=text(location, 200),
        )
    code = _said(data.get("code"))
    message = _said(data.get("message"))
    if message is None:
        message = _said(data.get("error_description") or data.get("error"))
    meta: dict[str, Any] = data["meta"] if isinstance(data.get("meta"), dict) else {}
    request_id = _said(meta.get("requestId") or meta.get("request_id")) or header_id
    raw_errors = data.get("errors")
    raw_errors = [] if raw_errors is None else raw_errors
    items = raw_errors if isinstance(raw_errors, list) else [raw_errors]
    errors = tuple(
        FieldError(text(pointer, 120), text(detail, 200))
        for pointer, detail in map(_field, items[:_MAX_FIELD_ERRORS])
    )
    return Answer(
        status_code=status,
        retry_after=retry_after,
        karmo_body=code is not None and _KARMO_CODE.fullmatch(code) is not None,
        code=text(code, 20),
        message=text(message, 300),
        errors=errors,
        request_id=text(request_id, 80),
        # meta is kept for code that inspects it (never part of a message), cleaned as
        # any server text is: it reaches whatever logs or shows the exception.
        meta={k: text(v, 80) for k, v in meta.items() if k in ("requestId", "request_id")},
        body_excerpt=None,
        location=text(location, 200),
    )


def _field(raw: Any) -> tuple[str | None, str | None]:
    """A field error's pointer and detail, in any of the shapes servers send:
    ``{"pointer", "detail"}``, JSON:API's ``{"source": {"pointer"}}``, WorkOS's
    ``{"field", "code"}``, ``message``/``title`` for the detail, or a bare string."""
    if not isinstance(raw, dict):
        return None, _said(raw)
    pointer = raw.get("pointer") or raw.get("field") or raw.get("param")
    source = raw.get("source")
    if pointer is None and isinstance(source, dict):
        pointer = source.get("pointer") or source.get("parameter")
    detail = raw.get("detail") or raw.get("message") or raw.get("title") or raw.get("code")
    return _said(pointer), _said(detail)


def _said(value: Any) -> str | None:
    """A JSON value as text (an object or a number as JSON), or ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (ValueError, RecursionError):
        return None
