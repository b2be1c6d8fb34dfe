"""What the WorkOS face's reads and changes share: a routed request, the role object as
WorkOS answers it, and WorkOS's shapes of a 404 and a 422."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._answers import Answer, workos_error
from ._state import State
from ._store import Role

DESCRIPTION_MAX_LENGTH = 150
"""Longest role description WorkOS accepts, in characters."""

RESOURCE_TYPE = "organization"
"""The one resource type of the sandbox's environment, WorkOS's built-in one: every role
is scoped to it."""


@dataclass(frozen=True)
class Request:
    """A request to one organization's roles, its path taken apart."""

    state: State
    organization_id: str
    slug: str
    """The role's slug (empty for the organization's roles)."""
    permission: str
    """The permission the path names (empty unless it names one)."""
    body: bytes


def role_object(slug: str, role: Role) -> dict[str, Any]:
    """A role as WorkOS answers it."""
    return {
        "object": "role",
        "id": role.role_id,
        "slug": slug,
        "name": role.name,
        "description": role.description,
        "type": "EnvironmentRole" if role.environment else "OrganizationRole",
        "resource_type_slug": RESOURCE_TYPE,
        "permissions": list(role.permissions),
        "created_at": role.created_at,
        "updated_at": role.updated_at,
    }


def description_problem(value: Any) -> str | None:
    """What is wrong with a role description, or ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"must be a string or null, got {type(value).__name__}"
    if len(value) > DESCRIPTION_MAX_LENGTH:
        return f"must be at most {DESCRIPTION_MAX_LENGTH} characters, got {len(value)}"
    return None


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object (an empty body is ``{}``), or ``None``."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def invalid(problems: list[tuple[str, str]]) -> Answer:
    """WorkOS's 422: each problem as ``(field, message)``."""
    return workos_error(
        422,
        "invalid_request_parameters",
        "Validation failed.",
        errors=[{"field": f, "code": "invalid", "message": m} for f, m in problems],
    )


def not_found(request: Request) -> Answer:
    """WorkOS's 404 for a role the organization does not have."""
    return workos_error(
        404,
        "entity_not_found",
        f"Role not found: '{request.slug}' in organization '{request.organization_id}'.",
    )
