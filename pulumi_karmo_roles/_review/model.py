"""What a review holds: the role changes of each stack and the findings of the rules.

Plain frozen data, built by :mod:`.changes` and :mod:`.rules`, shown by :mod:`.render`
(Markdown, text) and :mod:`.report` (JSON). The values are as the preview held
them (secrets never decoded: a secret value is ``None`` and named in ``secret``); every
output format bounds, escapes and redacts them before showing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Change = Literal["create", "update", "replace", "delete", "drift"]
"""What happens to a role: ``drift`` is a difference a refresh found between the state
and what WorkOS holds; the others are what the next ``pulumi up`` does."""

RULES = ("wildcard", "delete", "takeover", "drift", "deny")
"""The rules' names, in the order findings are reported."""


@dataclass(frozen=True)
class RoleChange:
    """One role's change in one stack. A value unknown at preview (an Output of another
    resource) or secret is ``None``, and its property is named in ``unknown`` or
    ``secret``; a permission list that cannot be known at preview is ``None``."""

    urn: str
    """The resource's URN."""
    organization_id: str | None
    """The organization (for a replacement, the new one)."""
    slug: str | None
    """The role's slug (for a replacement, the new one)."""
    change: Change
    """``create``, ``update``, ``replace``, ``delete`` or ``drift``."""
    name_before: str | None
    """The name in the state (for ``drift``: the one recorded); ``None`` for a create."""
    name_after: str | None
    """The name declared (for ``drift``: the one WorkOS holds); ``None`` for a delete."""
    granted: tuple[str, ...] | None
    """Permissions the change grants (for ``drift``: added outside Pulumi), sorted."""
    revoked: tuple[str, ...] | None
    """Permissions the change revokes (for ``drift``: removed outside Pulumi), sorted."""
    permissions_before: tuple[str, ...] | None = None
    """The permission set in the state; ``None`` when unmanaged or unknown."""
    permissions_after: tuple[str, ...] | None = None
    """The permission set declared (for ``drift``: what WorkOS holds)."""
    permissions_managed_before: bool | None = None
    """Whether Pulumi managed the permissions before (``None`` for a create)."""
    permissions_managed_after: bool | None = None
    """Whether Pulumi manages them after (``None`` for a delete, or unknown)."""
    takeover: bool = False
    """The permissions go from unmanaged to managed: the whole set Karmo holds is
    replaced by the declared one."""
    clear_permissions_on_delete: bool | None = None
    """For a delete or a replacement: whether the old role's permissions are cleared."""
    organization_id_before: str | None = None
    """For a replacement: the old role's organization."""
    slug_before: str | None = None
    """For a replacement: the old role's slug."""
    gone: bool = False
    """For ``drift``: WorkOS no longer holds the role."""
    unknown: tuple[str, ...] = ()
    """Properties whose value is known only after apply."""
    secret: tuple[str, ...] = ()
    """Properties whose value is secret (never decoded)."""


@dataclass(frozen=True)
class Finding:
    """What a rule found in one role's change."""

    rule: str
    """``wildcard``, ``delete``, ``takeover``, ``drift`` or ``deny``."""
    stack: str
    """The stack the role is in."""
    organization_id: str | None
    """The organization (``None`` when unknown at preview or secret)."""
    slug: str | None
    """The role's slug."""
    permission: str | None
    """The permission concerned (``wildcard``, ``deny``), else ``None``."""
    blocking: bool
    """Whether the finding fails the review (``deny`` always; others with ``fail_on``)."""
    message: str
    """One line that says what was found and what to do, its values escaped and
    bounded."""
    urn: str = ""
    """The resource's URN."""
    pattern: str | None = None
    """For ``deny``: the ``--deny`` pattern that matched."""


@dataclass(frozen=True)
class StackReview:
    """The role changes of one stack."""

    stack: str
    """The stack's name, read from the URNs."""
    project: str
    """The project's name, read from the URNs."""
    roles: list[RoleChange] = field(default_factory=list)
    """Each role's change, in the order of the preview's steps."""
    other_resources: int = 0
    """Resources of other types that change."""


class Reviewed(Protocol):
    """What the renderers read of a review (the ``Review`` of ``report``, which calls
    them: naming it here keeps the two modules from importing each other)."""

    @property
    def stacks(self) -> list[StackReview]: ...
    @property
    def findings(self) -> list[Finding]: ...
    @property
    def ignored_steps(self) -> int: ...
    @property
    def notes(self) -> list[str]: ...
    def counts(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Options:
    """The rules' settings of one review."""

    deny: tuple[str, ...] = ()
    fail_on: frozenset[str] = frozenset()


def json_value(value: Any) -> Any:
    """A tuple as a list, anything else as it is (for JSON)."""
    return list(value) if isinstance(value, tuple) else value
