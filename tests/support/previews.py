"""Preview documents as ``pulumi preview --json`` writes them (shapes from
/shared/notes/preview-json.md, checked against the CLI's captured fixtures in
tests/fixtures/previews/): steps with ``oldState``/``newState`` state resources, secrets
as ``"[secret]"``, unknowns as the engine's UUID, no ``detailedDiff``."""

from __future__ import annotations

from typing import Any

ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"
SET_TYPE = "karmo:index:OrganizationRoleSet"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET = "[secret]"


def urn(
    name: str, stack: str = "dev", project: str = "acme-roles", parent: str | None = None
) -> str:
    type_ = f"{parent}${ROLE_TYPE}" if parent else ROLE_TYPE
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def role_props(
    organization_id: Any = "org_1",
    slug: Any = "org-admin",
    name: Any = "Admin",
    permissions: Any = None,
    clear: Any = None,
    role_id: Any = None,
) -> dict[str, Any]:
    """A role's inputs (with ``role_id`` given: its outputs)."""
    props: dict[str, Any] = {
        "__provider": SECRET,
        "organization_id": organization_id,
        "slug": slug,
        "name": name,
    }
    if permissions is not None:
        props["permissions"] = permissions
    if clear is not None:
        props["clear_permissions_on_delete"] = clear
    if role_id is not None:
        props["role_id"] = role_id
    return props


def state(resource_urn: str, props: dict[str, Any] | None, **extra: Any) -> dict[str, Any] | None:
    """A state resource, as the preview writes ``oldState``/``newState``."""
    if props is None:
        return None
    type_ = resource_urn.split("::")[2]
    outputs = {**props, "role_id": props.get("role_id", "role_01")}
    return {
        "urn": resource_urn,
        "custom": True,
        "type": type_,
        "inputs": {k: v for k, v in props.items() if k != "role_id"},
        "outputs": outputs,
        "provider": "urn:pulumi:dev::acme-roles::pulumi:providers:pulumi-python::default",
        **extra,
    }


def step(
    op: str,
    resource_urn: str,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One step: ``old``/``new`` are a role's properties (see :func:`role_props`)."""
    found: dict[str, Any] = {"op": op, "urn": resource_urn, "provider": ""}
    if old is not None:
        found["oldState"] = state(resource_urn, old)
    if new is not None:
        found["newState"] = state(resource_urn, new)
    return found


def other(op: str, name: str, type_: str = "random:index/randomPet:RandomPet") -> dict[str, Any]:
    """A step of another resource type."""
    resource_urn = f"urn:pulumi:dev::acme-roles::{type_}::{name}"
    return {"op": op, "urn": resource_urn, "newState": {"urn": resource_urn, "type": type_}}


def preview(*steps: dict[str, Any]) -> dict[str, Any]:
    """A whole ``pulumi preview --json`` document."""
    summary: dict[str, int] = {}
    for found in steps:
        summary[found["op"]] = summary.get(found["op"], 0) + 1
    return {
        "config": {"karmo:apiUrl": "https://karmo.example.com", "karmo:token": SECRET},
        "steps": list(steps),
        "duration": 1_234_567,
        "changeSummary": summary,
    }


def event(op: str, resource_urn: str, old: dict[str, Any] | None, new: dict[str, Any] | None,
          sequence: int = 1) -> dict[str, Any]:  # fmt: skip
    """A ``resOutputsEvent`` of ``--event-log``, secrets as the engine writes them."""
    sig = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
           "ciphertext": "v1:AAAA"}  # fmt: skip

    def engine_state(props: dict[str, Any] | None) -> dict[str, Any] | None:
        found = state(resource_urn, props)
        if found is None:
            return None
        for key in ("inputs", "outputs"):
            found[key]["__provider"] = sig
        return found

    return {
        "sequence": sequence,
        "timestamp": 1_700_000_000,
        "resOutputsEvent": {
            "metadata": {
                "op": op,
                "urn": resource_urn,
                "type": resource_urn.split("::")[2],
                "old": engine_state(old),
                "new": engine_state(new),
                "provider": "",
            },
            "planning": True,
        },
    }
