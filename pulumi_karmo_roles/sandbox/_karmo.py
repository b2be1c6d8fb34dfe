"""The sandbox's Karmo face: the contract in Karmo's OpenAPI description (bearer or
minted service tokens, the upsert and permissions endpoints) and its validation answers,
as strict as the provider's ``check`` under the same access provider."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any
from urllib.parse import unquote

from .._rules import PERMISSION_PATTERN, name_problem, organization_id_problem, slug_problem
from ._answers import Answer, json_answer, karmo_error, proxy_page
from ._state import State
from ._store import Role, new_role_id

_ROLE_PATH = re.compile(r"/organizations/([^/]+)/roles/([^/]+)(/permissions)?")
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[A-Z0-9]{16,128}/[0-9]{8}/[a-z0-9-]+/execute-api/aws4_request,"
    r" ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}"
)


def no_route(method: str, path: str) -> Answer:
    """Karmo's 404 for a path it has nothing at."""
    return karmo_error(404, "40400000", f"No route for {method} {path}")


def answer(
    state: State,
    method: str,
    path: str,
    body: bytes,
    *,
    authorization: str,
    amz_date: str,
    lose_answer: bool = False,
    answer_delay: float = 0.0,
) -> Answer:
    """The Karmo face's answer to one request below its prefix (faults that answer
    instead are applied before this; a lost answer and the answer delay here, as they
    come after the upsert is applied)."""
    if path == "/auth/token":
        return _mint(state, method, authorization, amz_date)
    match = _ROLE_PATH.fullmatch(path)
    if not match:
        return no_route(method, path)
    if method != "PUT":
        return karmo_error(405, "40500001", f"{method} is not supported here")
    refused = _refused(state, authorization)
    if refused is not None:
        return refused
    organization_id, slug = unquote(match.group(1)), unquote(match.group(2))
    errors = _validate_path(organization_id, slug, state.access_provider)
    if errors:
        return karmo_error(422, "42200003", "Request validation failed", errors=errors)
    if state.organizations is not None and organization_id not in state.organizations:
        return karmo_error(404, "40400001", f"Organization {organization_id} not found")
    try:
        payload = json.loads(body)
    except ValueError:
        return karmo_error(400, "40000001", "Request body must be JSON")
    if match.group(3):
        return _put_permissions(state, (organization_id, slug), payload)
    errors = _validate(payload, state.access_provider)
    if errors:
        return karmo_error(422, "42200001", "Request validation failed", errors=errors)
    with state.lock:
        role = state.roles.get(organization_id, slug)
        created = role is None
        if role is None:
            role = Role(new_role_id(), payload["name"])
            state.roles.put(organization_id, slug, role)
        else:
            role.name = payload["name"]
            role.touch()
        state.stats["created" if created else "updated"] += 1
    if answer_delay:
        time.sleep(answer_delay)
    if lose_answer:
        return proxy_page(502)
    return json_answer(201 if created else 200, {"id": role.role_id})


def _put_permissions(state: State, key: tuple[str, str], payload: Any) -> Answer:
    errors = _validate_permissions(payload)
    if errors:
        return karmo_error(422, "42200002", "Request validation failed", errors=errors)
    with state.lock:
        role = state.roles.get(*key)
        if role is not None:
            role.permissions = sorted(payload["permissions"])
            role.touch()
            state.stats["permissions"] += 1
    if role is None:
        return karmo_error(404, "40400002", f"Role {key[1]} not found in {key[0]}")
    return Answer(204)


def _refused(state: State, authorization: str) -> Answer | None:
    """The 401 for a bearer token that does not pass, or ``None`` if it passes."""
    if state.token_lifetime is None:
        if secrets.compare_digest(authorization.encode(), f"Bearer {state.token}".encode()):
            return None
        return karmo_error(401, "40100001", "Missing or invalid bearer token")
    with state.lock:
        expires = state.minted.get(authorization.removeprefix("Bearer "))
    if expires is None:
        return karmo_error(401, "40100001", "Missing or invalid bearer token")
    if expires <= time.time():
        return karmo_error(401, "40100002", "Service token expired")
    return None


def _mint(state: State, method: str, authorization: str, amz_date: str) -> Answer:
    if method != "POST" or state.token_lifetime is None:
        return no_route(method, "/auth/token")
    # The sandbox has no secret key to check the signature against: it checks that
    # the request carries a well-formed SigV4 Authorization header and its date.
    if not _SIGV4.fullmatch(authorization) or not amz_date:
        return karmo_error(403, "40300001", "Missing or malformed AWS SigV4 signature")
    token = "kst_" + secrets.token_urlsafe(24)
    with state.lock:
        state.minted[token] = time.time() + state.token_lifetime
        state.stats["minted"] += 1
    return json_answer(200, {"access_token": token, "expires_in": state.token_lifetime})


# The rules come from the package's validation module, the one home of each: the
# sandbox refuses whatever the provider's check refuses. Their text starts with the
# property's name, which the pointer already gives.


def _error(pointer: str, problem: str, prop: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": problem.removeprefix(prop + " ")}


def _validate_path(organization_id: str, slug: str, access_provider: str) -> list[dict[str, str]]:
    errors = []
    problem = organization_id_problem(organization_id)
    if problem:
        errors.append(_error("/organizationId", problem, "organization_id"))
    problem = slug_problem(slug, access_provider)
    if problem:
        errors.append(_error("/slug", problem, "slug"))
    return errors


def _validate_permissions(payload: Any) -> list[dict[str, str]]:
    permissions = payload.get("permissions") if isinstance(payload, dict) else None
    if not isinstance(permissions, list):
        return [{"pointer": "/permissions", "detail": "must be an array of permission slugs"}]
    errors = []
    for i, permission in enumerate(permissions):
        if not isinstance(permission, str) or not PERMISSION_PATTERN.fullmatch(permission):
            errors.append(
                {
                    "pointer": f"/permissions/{i}",
                    "detail": "may contain lowercase letters, numbers, colons, periods, "
                    "underscores, hyphens, and asterisks",
                }
            )
        elif permissions.index(permission) != i:  # the contract: uniqueItems
            errors.append({"pointer": f"/permissions/{i}", "detail": "duplicate permission"})
    return errors


def _validate(payload: Any, access_provider: str) -> list[dict[str, str]]:
    if not isinstance(payload, dict):
        return [{"pointer": "", "detail": "must be a JSON object"}]
    errors = [{"pointer": f"/{k}", "detail": "is not allowed"} for k in payload if k != "name"]
    problem = name_problem(payload.get("name"), access_provider)
    if problem:
        errors.append(_error("/name", problem, "name"))
    return errors
