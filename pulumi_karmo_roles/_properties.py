"""An ``OrganizationRole``'s properties, for the provider and its read-back: their names,
the rule of each input under each access provider, and the role an operation acts on."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from pulumi.output import Unknown

from ._rules import (
    ACCESS_PROVIDERS,
    clear_permissions_on_delete_problem,
    name_problem,
    organization_id_problem,
    permissions_problem,
    slug_problem,
)
from .errors import InputError

INPUT_PROPERTIES = ("organization_id", "slug", "name", "permissions", "clear_permissions_on_delete")
"""The resource's inputs, in the order failures are reported (``permissions`` and
``clear_permissions_on_delete`` are optional)."""

OUTPUT_PROPERTIES = (*INPUT_PROPERTIES, "role_id")
"""The resource's outputs: the inputs plus Karmo's role id. The ``permissions`` output is
the set Karmo was given, sorted and unique, or ``None`` when the role's permissions are
unmanaged; ``clear_permissions_on_delete`` is a bool (false unless set)."""

CLEAR = "clear_permissions_on_delete"


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is still unknown (a preview's value from another resource)."""
    return isinstance(value, Unknown)


Rules = dict[str, Callable[[Any], str | None]]
"""The rule of each input: its name to a function that says what is wrong, or ``None``."""

PROBLEMS: dict[str, Rules] = {
    access_provider: {
        "organization_id": organization_id_problem,
        "slug": functools.partial(slug_problem, access_provider=access_provider),
        "name": functools.partial(name_problem, access_provider=access_provider),
        "permissions": functools.partial(permissions_problem, is_unknown=is_unknown),
        "clear_permissions_on_delete": clear_permissions_on_delete_problem,
    }
    for access_provider in ACCESS_PROVIDERS
}
"""The rules of the inputs, for each access provider (``karmo:accessProvider``)."""


class Role(NamedTuple):
    """A role as an operation acts on it: inputs that passed their rules."""

    organization_id: str
    slug: str
    name: str
    permissions: list[str] | None  # sorted and unique; None: not managed by Pulumi
    clear_permissions_on_delete: bool


def role_inputs(props: dict[str, Any], rules: Rules) -> Role:
    """The role ``props`` declare, held to ``rules``.

    :raises InputError: a property breaks its rule or is still unknown.
    """
    problems = [p for p in (rules[key](props.get(key)) for key in INPUT_PROPERTIES) if p]
    permissions = props.get("permissions")
    if isinstance(permissions, list) and any(map(is_unknown, permissions)):
        problems.append("permissions holds values that are still unknown")
    if problems:
        raise InputError("Invalid OrganizationRole: " + "; ".join(problems))
    return Role(
        props["organization_id"],
        props["slug"],
        props["name"],
        None if permissions is None else sorted(set(permissions)),
        props.get(CLEAR) is True,
    )


def outputs(role: Role, role_id: str | None, permissions: list[str] | None) -> dict[str, Any]:
    """The outputs of ``role``, created or updated with ``role_id`` and ``permissions``."""
    return {
        "organization_id": role.organization_id,
        "slug": role.slug,
        "name": role.name,
        "permissions": permissions,
        CLEAR: role.clear_permissions_on_delete,
        "role_id": role_id,
    }
