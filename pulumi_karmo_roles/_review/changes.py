"""From a preview's steps, or an event log's events, to each role's change.

Dynamic providers send no ``detailedDiff``, so every change is computed from the state
before (``oldState``) and the state declared (``newState``). Drift comes from a refresh:
in ``pulumi preview --refresh --json``, the difference between a role's ``refresh`` step
(the state as recorded) and the ``oldState`` of its next step (what WorkOS holds); in
the event log of ``pulumi refresh --preview-only``, a ``resOutputsEvent`` whose
``metadata.op`` is ``update`` (``old`` recorded, ``new`` read back) or ``delete`` (gone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Change, RoleChange, StackReview
from .values import RoleState, Urn, is_role_type, parse_urn, role_state, state_type

# Steps that change nothing, or only a resource read with `.get()`: not reported.
_QUIET = frozenset(
    {"same", "read", "read-replacement", "discard", "discard-replaced", "remove-pending-replace",
     "refresh", "delete-replaced"}
)  # fmt: skip
_REPLACE = ("replace", "create-replacement", "import-replacement")
_CHANGE: dict[str, Change] = {"create": "create", "import": "create", "update": "update",
                              "delete": "delete"}  # fmt: skip


@dataclass
class _Stack:
    project: str
    stack: str
    roles: dict[tuple[str, str], RoleChange] = field(default_factory=dict)
    others: set[str] = field(default_factory=set)


class Collector:
    """Gathers the changes of several documents, per stack in the order first seen; a
    role's change seen twice (the same stack in two files) is kept once."""

    def __init__(self) -> None:
        self._stacks: dict[tuple[str, str], _Stack] = {}
        self.ignored = 0
        """Steps or events without a usable URN."""
        self.notes: list[str] = []
        """What the reader should know of the documents themselves."""
        self.events = False
        """Whether an event log was read (it shows the drift a refresh's JSON hides)."""

    def _stack(self, urn: Urn) -> _Stack:
        key = (urn.project, urn.stack)
        if key not in self._stacks:
            self._stacks[key] = _Stack(urn.project, urn.stack)
        return self._stacks[key]

    def _add(self, urn: Urn, change: RoleChange) -> None:
        self._stack(urn).roles.setdefault((change.urn, change.change), change)

    def add_preview(self, document: Mapping[str, Any]) -> None:
        """Add the steps of one ``pulumi preview --json`` document."""
        steps = document.get("steps")
        recorded: dict[str, RoleState | None] = {}
        by_urn: dict[str, list[Mapping[str, Any]]] = {}
        urns: dict[str, Urn] = {}
        ops: set[str] = set()
        for step in steps if isinstance(steps, list) else ():
            if not isinstance(step, Mapping):
                self.ignored += 1
                continue
            raw, op = step.get("urn"), _op(step)
            urn = parse_urn(raw)
            if urn is None or not isinstance(raw, str):
                self.ignored += 1
                continue
            ops.add(op)
            self._stack(urn)  # a stack without changes (its Stack's `same` step) is named
            type_ = state_type(step.get("newState")) or state_type(step.get("oldState"))
            if not is_role_type(type_ if isinstance(type_, str) else urn.type):
                if op and op not in _QUIET:
                    self._stack(urn).others.add(raw)
                continue
            urns[raw] = urn
            if op == "refresh":
                self._refreshed(urn, raw, step, recorded)
            elif op in _REPLACE or op in _CHANGE:
                by_urn.setdefault(raw, []).append(step)
        # `pulumi refresh --json`: a role WorkOS no longer holds is a delete step of its
        # own; a role removed from the program in `preview --refresh` has a refresh step.
        refresh_only = "refresh" in ops and ops <= {"refresh", "delete", "same"}
        if refresh_only:
            self._refresh_note(document)
        for raw, found in by_urn.items():
            step = next((s for s in found if _op(s) in _REPLACE), found[0])
            kind = _op(step)
            if kind == "delete" and "refresh" in ops and raw not in recorded:
                gone = _drift(raw, role_state(step.get("oldState"), "outputs"), None)
                if gone is not None:
                    self._add(urns[raw], gone)
                continue
            replaced = any(_op(s) in _REPLACE for s in found)
            change = _step_change(raw, step, "replace" if replaced else _CHANGE[kind])
            if change is None:
                continue
            if raw in recorded:
                drift = _drift(raw, recorded[raw], role_state(step.get("oldState"), "outputs"))
                if drift is not None:
                    self._add(urns[raw], drift)
            self._add(urns[raw], change)

    def _refresh_note(self, document: Mapping[str, Any]) -> None:
        summary = document.get("changeSummary")
        updates = summary.get("update") if isinstance(summary, Mapping) else None
        if isinstance(updates, int) and updates > 0:
            note = (
                f"This refresh counts {updates} update(s) that its JSON does not show "
                "(pulumi/pulumi#16278): review its event log (--event-log) for the drift."
            )
            if note not in self.notes:
                self.notes.append(note)

    def _refreshed(
        self,
        urn: Urn,
        raw: str,
        step: Mapping[str, Any],
        recorded: dict[str, RoleState | None],
    ) -> None:
        old = role_state(step.get("oldState"), "outputs")
        recorded[raw] = old
        new = role_state(step.get("newState"), "outputs")
        # Today's CLI writes the recorded state twice (pulumi/pulumi#16278); a CLI that
        # writes what was read back shows the drift in the refresh step itself.
        if old is not None and new is not None and old.view() != new.view():
            drift = _drift(raw, old, new)
            if drift is not None:
                self._add(urn, drift)

    def add_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Add the drift found by ``pulumi refresh --preview-only --event-log``."""
        self.events = True
        for event in events:
            outputs = event.get("resOutputsEvent") if isinstance(event, Mapping) else None
            metadata = outputs.get("metadata") if isinstance(outputs, Mapping) else None
            if not isinstance(metadata, Mapping):
                continue
            raw, op = metadata.get("urn"), _op(metadata)
            urn = parse_urn(raw)
            if urn is None or not isinstance(raw, str):
                self.ignored += 1
                continue
            type_ = metadata.get("type")
            if not is_role_type(type_ if isinstance(type_, str) else urn.type):
                if op in ("update", "delete", "create", "replace"):
                    self._stack(urn).others.add(raw)
                continue
            self._stack(urn)
            old = role_state(metadata.get("old"), "outputs")
            if op == "delete":
                drift = _drift(raw, old, None)
            elif op in ("update", "refresh"):
                drift = _drift(raw, old, role_state(metadata.get("new"), "outputs"))
            else:
                continue
            if drift is not None:
                self._add(urn, drift)

    def stacks(self) -> list[StackReview]:
        """Each stack's review, in the order first seen."""
        return [
            StackReview(s.stack, s.project, list(s.roles.values()), len(s.others))
            for s in self._stacks.values()
        ]


def _op(step: Mapping[str, Any]) -> str:
    """A step's (or event's) ``op``; ``""`` for anything that is not a string."""
    op = step.get("op")
    return op if isinstance(op, str) else ""


def _granted(before: tuple[str, ...] | None, after: tuple[str, ...] | None) -> tuple[str, ...]:
    return tuple(sorted(set(after or ()) - set(before or ())))


def _step_change(urn: str, step: Mapping[str, Any], change: Change) -> RoleChange | None:
    old = role_state(step.get("oldState"))
    new = role_state(step.get("newState"))
    if change == "delete":
        return None if old is None else _deleted(urn, old)
    if new is None:  # nothing declared to compare with: no change to tell
        return None
    if old is None:
        change = "create"  # no state before: whatever the op says, a new role
    after = new.permissions
    known = after.values is not None or after.managed is False
    granted_after = after.sorted() if after.managed else ()
    if change == "create":
        return RoleChange(
            urn, new.organization_id.value, new.slug.value, "create", None, new.name.value,
            granted_after if known else None, (),
            permissions_after=after.sorted(), permissions_managed_after=after.managed,
            unknown=new.flagged("unknown"), secret=new.flagged("secret"),
        )  # fmt: skip
    assert old is not None
    before = old.permissions
    common: dict[str, Any] = {
        "permissions_before": before.sorted(),
        "permissions_after": after.sorted(),
        "permissions_managed_before": before.managed,
        "permissions_managed_after": after.managed,
        "unknown": new.flagged("unknown"),
        "secret": tuple(sorted(set(new.flagged("secret")) | set(old.flagged("secret")))),
    }
    if change == "replace":
        return RoleChange(
            urn, new.organization_id.value, new.slug.value, "replace", old.name.value,
            new.name.value, granted_after if known else None, _cleared(old),
            clear_permissions_on_delete=old.clear_permissions_on_delete,
            organization_id_before=old.organization_id.value, slug_before=old.slug.value,
            **common,
        )  # fmt: skip
    takeover = before.managed is False and after.managed is True
    if not known or (after.managed and before.values is None and not takeover):
        granted: tuple[str, ...] | None = None
        revoked: tuple[str, ...] | None = None
    elif takeover:
        granted, revoked = granted_after, None  # what Karmo holds beside them is unknown
    elif after.managed is False:
        granted, revoked = (), ()  # no longer managed: the permissions stay as they are
    else:
        granted = _granted(before.sorted(), after.sorted())
        revoked = _granted(after.sorted(), before.sorted())
    return RoleChange(
        urn, new.organization_id.value, new.slug.value, "update", old.name.value,
        new.name.value, granted, revoked, takeover=takeover,
        clear_permissions_on_delete=new.clear_permissions_on_delete, **common,
    )  # fmt: skip


def _cleared(old: RoleState) -> tuple[str, ...] | None:
    """What deleting the old role revokes: its managed permissions with
    ``clear_permissions_on_delete`` (``None`` if they are secret), else nothing."""
    if old.clear_permissions_on_delete and old.permissions.managed is True:
        return old.permissions.sorted()
    return ()


def _deleted(urn: str, old: RoleState) -> RoleChange:
    before = old.permissions
    return RoleChange(
        urn, old.organization_id.value, old.slug.value, "delete", old.name.value, None,
        (), _cleared(old), permissions_before=before.sorted(),
        permissions_managed_before=before.managed,
        clear_permissions_on_delete=old.clear_permissions_on_delete,
        unknown=old.flagged("unknown"), secret=old.flagged("secret"),
    )  # fmt: skip


def _drift(urn: str, recorded: RoleState | None, held: RoleState | None) -> RoleChange | None:
    """The difference between the state as recorded and what WorkOS holds (``held``
    ``None``: the role is gone), or ``None`` when there is none to tell."""
    if recorded is None or (held is not None and held.view() == recorded.view()):
        return None
    before = recorded.permissions
    if held is None:
        return RoleChange(
            urn, recorded.organization_id.value, recorded.slug.value, "drift",
            recorded.name.value, None, (), before.sorted() if before.managed else (),
            permissions_before=before.sorted(), permissions_managed_before=before.managed,
            gone=True, secret=recorded.flagged("secret"),
        )  # fmt: skip
    after = held.permissions
    granted: tuple[str, ...] | None = ()
    revoked: tuple[str, ...] | None = ()
    if before.values is not None and after.values is not None:
        granted = _granted(before.sorted(), after.sorted())
        revoked = _granted(after.sorted(), before.sorted())
    elif before.managed is not False or after.managed is not False:
        granted = revoked = None
    return RoleChange(
        urn, recorded.organization_id.value, recorded.slug.value, "drift",
        recorded.name.value, held.name.value, granted, revoked,
        permissions_before=before.sorted(), permissions_after=after.sorted(),
        permissions_managed_before=before.managed, permissions_managed_after=after.managed,
        unknown=held.flagged("unknown"),
        secret=tuple(sorted(set(recorded.flagged("secret")) | set(held.flagged("secret")))),
    )  # fmt: skip
