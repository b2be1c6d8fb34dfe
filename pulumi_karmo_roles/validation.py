"""The rules a role's properties must follow, checked before anything is sent.

Each ``*_problem`` function returns ``None`` for a valid value, or a sentence that
states the rule and quotes the offending value.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InputError

__all__ = [
    "NAME_MAX_LENGTH",
    "SLUG_PATTERN",
    "name_problem",
    "organization_id_problem",
    "slug_problem",
    "split_resource_id",
]

SLUG_PATTERN = re.compile(r"org-[a-z0-9_-]+")
"""Karmo's rule for a role slug (matched in full): ``^org-[a-z0-9_-]+$``."""

NAME_MAX_LENGTH = 255
"""Longest role name, in characters."""

_SHOWN = 60


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 4] + "...'"


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
    if not value.strip():
        return f"name must not be blank, got {_show(value)}"
    if len(value) > NAME_MAX_LENGTH:
        return (
            f"name must be at most {NAME_MAX_LENGTH} characters, got {len(value)}: {_show(value)}"
        )
    return None


def organization_id_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid organization id, or ``None``."""
    problem = _type_problem(value)
    if problem:
        return f"organization_id {problem}"
    if not value:
        return "organization_id must not be empty"
    if "/" in value:
        return (
            "organization_id must not contain '/' (it is part of the resource id and of "
            f"the URL path), got {_show(value)}"
        )
    if any(ch.isspace() for ch in value):
        return f"organization_id must not contain whitespace, got {_show(value)}"
    return None


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
