"""Which resource in this program declares which Karmo role: each
:class:`~pulumi_karmo_roles.OrganizationRole` claims its (organization id, slug) when it
is declared (once an Output id resolves), and a second claim fails that resource's
registration with a :class:`~pulumi_karmo_roles.errors.DuplicateRoleError`, before
anything is sent. Only the program sees every resource. Claims are kept per engine
connection, so each mocked test program and each Automation API run starts with none."""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, NoReturn

import pulumi
from pulumi.runtime import get_root_resource
from pulumi.runtime.settings import get_monitor

from ._rules import organization_id_problem, slug_problem
from .errors import DuplicateRoleError

ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"
"""The Pulumi type of :class:`~pulumi_karmo_roles.OrganizationRole`, as it appears in URNs."""


@dataclass(frozen=True)
class _Claimant:
    name: str
    parent: pulumi.Resource | None  # None: the stack
    secret: bool = False  # the id or slug came from a secret Output

    def describe(self) -> str:
        where = ""
        if self.parent is not None:
            kind = self.parent.pulumi_resource_type.rsplit(":", 1)[-1]
            where = f" in {kind} {self.parent.pulumi_resource_name!r}"
        return f"OrganizationRole {self.name!r}{where}"

    def urn(self) -> pulumi.Output[str]:
        return pulumi.create_urn(self.name, ROLE_TYPE, parent=self.parent)


class _Claims:
    def __init__(self, monitor: object) -> None:
        self.monitor = monitor
        self.by_role: dict[tuple[str, str], _Claimant] = {}


_lock = threading.Lock()
_current: _Claims | None = None


def _record(organization_id: str, slug: str, claimant: _Claimant) -> _Claimant | None:
    """Record the claim; return the earlier claimant of the same role, if any."""
    global _current
    monitor = get_monitor()
    with _lock:
        if _current is None or _current.monitor is not monitor:
            _current = _Claims(monitor)
        key = (organization_id, slug)
        earlier = _current.by_role.get(key)
        if earlier is None:
            _current.by_role[key] = claimant
        return earlier


def claim_role(
    resource_name: str,
    parent: pulumi.Resource | None,
    organization_id: Any,
    slug: Any,
) -> Any:
    """Claim the role ``(organization_id, slug)`` for the OrganizationRole
    ``resource_name`` (declared with ``parent``) and return the organization id to
    register it with.

    That is ``organization_id`` itself, unless the role is already claimed: then an Output
    that fails with a :class:`DuplicateRoleError`, so the resource never registers. Where
    either value is an Output, the returned id is an Output that makes the claim when both
    resolve (same value, secrecy and dependencies).
    """
    if parent is not None and parent is get_root_resource():
        parent = None

    def claim(org: Any, role_slug: Any, secret: bool = False) -> Any:
        # An invalid id or slug names no role: check() reports it, in the same preview.
        # Karmo's own slug rule: a slug only the access provider refuses still names one
        # role, and two claims of it are still a conflict.
        if organization_id_problem(org) or slug_problem(role_slug, "generic"):
            return org
        claimant = _Claimant(resource_name, parent, secret)
        earlier = _record(org, role_slug, claimant)
        return org if earlier is None else _conflict(org, role_slug, earlier, claimant)

    if _is_input(organization_id) or _is_input(slug):
        values = [pulumi.Output.from_input(v) for v in (organization_id, slug)]
        secret: pulumi.Output[bool] = pulumi.Output.from_input(_any_secret(values))
        return pulumi.Output.all(*values, secret).apply(lambda resolved: claim(*resolved))
    return claim(organization_id, slug)


async def _any_secret(values: list[pulumi.Output[Any]]) -> bool:
    return any([await value.is_secret() for value in values])


def _is_input(value: Any) -> bool:
    return isinstance(value, pulumi.Output | Awaitable)


def _conflict(
    organization_id: str, slug: str, earlier: _Claimant, later: _Claimant
) -> pulumi.Output[str]:
    if earlier.secret or later.secret:  # the message must not reveal a secret value
        role = "A Karmo role whose organization id or slug is secret"
        resource_id = "'<organization_id>/<slug>'"
    else:
        role = f"Karmo role {slug!r} in organization {organization_id!r}"
        resource_id = repr(f"{organization_id}/{slug}")

    def fail(urns: list[str]) -> NoReturn:
        first, second = urns
        raise DuplicateRoleError(
            f"{role} is declared by two resources: {earlier.describe()} "
            f"({first}) and {later.describe()} ({second}). They would overwrite each other "
            "on every `pulumi up`. Declare the role once; to refer to it elsewhere, look it "
            f"up with OrganizationRole.get(<name>, {resource_id})."
        )

    return pulumi.Output.all(earlier.urn(), later.urn()).apply(fail)
