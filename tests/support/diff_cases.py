"""The diff table: one source for the provider called directly (test_provider.py) and
through ``python -m pulumi.dynamic`` (tests/test_provider_over_grpc.py).

Each case is the recorded outputs, the new inputs, whether anything changed and which
properties force a replace. Unknowns are ``pulumi.output.UNKNOWN``; the engine tests
send them as the engine does (:func:`for_engine`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from pulumi.output import UNKNOWN, Unknown
from pulumi.runtime import rpc

VALID = {"organization_id": "org_123", "slug": "org-admin", "name": "Organization Admin"}
MANAGED = {**VALID, "permissions": ["a", "b"]}
OLD = {**MANAGED, "clear_permissions_on_delete": False, "role_id": "role_01HXYZ"}
"""Outputs of a role whose permissions Pulumi manages."""
UNMANAGED = {**VALID, "role_id": "role_01HXYZ"}
"""Outputs with neither permissions nor clear_permissions_on_delete (also what a role
created before that input existed has recorded)."""


class DiffCase(NamedTuple):
    olds: dict[str, Any]
    news: dict[str, Any]
    changes: bool
    replaces: list[str]


_CASES = {
    "nothing": DiffCase(OLD, MANAGED, False, []),
    "name": DiffCase(OLD, {**MANAGED, "name": "Admins"}, True, []),
    "slug": DiffCase(OLD, {**MANAGED, "slug": "org-root"}, True, ["slug"]),
    "organization": DiffCase(
        OLD, {**MANAGED, "organization_id": "org_9"}, True, ["organization_id"]
    ),
    "organization and slug": DiffCase(
        OLD,
        {**MANAGED, "organization_id": "org_9", "slug": "org-b"},
        True,
        ["organization_id", "slug"],
    ),
    "unknown name": DiffCase(OLD, {**MANAGED, "name": UNKNOWN}, True, []),
    "unknown organization": DiffCase(
        OLD, {**MANAGED, "organization_id": UNKNOWN}, True, ["organization_id"]
    ),
    "unknown slug": DiffCase(OLD, {**MANAGED, "slug": UNKNOWN}, True, ["slug"]),
    # permissions are a set
    "permission order": DiffCase(OLD, {**VALID, "permissions": ["b", "a"]}, False, []),
    "repeated permission": DiffCase(OLD, {**VALID, "permissions": ["a", "b", "a"]}, False, []),
    "one permission less": DiffCase(OLD, {**VALID, "permissions": ["a"]}, True, []),
    "one permission more": DiffCase(OLD, {**VALID, "permissions": ["a", "b", "c"]}, True, []),
    "all permissions revoked": DiffCase(OLD, {**VALID, "permissions": []}, True, []),
    "stop managing permissions": DiffCase(OLD, VALID, True, []),  # a change, no request
    "start managing permissions": DiffCase(UNMANAGED, {**VALID, "permissions": ["a"]}, True, []),
    "unmanaged permissions": DiffCase(UNMANAGED, VALID, False, []),
    "unknown permissions": DiffCase(OLD, {**VALID, "permissions": UNKNOWN}, True, []),
    "unknown permission": DiffCase(OLD, {**VALID, "permissions": ["a", UNKNOWN]}, True, []),
    # clear_permissions_on_delete: false unless set; changing it is an update
    "clear on delete set": DiffCase(
        OLD, {**MANAGED, "clear_permissions_on_delete": True}, True, []
    ),
    "clear on delete unset": DiffCase(
        {**OLD, "clear_permissions_on_delete": True}, MANAGED, True, []
    ),
    "clear on delete false is absent": DiffCase(
        UNMANAGED, {**VALID, "clear_permissions_on_delete": False}, False, []
    ),
    "clear on delete unknown": DiffCase(
        OLD, {**MANAGED, "clear_permissions_on_delete": UNKNOWN}, True, []
    ),
}

DIFF_CASES = [pytest.param(*case, id=name) for name, case in _CASES.items()]
"""``pytest.mark.parametrize(("olds", "news", "changes", "replaces"), DIFF_CASES)``"""


def for_engine(value: Any) -> Any:
    """``value`` with each unknown as the engine sends it over gRPC."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {key: for_engine(item) for key, item in value.items()}
    if isinstance(value, list):
        return [for_engine(item) for item in value]
    return value
