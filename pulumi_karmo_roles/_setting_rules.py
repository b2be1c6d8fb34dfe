"""The rules a setting's value must follow (a URL, a number of seconds, an AWS region),
each broken rule one line that names the setting and shows its value bounded, escaped,
and never with a URL's password."""

from __future__ import annotations

import ipaddress
import math
import re
from urllib.parse import urlsplit

from .errors import ConfigurationError

MIN_SECONDS = 0.001
"""Smallest ``karmo:timeout`` and ``karmo:retryDeadline``, in seconds: 1 ms. Less is no
time at all (``5e-324`` would time out every request before it is sent)."""

MAX_URL_LENGTH = 1000
"""Longest URL setting, in characters."""

_SHOWN = 80
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
_MAX_REGION_LENGTH = 40
_LOOPBACK_NAMES = ("localhost", "localhost.")
_BASE_URL = "an http(s) base URL such as https://api.example.com/path"


def shown(text: str) -> str:
    """A setting's value in a message: at most 80 characters, quoted, every control
    or format character escaped (``repr`` escapes every character that is not
    printable)."""
    return repr(text[:_SHOWN] + ("…" if len(text) > _SHOWN else ""))


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, to be shown."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{tail}"


def _unprintable(text: str) -> str | None:
    for ch in text:
        if not ch.isprintable() or ch.isspace():
            return f"U+{ord(ch):04X}"
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's hostname) is this machine: ``localhost``, 127.0.0.0/8 or
    ``::1`` (an IPv4-mapped ``::ffff:127.x.y.z`` too)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an API base URL the key or token is sent to, or ``None``."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters, not {len(url)}"
    bad = _unprintable(url)
    if bad:
        return f"must not contain whitespace, control or format characters (it holds {bad})"
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return f"must be {_BASE_URL} (its port is not a number from 1 to 65535)"
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        return f"must be {_BASE_URL}"
    if "@" in parts.netloc:
        return (
            "must not carry a user name or password (`user:password@`): the credential "
            "travels in a header, never in the URL"
        )
    if port == 0:
        return "must not name port 0"
    if parts.scheme == "http" and not is_loopback(host):
        return (
            "must use https:// (http:// only for a loopback host, 127.0.0.0/8, ::1 or "
            "localhost: the credential would travel in clear text)"
        )
    return None


def check_url(url: str, source: str) -> None:
    """:raises ConfigurationError: ``url`` breaks :func:`url_problem`'s rules; the message
    names ``source`` and shows the URL without its user name and password."""
    problem = url_problem(url)
    if problem:
        raise ConfigurationError(f"{source} {problem}, got {shown(without_userinfo(url))}.")


def seconds(text: str | None, source: str, *, default: float, most: float) -> float:
    """``text`` as a number of seconds from :data:`MIN_SECONDS` to ``most``, or
    ``default`` when it is not given.

    :raises ConfigurationError: it is not such a number."""
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and MIN_SECONDS <= value <= most):
        raise ConfigurationError(
            f"{source} must be a number of seconds from {MIN_SECONDS:g} to {most:g}, got "
            f"{shown(text)}."
        )
    return value


def check_region(region: str, source: str) -> None:
    """:raises ConfigurationError: ``region`` is not shaped as an AWS region
    (``eu-west-1``, ``us-gov-west-1``)."""
    if len(region) > _MAX_REGION_LENGTH or not _REGION.fullmatch(region):
        raise ConfigurationError(
            f"{source} must be an AWS region such as eu-west-1 (lowercase letters, "
            f"hyphens and a number), got {shown(region)}."
        )
