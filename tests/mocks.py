"""Mocks for programs under ``pulumi.runtime.set_mocks`` that register each role through
the real provider's ``check`` (and ``read`` for ``.get()``), so a program that would fail
its preview fails under test too; they record every registration."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from pulumi_karmo_roles.claims import ROLE_TYPE
from pulumi_karmo_roles.provider import OrganizationRoleProvider


class CheckingMocks(pulumi.runtime.Mocks):
    """Roles pass through the provider's check/read; other resources (components) are
    accepted as declared. ``registered`` keeps every registration in order."""

    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []
        self.provider = OrganizationRoleProvider()

    def role_id(self, outputs: dict[str, Any]) -> str:
        """The ``role_id`` Karmo would return for a role with these outputs."""
        return f"role_{outputs['organization_id']}_{outputs['slug']}"

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.registered.append(args)
        if args.typ != ROLE_TYPE:
            return None, {}
        inputs = {
            k: unwrap_rpc_secret(v) if is_rpc_secret(v) else v
            for k, v in args.inputs.items()
            if k != "__provider"
        }
        if args.resource_id:
            result = self.provider.read(args.resource_id, inputs)
            return result.id, dict(result.outs or {})
        checked = self.provider.check({}, inputs)
        if checked.failures:
            raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
        outs = checked.inputs
        return f"{outs['organization_id']}/{outs['slug']}", {**outs, "role_id": self.role_id(outs)}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None
