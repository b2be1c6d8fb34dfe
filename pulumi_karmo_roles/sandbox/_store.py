"""The roles the sandbox holds: one store, which both of its faces read and write.

The Karmo face upserts organization roles into it; the WorkOS face reads them as WorkOS
would, and changes them as a person in the WorkOS dashboard would. Environment roles
(WorkOS's roles of every organization) live here too, added by tests. Not thread-safe:
callers hold the sandbox's lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_role_id() -> str:
    """A fresh role id in WorkOS's form, ``role_01`` and 24 Crockford base-32 digits."""
    return "role_01" + "".join(secrets.choice(_CROCKFORD) for _ in range(24))


def timestamp() -> str:
    """Now, as WorkOS writes it: ISO 8601 in UTC with milliseconds,
    ``2024-01-15T12:00:00.000Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Role:
    """One role, as WorkOS holds it."""

    role_id: str
    name: str
    permissions: list[str] = field(default_factory=list)
    description: str | None = None
    environment: bool = False
    """An environment role (in every organization) rather than an organization role."""
    created_at: str = field(default_factory=timestamp)
    updated_at: str = ""

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at

    def touch(self) -> None:
        """Record a change: ``updated_at`` becomes now."""
        self.updated_at = timestamp()


class RoleStore:
    """Organization roles by (organization id, slug), each organization's in creation
    order, and environment roles by slug."""

    def __init__(self) -> None:
        self._organizations: dict[str, dict[str, Role]] = {}
        self.environment: dict[str, Role] = {}
        """Environment roles by slug, in creation order."""

    def get(self, organization_id: str, slug: str) -> Role | None:
        """The organization role, or ``None``."""
        return self._organizations.get(organization_id, {}).get(slug)

    def put(self, organization_id: str, slug: str, role: Role) -> None:
        """Add an organization role (last in its organization's order)."""
        self._organizations.setdefault(organization_id, {})[slug] = role

    def remove(self, organization_id: str, slug: str) -> Role | None:
        """Delete an organization role; the role removed, or ``None``."""
        roles = self._organizations.get(organization_id, {})
        role = roles.pop(slug, None)
        if not roles:
            self._organizations.pop(organization_id, None)
        return role

    def in_organization(self, organization_id: str) -> list[tuple[str, Role]]:
        """One organization's roles as ``(slug, role)``, in creation order."""
        return list(self._organizations.get(organization_id, {}).items())

    def items(self) -> Iterator[tuple[tuple[str, str], Role]]:
        """Every organization role as ``((organization_id, slug), role)``."""
        for organization_id, roles in self._organizations.items():
            for slug, role in roles.items():
                yield (organization_id, slug), role

    def clear(self) -> None:
        """Forget every role, environment roles included."""
        self._organizations.clear()
        self.environment.clear()
