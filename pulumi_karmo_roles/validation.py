"""The rules a role's properties must follow, checked before anything is sent.

Each ``*_problem`` function returns ``None`` for a valid value, or a sentence that
states the rule and quotes the offending value.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata
from collections.abc import Callable
from typing import Any

from .errors import InputError

__all__ = [
    "NAME_MAX_LENGTH",
    "ORGANIZATION_ID_MAX_LENGTH",
    "PERMISSION_PATTERN",
    "SLUG_PATTERN",
    "name_problem",
    "organization_id_problem",
    "permissions_problem",
    "slug_problem",
    "split_resource_id",
]

SLUG_PATTERN = re.compile(r"org-[a-z0-9_-]+")
"""Karmo's rule for a role slug (matched in full): ``^org-[a-z0-9_-]+$``."""

NAME_MAX_LENGTH = 255
"""Longest role name, in characters."""

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


def _unprintable(value: str) -> str | None:
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"control character U+{ord(ch):04X}"
        if category == "Cs":
            return f"unpaired surrogate U+{ord(ch):04X}"
    return None


def _type_problem(value: Any) -> str | None:
    if value is None:
        return "is required"
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__} {_show(value)}"
    return None


def slug_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid role slug, or ``None``."""
    problem = _type_problem(value)
    if problem:
        return f"slug {problem}"
    if not SLUG_PATTERN.fullmatch(value):
        return (
            "slug must start with 'org-' followed by lowercase letters, numbers, hyphens "
            f"or underscores (^org-[a-z0-9_-]+$), got {_show(value)}"
        )
    return None


def name_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid role name, or ``None``."""
    problem = _type_problem(value)
    if problem:
        return f"name {problem}"
    # Length first: a huge value is refused without scanning it.
    if len(value) > NAME_MAX_LENGTH:
        return (
            f"name must be at most {NAME_MAX_LENGTH} characters, got {len(value)}: {_show(value)}"
        )
    if not value.strip():
        return f"name must not be blank, got {_show(value)}"
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
    return None


PERMISSION_PATTERN = re.compile(r"[a-z0-9:._*-]+")
"""Karmo's rule for a permission slug (matched in full): ``^[a-z0-9:._*-]+$``."""


def permissions_problem(
    value: Any, *, is_unknown: Callable[[Any], bool] = lambda _: False
) -> str | None:
    """Why ``value`` is not a valid permission list, or ``None``. ``None`` (absent) is
    valid; entries for which ``is_unknown`` is true are not checked. Names at most three
    offending entries of each kind, so the message stays short."""
    if value is None or is_unknown(value):
        return None
    if not isinstance(value, list | tuple):
        return f"permissions must be a list of strings, got {type(value).__name__} {_show(value)}"
    not_text: list[str] = []
    bad: list[str] = []
    repeated: list[str] = []
    first_seen: dict[str, int] = {}
    for i, entry in enumerate(value):
        if is_unknown(entry):
            continue
        if not isinstance(entry, str):
            not_text.append(f"permissions[{i}] ({type(entry).__name__})")
        elif not PERMISSION_PATTERN.fullmatch(entry):
            bad.append(f"permissions[{i}] {_show(entry[:40])}")
        elif entry in first_seen:
            repeated.append(f"permissions[{i}] {_show(entry[:40])} (= [{first_seen[entry]}])")
        else:
            first_seen[entry] = i
    problems = []
    if not_text:
        problems.append(f"{_few(not_text)} must be strings")
    if bad:
        problems.append(
            f"{_few(bad)} may contain only lowercase letters, numbers, colons, periods, "
            "underscores, hyphens and asterisks (^[a-z0-9:._*-]+$)"
        )
    if repeated:
        problems.append(f"{_few(repeated)} repeat earlier entries")
    return "; ".join(problems) or None


def _few(items: list[str]) -> str:
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return ", ".join(items[:3]) + more


def split_resource_id(resource_id: str) -> tuple[str, str]:
    """Split a resource id ``"{organization_id}/{slug}"`` (e.g. ``org_123/org-admin``).

    :raises InputError: the id does not have that form or a part breaks its rule.
    """
    organization_id, sep, slug = resource_id.partition("/")
    if not sep:
        raise InputError(
            f"OrganizationRole id must be '<organization_id>/<slug>', e.g. "
            f"'org_123/org-admin', got {_show(resource_id)}"
        )
    problem = organization_id_problem(organization_id) or slug_problem(slug)
    if problem:
        raise InputError(f"OrganizationRole id {_show(resource_id)} is malformed: {problem}")
    return organization_id, slug
