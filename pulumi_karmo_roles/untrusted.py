"""Text from the network, made safe to show: the one step between what Karmo (or a
proxy, a gateway, a redirect) sends and an error message, a log record or a warning.

Every piece of server text passes through :func:`clean`, which

1. redacts credentials: each secret in use (the token, minted tokens, proxy passwords),
   also where the server echoed it JSON-escaped, percent-encoded or as HTML character
   references, and anything shaped like a credential (``Bearer ...``, a JWT, an AWS
   signature) becomes ``***``;
2. escapes control, format and separator characters (``\\n``, ``\\x1b``, ``\\u202e``),
   so nothing rewrites the user's terminal or hides text;
3. bounds the length.

Each step is linear in the length of its input, so no answer can make cleaning slow.
Bodies are bounded after decoding (:class:`BoundedBody`): a compressed answer is
inflated to at most :data:`MAX_BODY_BYTES`.
"""

from __future__ import annotations

import functools
import html
import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

from .errors import FieldError
from .models import parse_error_body

__all__ = [
    "ACCEPT_ENCODING",
    "MAX_BODY_BYTES",
    "REDACTED",
    "Answer",
    "BoundedBody",
    "bound_answer",
    "clean",
    "excerpt",
    "read_answer",
    "redact",
]

MAX_BODY_BYTES = 1 << 20
"""Largest response body read, after decoding; a bigger one is cut there (it is never a
valid answer). The bytes on the wire are bounded the same way."""

ACCEPT_ENCODING = "gzip, deflate"
"""The content codings :class:`BoundedBody` decodes, and so the only ones requested."""

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


def _hex(value: int, width: int) -> str:
    """``value`` as hex digits, each matching either case."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _encodings(ch: str) -> str:
    """A pattern for one character of a secret as a server may echo it: as itself,
    JSON-escaped, percent-encoded or as an HTML character reference."""
    forms = [re.escape(ch)]
    code = ord(ch)
    if code > 0xFFFF:  # JSON escapes it as a surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(rf"\\u{_hex(high, 4)}\\u{_hex(low, 4)}")
    else:
        forms.append(rf"\\u{_hex(code, 4)}")
    short = json.dumps(ch)[1:-1]
    if short.startswith("\\") and not short.startswith("\\u"):
        forms.append(re.escape(short))
    if ch == "/":
        forms.append(r"\\/")
    forms.append("".join(f"%{_hex(byte, 2)}" for byte in ch.encode("utf-8")))
    if ch == " ":
        forms.append(r"\+")
    forms.append(rf"&#0*{code};")
    forms.append(rf"&#[xX]0*{_hex(code, 1)};")
    return "(?:" + "|".join(forms) + ")"


@functools.lru_cache(maxsize=64)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    return re.compile("".join(_encodings(ch) for ch in secret))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (however the server encoded it) and every
    credential-shaped run replaced by ``***``. Linear in the length of ``text``."""
    for secret in secrets:
        if secret:
            text = _secret_pattern(secret).sub(REDACTED, text)
    for shape in _CREDENTIAL_SHAPES:
        text = shape.sub(_shape_replacement, text)
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
    """Parse a non-2xx answer tolerantly and clean everything it says. A body that cannot
    be parsed (not JSON, nested too deep, cut at the size bound) is classified by the
    status alone, with a short excerpt."""
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


def bound_answer(response: httpx.Response) -> None:
    """A response hook, run for every answer the client receives (a mint's and a 401's
    too, which httpx reads itself): its body becomes a :class:`BoundedBody`, and httpx
    no longer decodes it (the header that would make it is taken off)."""
    codings = response.headers.get_list("Content-Encoding", split_commas=True)
    if codings:
        del response.headers["Content-Encoding"]
    assert isinstance(response.stream, httpx.SyncByteStream)
    response.stream = BoundedBody(response.stream, codings)


class _Inflater:
    """One gzip or deflate layer, inflating no more than it is asked for."""

    def __init__(self, coding: str) -> None:
        # deflate: zlib-wrapped, as the standard says, or raw, as some servers send it.
        self._raw_fallback = coding == "deflate"
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in coding else 15)
        self._started = False

    def inflate(self, data: bytes, limit: int) -> bytes:
        data = self._inflater.unconsumed_tail + data
        try:
            out = self._inflater.decompress(data, limit)
        except zlib.error:
            if not (self._raw_fallback and not self._started):
                raise
            self._raw_fallback = False
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inflater.decompress(data, limit)
        self._started = True
        return out


class BoundedBody(httpx.SyncByteStream):
    """A response body that yields at most :data:`MAX_BODY_BYTES` after decoding its
    ``Content-Encoding`` (gzip, deflate, identity, in any number of layers) and reads at
    most that many bytes from the wire: a compression bomb is inflated only up to the
    bound. A body in any other coding, or one that does not decode, ends where it
    breaks (it is never a valid answer, and its status still classifies it)."""

    def __init__(self, stream: httpx.SyncByteStream, codings: list[str]) -> None:
        self._stream = stream
        codings = [c.strip().lower() for c in codings if c.strip().lower() != "identity"]
        self._layers: list[_Inflater] | None = []
        for coding in reversed(codings):  # the last coding applied is undone first
            if coding not in ("gzip", "x-gzip", "deflate"):
                self._layers = None
                break
            self._layers.append(_Inflater(coding))

    def __iter__(self) -> Iterator[bytes]:
        if self._layers is None:
            return
        read = given = 0
        for chunk in self._stream:
            read += len(chunk)
            data = chunk[: MAX_BODY_BYTES - (read - len(chunk))]
            try:
                for layer in self._layers:
                    data = layer.inflate(data, MAX_BODY_BYTES - given + 1)
            except zlib.error:
                return
            data = data[: MAX_BODY_BYTES - given]
            given += len(data)
            if data:
                yield data
            if given >= MAX_BODY_BYTES or read >= MAX_BODY_BYTES:
                return

    def close(self) -> None:
        self._stream.close()
