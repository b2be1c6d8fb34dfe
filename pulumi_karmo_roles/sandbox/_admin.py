"""The sandbox's admin endpoints under ``/_sandbox/``: no token, no faults; they let a
test read the roles and counters, change the faults, queue a script, add environment
roles and reset it all (docs/sandbox.md lists them)."""

from __future__ import annotations

import json
from typing import Any

from . import _workos as workos
from ._answers import Answer, json_answer
from ._state import State


def answer(state: State, method: str, what: str, body: bytes) -> Answer:
    """The answer to ``{method} /_sandbox/{what}``."""
    status, content = _answer(state, method, what, body)
    return json_answer(status, content)


def _answer(state: State, method: str, what: str, body: bytes) -> tuple[int, Any]:
    if method == "POST" and what == "environment_roles":
        try:
            spec = json.loads(body or b"{}")
            slug = spec["slug"]
            role = workos.environment_role(
                slug, spec["name"], spec.get("permissions", []), spec.get("description")
            )
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"error": str(exc)}
        with state.lock:
            state.roles.environment[slug] = role
        return 201, workos.role_object(slug, role)
    with state.lock:
        if method == "GET" and what == "roles":
            roles = [
                {
                    "organization_id": o,
                    "slug": s,
                    "id": r.role_id,
                    "name": r.name,
                    "permissions": r.permissions,
                }
                for (o, s), r in sorted(state.roles.items(), key=lambda item: item[0])
            ]
            environment = [workos.role_object(s, r) for s, r in state.roles.environment.items()]
            return 200, {"roles": roles, "environment_roles": environment}
        if method == "GET" and what == "stats":
            return 200, dict(state.stats)
        if method == "POST" and what == "faults":
            return _faults(state, body)
        if method == "POST" and what == "script":
            script = state.injector.script
            answers = json.loads(body or b"[]")
            script.extend(answers if isinstance(answers, list) else [answers])
            return 200, {"queued": len(script)}
        if method == "POST" and what == "reset":
            state.reset()
            return 200, {}
    return 404, {"error": f"no admin endpoint {method} /_sandbox/{what}"}


def _faults(state: State, body: bytes) -> tuple[int, Any]:
    """Change the faults (and reseed the dice); the caller holds the lock."""
    try:
        changes = json.loads(body or b"{}")
        if not isinstance(changes, dict):
            raise ValueError("faults must be a JSON object")
        return 200, state.injector.configure(changes)
    except ValueError as exc:
        return 400, {"error": str(exc)}
