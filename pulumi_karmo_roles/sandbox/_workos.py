"""The sandbox's WorkOS face: WorkOS's organization-role API over the role store the
Karmo face writes to, so a test can read what Karmo wrote the way WorkOS shows it, and
change a role behind Pulumi's back the way a person in the WorkOS dashboard would.
docs/sandbox.md lists its endpoints and answers."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any
from urllib.parse import unquote

from .._rules import PERMISSION_PATTERN, name_problem, organization_id_problem, slug_problem
from ._answers import Answer, json_answer, workos_error, workos_request_id
from ._state import State
from ._store import Role, new_role_id

PATH_PREFIX = "/authorization/"
"""Every path of the WorkOS face starts with this."""

DESCRIPTION_MAX_LENGTH = 150
"""Longest role description WorkOS accepts, in characters."""

_PATH = re.compile(r"/authorization/organizations/([^/]+)/roles(?:/([^/]+)(/permissions)?)?")
_ENVIRONMENT_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")


def serves(path: str) -> bool:
    """Whether a request path is the WorkOS face's."""
    return path.startswith(PATH_PREFIX)


def role_object(slug: str, role: Role) -> dict[str, Any]:
    """A role as WorkOS answers it."""
    return {
        "object": "role",
        "id": role.role_id,
        "slug": slug,
        "name": role.name,
        "description": role.description,
        "type": "EnvironmentRole" if role.environment else "OrganizationRole",
        "resource_type_slug": "organization",
        "permissions": list(role.permissions),
        "created_at": role.created_at,
        "updated_at": role.updated_at,
    }


def answer(state: State, method: str, path: str, body: bytes, authorization: str) -> Answer:
    """The WorkOS face's answer to one request (faults are applied before this)."""
    match = _PATH.fullmatch(path)
    if match is None:
        return workos_error(404, "not_found", f"No route for {method} {path}")
    key = state.workos_api_key
    if key is None:
        return workos_error(
            401,
            "unauthorized",
            "The sandbox has no WorkOS API key: start it with workos_api_key=... "
            "(--workos-api-key).",
        )
    if not secrets.compare_digest(authorization.encode(), f"Bearer {key}".encode()):
        return workos_error(401, "unauthorized", "Missing or invalid API key.")
    organization_id = unquote(match.group(1))
    slug = None if match.group(2) is None else unquote(match.group(2))
    if organization_id_problem(organization_id) or (
        state.organizations is not None and organization_id not in state.organizations
    ):
        return workos_error(
            404, "entity_not_found", f"Organization not found: '{organization_id}'."
        )
    if slug is None:
        if method == "GET":
            return _list(state, organization_id)
        if method == "POST":
            return _create(state, organization_id, body)
    elif match.group(3):
        if method == "PUT":
            return _set_permissions(state, organization_id, slug, body)
    elif method == "GET":
        return _get(state, organization_id, slug)
    elif method == "PATCH":
        return _update(state, organization_id, slug, body)
    elif method == "DELETE":
        return _delete(state, organization_id, slug)
    return workos_error(405, "method_not_allowed", f"{method} is not supported on {path}")


def _list(state: State, organization_id: str) -> Answer:
    with state.lock:
        data = [role_object(s, r) for s, r in state.roles.environment.items()]
        data += [role_object(s, r) for s, r in state.roles.in_organization(organization_id)]
    return json_answer(200, {"object": "list", "data": data}, workos_request_id())


def _get(state: State, organization_id: str, slug: str) -> Answer:
    with state.lock:
        role = state.roles.get(organization_id, slug) or state.roles.environment.get(slug)
        found = None if role is None else role_object(slug, role)
    if found is None:
        return _role_not_found(organization_id, slug)
    return json_answer(200, found, workos_request_id())


def _create(state: State, organization_id: str, body: bytes) -> Answer:
    payload = _json_object(body)
    if payload is None:
        return _invalid([("body", "must be a JSON object")])
    problems = [(k, "is not allowed") for k in payload if k not in ("slug", "name", "description")]
    slug = payload.get("slug")
    for field, problem in (
        ("slug", slug_problem(slug, "workos")),
        ("name", name_problem(payload.get("name"), "workos")),
        ("description", _description_problem(payload.get("description"))),
    ):
        if problem:
            problems.append((field, problem.removeprefix(field + " ")))
    if problems:
        return _invalid(problems)
    assert isinstance(slug, str)
    with state.lock:
        if state.roles.get(organization_id, slug) is not None:
            created = None
        else:
            role = Role(new_role_id(), payload["name"], description=payload.get("description"))
            state.roles.put(organization_id, slug, role)
            state.stats["workos_created"] += 1
            created = role_object(slug, role)
    if created is None:
        return workos_error(409, "role_slug_conflict", f"A role with slug '{slug}' already exists.")
    return json_answer(201, created, workos_request_id())


def _update(state: State, organization_id: str, slug: str, body: bytes) -> Answer:
    payload = _json_object(body)
    if payload is None:
        return _invalid([("body", "must be a JSON object")])
    problems = [(k, "is not allowed") for k in payload if k not in ("name", "description")]
    if "name" in payload:
        problem = name_problem(payload["name"], "workos")
        if problem:
            problems.append(("name", problem.removeprefix("name ")))
    problem = _description_problem(payload.get("description"))
    if problem:
        problems.append(("description", problem))
    if problems:
        return _invalid(problems)
    updated = None
    with state.lock:
        role = state.roles.get(organization_id, slug)
        if role is not None:
            role.name = payload.get("name", role.name)
            if "description" in payload:
                role.description = payload["description"]
            role.touch()
            state.stats["workos_updated"] += 1
            updated = role_object(slug, role)
    if updated is None:
        return _role_not_found(organization_id, slug)
    return json_answer(200, updated, workos_request_id())


def _delete(state: State, organization_id: str, slug: str) -> Answer:
    with state.lock:
        role = state.roles.remove(organization_id, slug)
        if role is not None:
            state.stats["workos_deleted"] += 1
    if role is None:
        return _role_not_found(organization_id, slug)
    return Answer(204, headers=workos_request_id())


def _set_permissions(state: State, organization_id: str, slug: str, body: bytes) -> Answer:
    payload = _json_object(body)
    permissions = None if payload is None else payload.get("permissions")
    if not isinstance(permissions, list):
        return _invalid([("permissions", "must be an array of permission slugs")])
    problems = [
        (f"permissions[{i}]", "must be a permission slug (^[a-z0-9:._*-]+$)")
        for i, p in enumerate(permissions)
        if not (isinstance(p, str) and PERMISSION_PATTERN.fullmatch(p))
    ]
    if problems:
        return _invalid(problems)
    updated = None
    with state.lock:
        role = state.roles.get(organization_id, slug)
        if role is not None:
            role.permissions = sorted(set(permissions))
            role.touch()
            state.stats["workos_permissions"] += 1
            updated = role_object(slug, role)
    if updated is None:
        return _role_not_found(organization_id, slug)
    return json_answer(200, updated, workos_request_id())


def environment_role(slug: str, name: str, permissions: list[str], description: str | None) -> Role:
    """A new environment role, its values checked.

    :raises ValueError: a value WorkOS would refuse.
    """
    if not isinstance(slug, str) or not _ENVIRONMENT_SLUG.fullmatch(slug):
        raise ValueError(
            f"environment role slug must be lowercase letters, digits, '-' or '_', got {slug!r}"
        )
    problem = name_problem(name, "workos") or _description_problem(description)
    if problem:
        raise ValueError(f"environment role {slug!r}: {problem}")
    if not isinstance(permissions, list) or not all(
        isinstance(p, str) and PERMISSION_PATTERN.fullmatch(p) for p in permissions
    ):
        raise ValueError(f"environment role {slug!r}: permissions must be permission slugs")
    return Role(
        new_role_id(), name, sorted(set(permissions)), description=description, environment=True
    )


def _description_problem(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return f"must be a string or null, got {type(value).__name__}"
    if len(value) > DESCRIPTION_MAX_LENGTH:
        return f"must be at most {DESCRIPTION_MAX_LENGTH} characters, got {len(value)}"
    return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _invalid(problems: list[tuple[str, str]]) -> Answer:
    return workos_error(
        422,
        "invalid_request_parameters",
        "Validation failed.",
        errors=[{"field": f, "code": "invalid", "message": m} for f, m in problems],
    )


def _role_not_found(organization_id: str, slug: str) -> Answer:
    return workos_error(
        404, "entity_not_found", f"Role not found: '{slug}' in organization '{organization_id}'."
    )
