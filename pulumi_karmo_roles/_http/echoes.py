"""The forms in which a server may echo a secret it was sent, as patterns that find them.

A secret comes back as itself in any case (a gateway that upper-cases what it logs),
each character JSON-escaped, percent-encoded or as an HTML character reference (numeric
or named: ``&lowbar;``, ``&UnderBar;``); or derived: in hex, or in base64 (alone, inside
``Bearer <key>``, inside HTTP Basic's ``<key>:``, or inside any longer base64 blob). Each
pattern is a chain of per-character alternatives whose first characters differ, so a
search is linear in the length of the text.
"""

from __future__ import annotations

import base64
import functools
import html.entities
import json
import re

DERIVED_MIN_LENGTH = 8
"""Secrets shorter than this (a proxy's 3-character password) are redacted as
themselves only: their hex or base64 forms would be short enough to match ordinary
text."""

# Characters that may continue a base64 run around a secret's core: both alphabets, the
# padding, and the escapes a JSON or URL encoder puts in it ("\/", "%2F").
_BASE64_RUN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_\\%")


def _hex(value: int, width: int) -> str:
    """``value`` as hex digits, each matching either case."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


@functools.cache
def _named_references() -> dict[str, list[str]]:
    """Each character that has HTML named references, and those names (``_``:
    ``lowbar;``, ``UnderBar;``), from the HTML5 table."""
    names: dict[str, list[str]] = {}
    for name, value in html.entities.html5.items():
        if len(value) == 1:
            names.setdefault(value, []).append(name)
    return names


def _encodings(ch: str, cased: bool = False) -> str:
    """A pattern for one character of a secret as a server may echo it: as itself (in
    either case unless ``cased``), JSON-escaped, percent-encoded or as an HTML character
    reference."""
    forms = [re.escape(ch)]
    # The other case spelled out: re.IGNORECASE would make the whole search 5 times slower.
    if not cased and ch.swapcase() != ch:
        forms.append(re.escape(ch.swapcase()))
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
    forms.append(rf"&#0*{code};?")
    forms.append(rf"&#[xX]0*{_hex(code, 1)};?")
    forms += [f"&{re.escape(name)}" for name in _named_references().get(ch, ())]
    return "(?:" + "|".join(forms) + ")"


def _chain(text: str, cased: bool = False) -> str:
    return "".join(_encodings(ch, cased) for ch in text)


def base64_cores(secret: str) -> tuple[str, ...]:
    """The base64 characters that hold nothing but ``secret``'s bits, for each of the
    three alignments it may have inside a longer blob (``Bearer <key>`` puts it at byte
    7, Basic's ``<key>:`` at byte 0), in the standard and the URL-safe alphabet. Whatever
    surrounds the secret, its base64 form holds one of these."""
    data = secret.encode("utf-8")
    cores: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode()
        # Character i holds bits [6i, 6i + 6); the secret's bits are [8 offset, 8 (offset + n)).
        first, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6
        core = encoded[first:end]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return tuple(dict.fromkeys(cores))


@functools.lru_cache(maxsize=64)
def secret_patterns(secret: str) -> tuple[re.Pattern[str], ...]:
    """Patterns for the secret itself in any case and any per-character encoding, and in
    hex. Each is searched on its own: one alternation of them would cost the regex
    engine its scan for a first character, ten times slower."""
    patterns = [re.compile(_chain(secret))]
    if len(secret) >= DERIVED_MIN_LENGTH:
        patterns.append(re.compile(re.escape(secret.encode("utf-8").hex()), re.IGNORECASE))
    return tuple(patterns)


@functools.lru_cache(maxsize=64)
def base64_patterns(secret: str) -> tuple[re.Pattern[str], ...]:
    """Patterns for the secret's base64 cores (case-sensitive, as base64 is), each
    character in any encoding; none for a secret too short to derive from."""
    if len(secret) < DERIVED_MIN_LENGTH:
        return ()
    return tuple(re.compile(_chain(core, cased=True)) for core in base64_cores(secret))


def redact_base64(text: str, pattern: re.Pattern[str], replacement: str) -> str:
    """``text`` with each base64 run holding a match of ``pattern`` replaced whole, so
    that the characters mixing the secret's first or last bits with its neighbours' go
    too. Linear: a run is widened left only back to where the previous one ended, and
    right only forward."""
    parts: list[str] = []
    done = 0  # text[:done] is in parts
    for found in pattern.finditer(text):
        if found.start() < done:
            continue
        start, end = found.start(), found.end()
        while start > done and text[start - 1] in _BASE64_RUN:
            start -= 1
        while end < len(text) and text[end] in _BASE64_RUN:
            end += 1
        parts += [text[done:start], replacement]
        done = end
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def redact_secret(text: str, secret: str, replacement: str) -> str:
    """``text`` with every echo of ``secret`` replaced by ``replacement``."""
    for pattern in secret_patterns(secret):
        text = pattern.sub(replacement, text)
    for pattern in base64_patterns(secret):
        text = redact_base64(text, pattern, replacement)
    return text
