"""The rules a role's properties must follow, checked before anything is sent.

Each ``*_problem`` function returns ``None`` for a valid value, or a sentence that
states the rule and quotes the offending value.

The slug and name rules depend on the access provider behind Karmo (the setting
``karmo:accessProvider``): ``generic`` is Karmo's own contract; ``workos``, the default,
adds WorkOS's limits on organization roles, which Karmo's WorkOS mode would otherwise
only report at deploy time.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata
from collections.abc import Callable
from typing import Any

from .errors import ConfigurationError, InputError

SLUG_PATTERN = re.compile(r"org-[a-z0-9_-]+")
"""Karmo's rule for a role slug (matched in full): ``^org-[a-z0-9_-]+$``."""

NAME_MAX_LENGTH = 255
"""Longest role name, in characters (Karmo's contract)."""

ACCESS_PROVIDERS = ("workos", "generic")
"""The values of ``karmo:accessProvider``: ``workos`` (Karmo's WorkOS mode: WorkOS's limits
apply too) or ``generic`` (any other access provider: Karmo's contract alone)."""

DEFAULT_ACCESS_PROVIDER = "workos"
"""The access provider assumed when none is set: the mode Karmo documents."""

WORKOS_SLUG_MAX_LENGTH = 48
"""Longest slug of a WorkOS organization role, in characters (``org-`` included)."""

WORKOS_NAME_MAX_LENGTH = 48
"""Longest name of a WorkOS organization role, in characters."""

_WAY_OUT = "for another access provider, set `karmo:accessProvider generic`"
# After "org-": a run of letters and digits, then runs of them each after one separator.
_WORKOS_SLUG_BODY = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_SEPARATOR_RUN = re.compile(r"[-_]{2,}")

ORGANIZATION_ID_MAX_LENGTH = 255
"""Longest organization id we send (WorkOS ids are about 30 characters)."""

_SHOWN = 60
_REPR = reprlib.Repr()  # keyword arguments need 3.12
_REPR.maxstring = _REPR.maxother = _SHOWN
_REPR.maxlist = _REPR.maxdict = 4
_REPR.maxlevel = 2

# Characters that would let an organization id escape its URL path segment, or the id's
# "{organization_id}/{slug}" form, if anything downstream ever decoded or split it.
_PATH_UNSAFE = {"/": "'/'", "\\": "'\\'", "?": "'?'", "#": "'#'", "%": "'%'"}


def _show(value: Any) -> str:
    """A short repr of a value for a message, bounded whatever its size or depth."""
    text = _REPR.repr(value)
    return text if len(text) <= 2 * _SHOWN else text[: 2 * _SHOWN - 3] + "..."


BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Bidirectional controls, refused in every string input: embeddings, overrides and
isolates (U+202A-U+202E, U+2066-U+2069) and the implicit marks (U+200E, U+200F, U+061C).
They make text display in an order other than the one it is stored in ("Trojan Source"),
so a name could read as one thing in a console and be another in Karmo."""

# Characters that draw nothing: a name made only of these is blank. Beyond whitespace,
# controls and format characters (zero-width space, U+FEFF, word joiner, soft hyphen),
# a combining mark alone draws nothing, and so does every Default_Ignorable_Code_Point
# (Unicode's DerivedCoreProperties.txt), assigned yet or not: a renderer must draw
# nothing for those, and Python's own tables know only the assigned ones.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn"})
_INVISIBLE = frozenset("\u2800")  # BRAILLE PATTERN BLANK: assigned, printable, empty
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_DEFAULT_IGNORABLE_CHARACTER = re.compile(
    "[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in _DEFAULT_IGNORABLE) + "]"
)


def _unprintable(value: str) -> str | None:
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"control character U+{ord(ch):04X}"
        if category == "Cs":
            return f"unpaired surrogate U+{ord(ch):04X}"
    return None


_BIDI_SEARCH = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def _bidi_control(value: str) -> str | None:
    """The first bidirectional control in ``value``, as a rule's wording, or ``None``."""
    found = _BIDI_SEARCH.search(value)
    if found is None:
        return None
    return f"must not contain the bidirectional control U+{ord(found.group()):04X}"


def _visible(value: str) -> bool:
    """Whether ``value`` has a character that draws something."""
    return any(
        ch not in _INVISIBLE
        and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        and not _DEFAULT_IGNORABLE_CHARACTER.match(ch)
        for ch in value
    )


def _type_problem(value: Any) -> str | None:
    if value is None:
        return "is required"
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__} {_show(value)}"
    return None


def _is_generic(access_provider: str) -> bool:
    if access_provider not in ACCESS_PROVIDERS:  # a caller's bug, not a user's input
        raise ValueError(
            f"access_provider must be one of {ACCESS_PROVIDERS}, got {access_provider!r}"
        )
    return access_provider == "generic"


def access_provider_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid ``karmo:accessProvider``, or ``None``. The sentence
    has no subject: the caller names where the value came from."""
    if value in ACCESS_PROVIDERS:
        return None
    return f"must be one of {', '.join(ACCESS_PROVIDERS)}, got {_show(value)}"


def slug_problem(value: Any, access_provider: str = DEFAULT_ACCESS_PROVIDER) -> str | None:
    """Why ``value`` is not a valid role slug under ``access_provider`` (one of
    :data:`ACCESS_PROVIDERS`), or ``None``.

    Every provider: ``org-`` followed by lowercase letters, digits, ``-`` or ``_``.
    ``workos`` also: at most 48 characters, and no separator at the start or end of
    the part after ``org-``, nor two in a row (``org-admin-`` and ``org-a__b`` fail).
    """
    problem = _type_problem(value)
    if problem:
        return f"slug {problem}"
    if not SLUG_PATTERN.fullmatch(value):
        bidi = _bidi_control(value)
        if bidi:
            return f"slug {bidi}, got {_show(value)}"
        return (
            "slug must start with 'org-' followed by lowercase letters, numbers, hyphens "
            f"or underscores (^org-[a-z0-9_-]+$), got {_show(value)}"
        )
    if _is_generic(access_provider):
        return None
    if len(value) > WORKOS_SLUG_MAX_LENGTH:
        return (
            f"slug must be at most {WORKOS_SLUG_MAX_LENGTH} characters (WorkOS's limit; "
            f"{_WAY_OUT}), got {len(value)}: {_show(value)}"
        )
    body = value[len("org-") :]
    if not _WORKOS_SLUG_BODY.fullmatch(body):
        if body[0] in "-_":
            where = f"{body[0]!r} right after 'org-'"
        elif body[-1] in "-_":
            where = f"trailing {body[-1]!r}"
        else:
            found = _SEPARATOR_RUN.search(body)
            assert found is not None  # the only other way to miss the pattern
            where = f"{found.group()!r} in a row"
        return (
            "slug must have no leading, trailing or consecutive separators ('-' or '_') "
            f"after 'org-' (WorkOS's rule; {_WAY_OUT}), got {_show(value)} ({where})"
        )
    return None


def name_problem(value: Any, access_provider: str = DEFAULT_ACCESS_PROVIDER) -> str | None:
    """Why ``value`` is not a valid role name under ``access_provider`` (one of
    :data:`ACCESS_PROVIDERS`), or ``None``.

    Every provider: visible text, no control or bidirectional characters, at most 255
    characters. ``workos``: at most 48 characters.
    """
    problem = _type_problem(value)
    if problem:
        return f"name {problem}"
    # Length first: a huge value is refused without scanning it.
    if not _is_generic(access_provider) and len(value) > WORKOS_NAME_MAX_LENGTH:
        return (
            f"name must be at most {WORKOS_NAME_MAX_LENGTH} characters (WorkOS's limit; "
            f"{_WAY_OUT}), got {len(value)}: {_show(value)}"
        )
    if len(value) > NAME_MAX_LENGTH:
        return (
            f"name must be at most {NAME_MAX_LENGTH} characters, got {len(value)}: {_show(value)}"
        )
    bidi = _bidi_control(value)
    if bidi:
        return f"name {bidi}, got {_show(value)}"
    if not _visible(value):
        return f"name must not be blank (it needs a visible character), got {_show(value)}"
    bad = _unprintable(value)
    if bad:
        return f"name must not contain control characters, got {bad} in {_show(value)}"
    return None


def organization_id_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid organization id, or ``None``."""
    problem = _type_problem(value)
    if problem:
        return f"organization_id {problem}"
    if not value:
        return "organization_id must not be empty"
    if len(value) > ORGANIZATION_ID_MAX_LENGTH:
        return (
            f"organization_id must be at most {ORGANIZATION_ID_MAX_LENGTH} characters, "
            f"got {len(value)}: {_show(value)}"
        )
    for ch, shown in _PATH_UNSAFE.items():
        if ch in value:
            return (
                f"organization_id must not contain {shown} (it is part of the resource id "
                f"and of the URL path), got {_show(value)}"
            )
    if ".." in value:
        return f"organization_id must not contain '..', got {_show(value)}"
    if any(ch.isspace() for ch in value):
        return f"organization_id must not contain whitespace, got {_show(value)}"
    bad = _unprintable(value)
    if bad:
        return f"organization_id must not contain control characters, got {bad}"
    bidi = _bidi_control(value)
    if bidi:
        return f"organization_id {bidi}, got {_show(value)}"
    return None


PERMISSION_PATTERN = re.compile(r"[a-z0-9:._*-]+")
"""Karmo's rule for a permission slug (matched in full): ``^[a-z0-9:._*-]+$``."""


def permissions_problem(
    value: Any, *, is_unknown: Callable[[Any], bool] = lambda _: False
) -> str | None:
    """Why ``value`` is not a valid permission list, or ``None``. ``None`` (absent) is
    valid; entries for which ``is_unknown`` is true are not checked. The list is a set:
    order and repeated entries do not matter. Names at most three offending entries of
    each kind, so the message stays short."""
    if value is None or is_unknown(value):
        return None
    if not isinstance(value, list | tuple):
        return f"permissions must be a list of strings, got {type(value).__name__} {_show(value)}"
    not_text: list[str] = []
    bad: list[str] = []
    bidi: list[tuple[str, str]] = []  # (entry, code point)
    for i, entry in enumerate(value):
        if is_unknown(entry):
            continue
        if not isinstance(entry, str):
            not_text.append(f"permissions[{i}] ({type(entry).__name__})")
        elif not PERMISSION_PATTERN.fullmatch(entry):
            found = _BIDI_SEARCH.search(entry)
            if found:
                bidi.append((f"permissions[{i}]", f"U+{ord(found.group()):04X}"))
            else:
                bad.append(f"permissions[{i}] {_show(entry[:40])}")
    problems = []
    if not_text:
        problems.append(f"{_few(not_text)} must be strings")
    if len(bidi) == 1:
        problems.append(f"{bidi[0][0]} must not contain the bidirectional control {bidi[0][1]}")
    elif bidi:
        entries = [f"{entry} ({code_point})" for entry, code_point in bidi]
        problems.append(f"{_few(entries)} must not contain bidirectional controls")
    if bad:
        problems.append(
            f"{_few(bad)} may contain only lowercase letters, numbers, colons, periods, "
            "underscores, hyphens and asterisks (^[a-z0-9:._*-]+$)"
        )
    return "; ".join(problems) or None


def clear_permissions_on_delete_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid ``clear_permissions_on_delete``, or ``None``. ``None``
    (absent) is valid and means false."""
    if value is None or isinstance(value, bool):
        return None
    return (
        "clear_permissions_on_delete must be a bool (True or False), got "
        f"{type(value).__name__} {_show(value)}"
    )


def _few(items: list[str]) -> str:
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return ", ".join(items[:3]) + more


def split_resource_id(resource_id: str) -> tuple[str, str]:
    """Split a resource id ``"{organization_id}/{slug}"`` (e.g. ``org_123/org-admin``).
    The slug is held to Karmo's own rule only: an id names a role that exists, whatever
    the access provider's limits on new ones.

    :raises InputError: the id does not have that form or a part breaks its rule.
    """
    organization_id, sep, slug = resource_id.partition("/")
    if not sep:
        raise InputError(
            f"OrganizationRole id must be '<organization_id>/<slug>', e.g. "
            f"'org_123/org-admin', got {_show(resource_id)}"
        )
    problem = organization_id_problem(organization_id) or slug_problem(slug, "generic")
    if problem:
        raise InputError(f"OrganizationRole id {_show(resource_id)} is malformed: {problem}")
    return organization_id, slug


def token_problem(token: str) -> str | None:
    """Why ``token`` (already stripped) cannot go in an ``Authorization`` header, without
    quoting it: ``None`` when it is 1 or more printable ASCII characters, no spaces."""
    if not token:
        return "is empty"
    for position, ch in enumerate(token, 1):
        if not "!" <= ch <= "~":
            kind = (
                "whitespace"
                if ch.isspace()
                else "a control character"
                if ch.isascii()
                else "a non-ASCII character"
            )
            return f"holds {kind} at position {position} of {len(token)}"
    return None


TOKEN_MIN_LENGTH = 8
"""The shortest credential accepted. Server text is redacted of every occurrence of the
credential: a shorter one is a word or a fragment of one (with ``t``, a 422 read
``Reques*** valida***ion failed``), and no real Karmo token or WorkOS key is that short;
8 is also the usual floor for a secret a person chooses (NIST SP 800-63B)."""


def clean_token(token: str, source: str, key: str = "karmo:token") -> str:
    """``token`` without surrounding whitespace (pasted secrets often end in a newline).

    :param key: the stack config key the token belongs in, for the advice.
    :raises ConfigurationError: it is empty, shorter than :data:`TOKEN_MIN_LENGTH`, or
        holds whitespace, a control or a non-ASCII character inside; the message names
        ``source``, never the token.
    """
    token = token.strip()
    what = "a WorkOS API key" if key == "karmo:workosApiKey" else "a Karmo token"
    problem = token_problem(token)
    if problem:
        problem += f": {what} is printable ASCII without spaces"
    elif len(token) < TOKEN_MIN_LENGTH:
        problem = (
            f"is shorter than {TOKEN_MIN_LENGTH} characters: too short to tell apart from "
            "ordinary text, so redacting it would garble every message from the server"
        )
    if problem:
        raise ConfigurationError(
            f"{source} {problem}. Set it again, e.g. `pulumi config set --secret {key} <value>`."
        )
    return token
