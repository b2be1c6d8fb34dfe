"""The sandbox's WorkOS face: WorkOS's organization-role API, as WorkOS's own SDK calls it,
over the role store the Karmo face writes to, so a test can read what Karmo wrote the way
WorkOS shows it, and change a role behind Pulumi's back the way a person in the WorkOS
dashboard would. This module routes a request, checks the key and answers the reads
(environment roles included); :mod:`._workos_changes` makes the changes. docs/sandbox.md
lists its endpoints and answers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import unquote

from .._rules import PERMISSION_PATTERN, name_problem, organization_id_problem
from . import _workos_changes as changes
from ._answers import Answer, json_answer, workos_error, workos_request_id
from ._state import State
from ._store import Role, new_role_id
from ._workos_roles import Request, description_problem, not_found, role_object

PATH_PREFIX = "/authorization/"
"""Every path of the WorkOS face starts with this."""

_ORGANIZATION_ROLES = re.compile(
    r"/authorization/organizations/(?P<organization>[^/]+)/roles"
    r"(?:/(?P<slug>[^/]+)(?:/(?P<permissions>permissions)(?:/(?P<permission>[^/]+))?)?)?"
)
_ENVIRONMENT_ROLES = re.compile(
    r"/authorization/roles(?:/(?P<slug>[^/]+)(?:/(?P<permissions>permissions))?)?"
)
_ENVIRONMENT_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")

__all__ = ["PATH_PREFIX", "answer", "environment_role", "role_object", "serves"]


def serves(path: str) -> bool:
    """Whether a request path is the WorkOS face's."""
    return path.startswith(PATH_PREFIX)


def answer(
    state: State,
    method: str,
    path: str,
    body: bytes,
    authorization: str,
    idempotency_key: str | None = None,
) -> Answer:
    """The WorkOS face's answer to one request (faults are applied before this). A POST
    with an ``Idempotency-Key`` is answered as the first POST with that key was."""
    match = _ORGANIZATION_ROLES.fullmatch(path) or _ENVIRONMENT_ROLES.fullmatch(path)
    if match is None:
        return workos_error(404, "not_found", f"No route for {method} {path}")
    refused = _refused(state, authorization)
    if refused is not None:
        return refused
    found = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
    # What the path names: one permission of a role, its permissions, a role, or the roles.
    shape = next((s for s in ("permission", "permissions", "slug") if s in found), "roles")
    organization_id = found.get("organization")
    if organization_id is None:
        read = _ENVIRONMENT.get((method, shape))
        if read is None:
            return workos_error(
                405,
                "method_not_allowed",
                f"{method} is not supported on {path}: the sandbox's environment roles are "
                "read-only (add them with POST /_sandbox/environment_roles)",
            )
        return read(state, found.get("slug", ""))
    if organization_id_problem(organization_id) or (
        state.organizations is not None and organization_id not in state.organizations
    ):
        return workos_error(
            404, "entity_not_found", f"Organization not found: '{organization_id}'."
        )
    handler = _ORGANIZATION.get((method, shape))
    if handler is None:
        return workos_error(405, "method_not_allowed", f"{method} is not supported on {path}")
    request = Request(
        state, organization_id, found.get("slug", ""), found.get("permission", ""), body
    )
    if method == "POST" and idempotency_key:
        return state.replays.answer(idempotency_key, lambda: handler(request))
    return handler(request)


def _refused(state: State, authorization: str) -> Answer | None:
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
    return None


def _list(request: Request) -> Answer:
    with request.state.lock:
        roles = request.state.roles
        data = [role_object(s, r) for s, r in roles.environment.items()]
        data += [role_object(s, r) for s, r in roles.in_organization(request.organization_id)]
    return json_answer(200, {"object": "list", "data": data}, workos_request_id())


def _get(request: Request) -> Answer:
    with request.state.lock:
        roles = request.state.roles
        role = roles.get(request.organization_id, request.slug) or roles.environment.get(
            request.slug
        )
        found = None if role is None else role_object(request.slug, role)
    if found is None:
        return not_found(request)
    return json_answer(200, found, workos_request_id())


def _environment_list(state: State, _: str) -> Answer:
    with state.lock:
        data = [role_object(s, r) for s, r in state.roles.environment.items()]
    return json_answer(200, {"object": "list", "data": data}, workos_request_id())


def _environment_get(state: State, slug: str) -> Answer:
    with state.lock:
        role = state.roles.environment.get(slug)
        found = None if role is None else role_object(slug, role)
    if found is None:
        return workos_error(404, "entity_not_found", f"Environment role not found: '{slug}'.")
    return json_answer(200, found, workos_request_id())


# (method, what the path names) -> the answer; what is not here is 405.
_ORGANIZATION: dict[tuple[str, str], Callable[[Request], Answer]] = {
    ("GET", "roles"): _list,
    ("POST", "roles"): changes.create,
    ("GET", "slug"): _get,
    ("PATCH", "slug"): changes.update,
    ("DELETE", "slug"): changes.delete,
    ("PUT", "permissions"): changes.set_permissions,
    ("POST", "permissions"): changes.add_permission,
    ("DELETE", "permission"): changes.remove_permission,
}
_ENVIRONMENT: dict[tuple[str, str], Callable[[State, str], Answer]] = {
    ("GET", "roles"): _environment_list,
    ("GET", "slug"): _environment_get,
}


def environment_role(slug: str, name: str, permissions: list[str], description: str | None) -> Role:
    """A new environment role, its values checked.

    :raises ValueError: a value WorkOS would refuse.
    """
    if not isinstance(slug, str) or not _ENVIRONMENT_SLUG.fullmatch(slug):
        raise ValueError(
            f"environment role slug must be lowercase letters, digits, '-' or '_', got {slug!r}"
        )
    problem = name_problem(name, "workos") or description_problem(description)
    if problem:
        raise ValueError(f"environment role {slug!r}: {problem}")
    if not isinstance(permissions, list) or not all(
        isinstance(p, str) and PERMISSION_PATTERN.fullmatch(p) for p in permissions
    ):
        raise ValueError(f"environment role {slug!r}: permissions must be permission slugs")
    return Role(
        new_role_id(), name, sorted(set(permissions)), description=description, environment=True
    )
