"""What a reviewer reads of each change, written once for Markdown and for terminals:
identical changes across organizations grouped, each group one sentence, every value
shown through a :class:`Style` (which escapes it for its medium).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Protocol

from .model import Change, RoleChange

ORDER: tuple[tuple[Change, str], ...] = (
    ("drift", "Drift: changed outside Pulumi"),
    ("delete", "Deleted"),
    ("replace", "Replaced"),
    ("update", "Updated"),
    ("create", "Created"),
)
"""The sections of a stack, most consequential first (a cut drops the last ones)."""

FIRST_IDS = 5
"""How many organization ids a group of identical changes names."""

_PER_ORGANIZATION = frozenset({"urn", "organization_id", "organization_id_before"})


class Style(Protocol):
    """How a medium shows values and our own words."""

    listed: int
    """How many permissions a sentence lists before "and N more"."""

    def value(self, value: str) -> str:
        """A name, slug or id."""

    def permission(self, value: str) -> str:
        """A permission."""

    def literal(self, text: str) -> str:
        """Our own identifier or command, e.g. ``pulumi up``."""


@dataclass
class Group:
    """Identical changes in several organizations of one stack."""

    first: RoleChange
    places: list[tuple[str | None, str | None]] = field(default_factory=list)
    """Each change's (organization before, organization), in order."""


def _key(change: RoleChange) -> tuple[object, ...]:
    same_place = change.organization_id_before == change.organization_id
    kept = (getattr(change, f.name) for f in fields(RoleChange) if f.name not in _PER_ORGANIZATION)
    return (*kept, same_place)


def grouped(changes: list[RoleChange], kind: Change) -> list[Group]:
    """The changes of one kind, identical ones (but for the organization) together."""
    groups: dict[tuple[object, ...], Group] = {}
    for change in changes:
        if change.change != kind:
            continue
        group = groups.setdefault(_key(change), Group(change))
        group.places.append((change.organization_id_before, change.organization_id))
    return list(groups.values())


def shown(s: Style, change: RoleChange, prop: str, value: str | None) -> str:
    if value is not None:
        return s.value(value)
    if prop in change.secret:
        return "(secret)"
    if prop in change.unknown:
        return "(known after apply)"
    return "(unknown)"


def _listed(s: Style, permissions: tuple[str, ...]) -> str:
    shown = ", ".join(s.permission(p) for p in permissions[: s.listed])
    more = len(permissions) - s.listed
    return shown + (f" and {more} more" if more > 0 else "")


def organizations(labels: list[str], total: int) -> str:
    """``organization X``, or "N organizations (X, Y, … and M more)", from the first
    labels of ``total``."""
    if total == 1:
        return "organization " + labels[0]
    more = total - FIRST_IDS
    shown = ", ".join(labels[:FIRST_IDS])
    return f"{total} organizations ({shown}" + (f" and {more} more)" if more > 0 else ")")


def where(s: Style, group: Group) -> str:
    """Where the group's changes are (see :func:`organizations`)."""
    change = group.first

    def one(place: tuple[str | None, str | None]) -> str:
        before, after = place
        label = shown(s, change, "organization_id", after)
        if change.change == "replace" and before != after:
            return f"{shown(s, change, 'organization_id', before)} → {label}"
        return label

    return organizations([one(place) for place in group.places[:FIRST_IDS]], len(group.places))


def _permissions_after(s: Style, change: RoleChange) -> str:
    if change.permissions_managed_after is False:
        return "permissions not managed"
    if change.granted is None:
        return f"permissions {shown(s, change, 'permissions', None)}"
    if not change.granted:
        return "grants no permission"
    return "grants " + _listed(s, change.granted)


def _left_behind(s: Style, change: RoleChange) -> str:
    if change.clear_permissions_on_delete and change.permissions_managed_before:
        cleared = f" ({_listed(s, change.revoked)})" if change.revoked else ""
        return (
            f"the role stays in Karmo; its permissions{cleared} are cleared "
            f"({s.literal('clear_permissions_on_delete')}). If its organization moved to "
            "another stack, apply this one first: run after that stack, the clear undoes "
            "what it set. By hand: remove the role in Karmo or WorkOS if it must go"
        )
    return (
        "the role stays in Karmo, and so do its permissions. By hand: to revoke them, "
        f"declare it with {s.literal('permissions=[]')} and run {s.literal('pulumi up')} "
        "before removing it; remove the role itself in Karmo or WorkOS"
    )


def _update(s: Style, change: RoleChange) -> list[str]:
    parts = []
    if change.name_before != change.name_after or "name" in change.unknown:
        before = shown(s, change, "name", change.name_before)
        parts.append(f"renamed {before} → {shown(s, change, 'name', change.name_after)}")
    if change.takeover:
        parts.append(
            "permissions go from unmanaged to managed: the whole set Karmo holds is "
            + ("replaced by " + _listed(s, change.granted) if change.granted
               else "replaced (known after apply)" if change.granted is None
               else "cleared")
            + ", and anything else it holds is revoked"
        )  # fmt: skip
    elif change.permissions_managed_before and change.permissions_managed_after is False:
        parts.append("permissions no longer managed by Pulumi: they stay as they are in Karmo")
    elif change.granted is None:
        parts.append(f"permissions {shown(s, change, 'permissions', None)}")
    else:
        if change.granted:
            parts.append("grants " + _listed(s, change.granted))
        if change.revoked:
            parts.append("revokes " + _listed(s, change.revoked))
    if not parts:
        flag = change.clear_permissions_on_delete
        parts.append(
            f"{s.literal('clear_permissions_on_delete')} is now {str(bool(flag)).lower()}"
            " (no call to Karmo)"
        )
    return parts


def _drift(s: Style, change: RoleChange) -> list[str]:
    if change.gone:
        return ["gone from WorkOS (deleted outside Pulumi)"]
    parts = []
    if change.name_before != change.name_after:
        before = shown(s, change, "name", change.name_before)
        parts.append(f"renamed {before} → {shown(s, change, 'name', change.name_after)}")
    if change.granted:
        parts.append("permissions added: " + _listed(s, change.granted))
    if change.revoked:
        parts.append("permissions removed: " + _listed(s, change.revoked))
    if change.granted is None:
        parts.append("permissions differ (secret or unknown)")
    return parts or ["WorkOS holds something else than the state"]


def sentence(s: Style, group: Group) -> str:
    """One group of identical changes, as a sentence."""
    change = group.first
    slug = shown(s, change, "slug", change.slug)
    at = where(s, group)
    if change.change == "create":
        name = shown(s, change, "name", change.name_after)
        return f"{slug} {name} in {at}: {_permissions_after(s, change)}"
    if change.change == "delete":
        name = shown(s, change, "name", change.name_before)
        return f"{slug} {name} in {at}: removed from the program; {_left_behind(s, change)}"
    if change.change == "replace":
        old = (f"slug {shown(s, change, 'slug', change.slug_before)} → {slug}"
               if change.slug_before != change.slug else slug)  # fmt: skip
        return (
            f"{old} in {at}: a new role is created ({_permissions_after(s, change)}); the "
            f"old one is not deleted: {_left_behind(s, change)}"
        )
    build: Callable[[Style, RoleChange], list[str]]
    build = _drift if change.change == "drift" else _update
    return f"{slug} in {at}: " + "; ".join(build(s, change))
