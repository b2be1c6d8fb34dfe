"""Every value a review shows passes through here: the text of a preview is the pull
request author's (or anyone's who can write the file), so it is shown inert.

- :func:`plain` (terminals, finding messages): credentials redacted, control, format and
  bidi characters escaped (``\\n``, ``\\u202e``), bounded; the package's cleaning of
  server text (:func:`~pulumi_karmo_roles._http.untrusted.clean`).
- :func:`code` (Markdown): :func:`plain`, then every ASCII punctuation character as a
  numeric character reference inside ``<code>``: no Markdown, HTML, table pipe, comment
  (``<!--``, ``</details>``), link, ``@mention`` or ``#reference`` can come of it.
- :func:`exact` (JSON): redacted and bounded, nothing else changed (JSON escapes the rest).

A permission that matches the permission rule is shown as it is: a slug such as
``token:read`` is no credential, though redaction would take it for one.
"""

from __future__ import annotations

import re

from .._http.untrusted import clean, redact

_PERMISSION = re.compile(r"[a-z0-9:._*-]{1,255}")
_WINDOW = 4096  # a longer value is cut anyway: redact only what can be shown
_PLAIN_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -/")
JSON_LIMIT = 1000
"""The longest string a review's JSON holds (Karmo's own limits are 255)."""
_MARKER = re.compile(r"[^A-Za-z0-9._/-]")


def plain(value: str | None, limit: int = 120, *, permission: bool = False) -> str:
    """``value`` made safe for a terminal or a message, at most ``limit`` characters."""
    if value is None:
        return "(unknown)"
    if permission and _PERMISSION.fullmatch(value) and len(value) <= limit:
        return value
    if value == "":
        return '""'
    return clean(value[:_WINDOW], limit)


def code(value: str | None, limit: int = 120, *, permission: bool = False) -> str:
    """``value`` as inert Markdown: an HTML ``<code>`` element of character references."""
    if value is None:
        return "<i>unknown</i>"
    text = plain(value, limit, permission=permission)
    return (
        "<code>" + "".join(ch if ch in _PLAIN_ASCII else _reference(ch) for ch in text) + "</code>"
    )


def _reference(ch: str) -> str:
    return f"&#{ord(ch)};" if ord(ch) < 128 else ch


def exact(value: str | None, *, permission: bool = False) -> str | None:
    """``value`` for JSON: credential-shaped runs redacted, at most :data:`JSON_LIMIT`."""
    if value is None or (permission and _PERMISSION.fullmatch(value)):
        return value
    text = redact(value[: JSON_LIMIT * 4])
    return text if len(text) <= JSON_LIMIT else text[: JSON_LIMIT - 1] + "…"


def marker_part(value: str, limit: int = 100) -> str:
    """A project's or stack's name as it may stand in the hidden marker comment."""
    return _MARKER.sub("_", redact(value[: limit * 4])[:limit]) or "_"
