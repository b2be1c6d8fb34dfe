"""The WorkOS face's changes to an organization's roles, as a person in the WorkOS
dashboard (or WorkOS's SDK) makes them: create (with a slug, or one derived from the
name), update, delete, and add, replace or remove permissions. Changes act on
organization roles only: an environment role is 404 here, as in WorkOS."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from .._rules import PERMISSION_PATTERN, WORKOS_SLUG_MAX_LENGTH, name_problem, slug_problem
from ._answers import Answer, json_answer, workos_error, workos_request_id
from ._store import Role, new_role_id
from ._workos_roles import (
    RESOURCE_TYPE,
    Request,
    description_problem,
    invalid,
    json_object,
    not_found,
    role_object,
)

_SUFFIX_LENGTH = 6
# "org-", the name's words, "-", the suffix: within WorkOS's 48 characters.
_STEM_MAX_LENGTH = WORKOS_SLUG_MAX_LENGTH - len("org-") - 1 - _SUFFIX_LENGTH
_PERMISSION_RULE = "must be a permission slug (^[a-z0-9:._*-]+$)"


def create(request: Request) -> Answer:
    """``POST .../roles``: 201 and the new role; 409 if its slug is taken."""
    payload = json_object(request.body)
    if payload is None:
        return invalid([("body", "must be a JSON object")])
    allowed = ("slug", "name", "description", "resource_type_slug")
    problems = [(k, "is not allowed") for k in payload if k not in allowed]
    slug, name = payload.get("slug"), payload.get("name")
    for field, problem in (
        ("slug", None if slug is None else slug_problem(slug, "workos")),
        ("name", name_problem(name, "workos")),
        ("description", description_problem(payload.get("description"))),
        ("resource_type_slug", _resource_type_problem(payload.get("resource_type_slug"))),
    ):
        if problem:
            problems.append((field, problem.removeprefix(field + " ")))
    if problems:
        return invalid(problems)
    assert isinstance(name, str)
    state, organization_id = request.state, request.organization_id
    with state.lock:
        roles = state.roles
        if slug is None:
            slug = generated_slug(
                name, organization_id, lambda s: roles.get(organization_id, s) is not None
            )
        if roles.get(organization_id, slug) is not None:
            created = None
        else:
            role = Role(new_role_id(), name, description=payload.get("description"))
            roles.put(organization_id, slug, role)
            state.stats["workos_created"] += 1
            created = role_object(slug, role)
    if created is None:
        return workos_error(
            409,
            "organization_role_slug_conflict",
            f"A role with slug '{slug}' already exists in organization '{organization_id}'.",
        )
    return json_answer(201, created, workos_request_id())


def generated_slug(name: str, organization_id: str, taken: Callable[[str], bool]) -> str:
    """The slug WorkOS makes up when a create names none: ``org-``, the name's words
    (ASCII-folded, lowercase, joined by ``-``) and a suffix. WorkOS's suffix is random;
    the sandbox's is derived from the organization, the name and how many such slugs are
    taken, so the same history gives the same slugs."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    stem = "-".join(re.findall(r"[a-z0-9]+", folded))[:_STEM_MAX_LENGTH].strip("-")
    for n in itertools.count():
        digest = hashlib.sha256(f"{organization_id}\n{name}\n{n}".encode()).digest()
        suffix = base64.b32encode(digest).decode()[:_SUFFIX_LENGTH].lower()
        slug = f"org-{stem}-{suffix}" if stem else f"org-{suffix}"
        if not taken(slug):
            return slug
    raise AssertionError("unreachable")  # pragma: no cover


def update(request: Request) -> Answer:
    """``PATCH .../roles/{slug}`` with a name, a description, or both: the role."""
    payload = json_object(request.body)
    if payload is None:
        return invalid([("body", "must be a JSON object")])
    problems = [(k, "is not allowed") for k in payload if k not in ("name", "description")]
    if "name" in payload:
        problem = name_problem(payload["name"], "workos")
        if problem:
            problems.append(("name", problem.removeprefix("name ")))
    problem = description_problem(payload.get("description"))
    if problem:
        problems.append(("description", problem))
    if problems:
        return invalid(problems)
    updated = None
    with request.state.lock:
        role = request.state.roles.get(request.organization_id, request.slug)
        if role is not None:
            role.name = payload.get("name", role.name)
            if "description" in payload:
                role.description = payload["description"]
            role.touch()
            request.state.stats["workos_updated"] += 1
            updated = role_object(request.slug, role)
    if updated is None:
        return not_found(request)
    return json_answer(200, updated, workos_request_id())


def delete(request: Request) -> Answer:
    """``DELETE .../roles/{slug}``: 204."""
    with request.state.lock:
        role = request.state.roles.remove(request.organization_id, request.slug)
        if role is not None:
            request.state.stats["workos_deleted"] += 1
    if role is None:
        return not_found(request)
    return Answer(204, headers=workos_request_id())


def set_permissions(request: Request) -> Answer:
    """``PUT .../roles/{slug}/permissions`` with ``{"permissions": [...]}``: the set is
    replaced; the role."""
    payload = json_object(request.body)
    permissions = None if payload is None else payload.get("permissions")
    if not isinstance(permissions, list):
        return invalid([("permissions", "must be an array of permission slugs")])
    problems = [
        (f"permissions[{i}]", _PERMISSION_RULE)
        for i, p in enumerate(permissions)
        if not (isinstance(p, str) and PERMISSION_PATTERN.fullmatch(p))
    ]
    if problems:
        return invalid(problems)
    return _permissions(request, lambda _: sorted(set(permissions)))


def add_permission(request: Request) -> Answer:
    """``POST .../roles/{slug}/permissions`` with ``{"slug": permission}``: the role, the
    permission added (no change if it holds it already)."""
    payload = json_object(request.body)
    if payload is None:
        return invalid([("body", "must be a JSON object")])
    problems = [(k, "is not allowed") for k in payload if k != "slug"]
    permission = payload.get("slug")
    if not (isinstance(permission, str) and PERMISSION_PATTERN.fullmatch(permission)):
        problems.insert(0, ("slug", _PERMISSION_RULE))
    if problems:
        return invalid(problems)
    added = str(permission)
    return _permissions(request, lambda held: sorted({*held, added}))


def remove_permission(request: Request) -> Answer:
    """``DELETE .../roles/{slug}/permissions/{permission}``: the role without it (WorkOS's
    reference answers the role, as the other permission changes do); 404 if the role
    does not hold it."""

    def without(held: list[str]) -> list[str] | None:
        return [p for p in held if p != request.permission] if request.permission in held else None

    return _permissions(request, without)


def _permissions(request: Request, change: Callable[[list[str]], list[str] | None]) -> Answer:
    """Apply ``change`` to the role's permissions (``None``: it lacks the one named)."""
    updated = lacking = None
    with request.state.lock:
        role = request.state.roles.get(request.organization_id, request.slug)
        if role is not None:
            permissions = change(role.permissions)
            if permissions is None:
                lacking = request.permission
            else:
                if permissions != role.permissions:
                    role.permissions = permissions
                    role.touch()
                request.state.stats["workos_permissions"] += 1
                updated = role_object(request.slug, role)
    if lacking is not None:
        return workos_error(
            404,
            "entity_not_found",
            f"Permission '{lacking}' is not assigned to role '{request.slug}' in "
            f"organization '{request.organization_id}'.",
        )
    if updated is None:
        return not_found(request)
    return json_answer(200, updated, workos_request_id())


def _resource_type_problem(value: Any) -> str | None:
    if value is None or value == RESOURCE_TYPE:
        return None
    shown = repr(value)[:60]
    return (
        f"must name a resource type of the environment; the sandbox has one, "
        f"'{RESOURCE_TYPE}', got {shown}"
    )
