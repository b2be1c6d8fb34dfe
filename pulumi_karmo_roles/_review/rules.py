"""The rules a review applies to each role's change, each finding named by its rule:

- ``wildcard``: a granted permission holds ``*``;
- ``delete``: a role is replaced or deleted (the old one stays in Karmo);
- ``takeover``: the permissions go from unmanaged to managed (the whole set is replaced);
- ``drift``: a refresh found WorkOS holding something else than the state;
- ``deny``: a granted permission matches a ``--deny`` pattern (shell-style). It always
  blocks, and so does a permission set known only after apply when patterns are given:
  what cannot be checked is not let through.

``fail_on`` makes the findings of those rules blocking.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from .display import plain
from .model import Finding, Options, RoleChange, StackReview


def findings(stacks: list[StackReview], options: Options) -> list[Finding]:
    """Every finding of every stack, in the order of the stacks and their roles."""
    return [
        finding
        for stack in stacks
        for change in stack.roles
        for finding in _findings(stack.stack, change, options)
    ]


def _where(change: RoleChange) -> str:
    return f"role {plain(change.slug)} in organization {plain(change.organization_id)}"


def _findings(stack: str, change: RoleChange, options: Options) -> Iterator[Finding]:
    def found(rule: str, message: str, permission: str | None = None, pattern: str | None = None,
              blocking: bool = False) -> Finding:  # fmt: skip
        return Finding(
            rule, stack, change.organization_id, change.slug, permission,
            blocking or rule in options.fail_on, message, change.urn, pattern,
        )  # fmt: skip

    where = _where(change)
    if change.change == "drift":
        yield found("drift", f"{where}: {_drift_text(change)}")
        return
    if change.change == "delete":
        yield found("delete", f"{where} is removed from the program: {_left_behind(change)}")
    if change.change == "replace":
        org, slug = plain(change.organization_id_before), plain(change.slug_before)
        before = f"organization {org}, slug {slug}"
        yield found(
            "delete",
            f"{where} replaces the role of {before}: a new role is created and the old one "
            f"stays in Karmo ({_left_behind(change)})",
        )
    if change.takeover:
        yield found(
            "takeover",
            f"{where}: its permissions go from unmanaged to managed; the whole set Karmo "
            "holds is replaced by the declared one, and anything else it holds is revoked",
        )
    granted = change.granted
    for permission in granted or ():
        if "*" in permission:
            yield found(
                "wildcard",
                f"{where} is granted {plain(permission, permission=True)}, a wildcard: "
                "it grants every permission it matches, today's and future ones",
                permission,
            )
        for pattern in options.deny:
            if fnmatch.fnmatchcase(permission, pattern):
                yield found(
                    "deny",
                    f"{where} is granted {plain(permission, permission=True)}, which "
                    f"matches --deny {plain(pattern, permission=True)}",
                    permission, pattern, blocking=True,
                )  # fmt: skip
    if granted is None and options.deny:
        yield found(
            "deny",
            f"{where}: the permissions it is granted are known only after apply (or "
            "secret), so --deny cannot check them",
            blocking=True,
        )


def _left_behind(change: RoleChange) -> str:
    if change.clear_permissions_on_delete and change.permissions_managed_before:
        return (
            "its permissions are cleared (clear_permissions_on_delete): if its organization "
            "moved to another stack, apply this one first; remove the role itself in Karmo "
            "or WorkOS if it must go"
        )
    return (
        "it keeps its permissions; to revoke them, first declare it with permissions=[] "
        "and run pulumi up; remove the role itself in Karmo or WorkOS if it must go"
    )


def _drift_text(change: RoleChange) -> str:
    if change.gone:
        return "WorkOS no longer holds it (deleted outside Pulumi)"
    parts = []
    if change.name_before != change.name_after:
        before, after = plain(change.name_before), plain(change.name_after)
        parts.append(f"renamed outside Pulumi, {before} to {after}")
    if change.granted:
        parts.append("permissions added outside Pulumi: " + _listed(change.granted))
    if change.revoked:
        parts.append("permissions removed outside Pulumi: " + _listed(change.revoked))
    if change.granted is None:
        parts.append("its permissions differ (secret or unknown)")
    return "; ".join(parts) or "WorkOS holds something else than the state"


def _listed(permissions: tuple[str, ...], at_most: int = 10) -> str:
    shown = ", ".join(plain(p, permission=True) for p in permissions[:at_most])
    more = len(permissions) - at_most
    return shown + (f" and {more} more" if more > 0 else "")
