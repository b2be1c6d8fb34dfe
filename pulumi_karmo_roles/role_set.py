"""``OrganizationRoleSet``: the same catalog of roles in every organization."""

from __future__ import annotations

import asyncio
import functools
import os
import re
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import pulumi

from ._rules import organization_id_problem
from .catalog import Catalog, RoleSpec
from .errors import InputError, UsageError
from .resource import OrganizationRole

__all__ = ["OrganizationRoleSet"]

_KEY = re.compile(r"[A-Za-z0-9._-]{1,100}")

OrganizationIds = Sequence[str] | Mapping[str, pulumi.Input[str]]
"""Plain organization ids, or ``{key: organization_id}`` where an id may be an Output."""


class OrganizationRoleSet(pulumi.ComponentResource):
    """The same catalog of roles in each of several organizations: one
    :class:`~pulumi_karmo_roles.OrganizationRole` per (organization, role), parented to the
    set.

    Each role's name is ``"{set name}/{organization key}/{slug}"``: it depends on neither
    list's order, so adding an organization or a role previews as creates of exactly its
    roles, and reordering either list previews as no change. The organization key is the
    organization id itself, or the key of ``{key: organization_id}``. An id in the list
    that is an Output names its roles once it resolves, so a preview shows them only if
    it knows the id; for ids of organizations created in the same update, use the dict
    form, whose plain keys name the roles at once.
    Renaming the set renames every role: pass ``aliases=[pulumi.Alias(name="<old name>")]``
    in ``opts`` and the roles follow (their names start with the set's name).

    ::

        OrganizationRoleSet(
            "customer-roles",
            organization_ids=["org_acme", "org_globex"],
            catalog={
                "org-admin": {"name": "Admin", "permissions": ["members:*"]},
                "org-viewer": {"name": "Viewer"},
            },
        )
        # or: OrganizationRoleSet.from_file("roles.yaml", "customer-roles", organization_ids=...)

    A role declared twice in one program (by two sets, or a set and an OrganizationRole)
    fails the preview naming both resources.
    """

    role_ids: pulumi.Output[dict[str, dict[str, str]]]
    """Karmo's role id of every role, ``{organization key: {slug: role_id}}``; registered
    as the set's output ``role_ids``."""
    roles: dict[str, dict[str, OrganizationRole]]
    """Every role resource, ``{organization key: {slug: OrganizationRole}}``. Roles of a
    listed id that is an Output are added when it resolves."""

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        organization_ids: OrganizationIds,
        catalog: Mapping[str, RoleSpec | Mapping[str, Any]] | Catalog,
    ) -> None:
        """Declare the catalog's roles in every organization.

        :param resource_name: The set's Pulumi name; it starts the name of every role.
        :param opts: Options for the set. Its roles inherit ``protect`` (Pulumi passes it
            to children); other options, such as ``retain_on_delete``, stay on the set.
        :param organization_ids: A list of organization ids (e.g. ``org_123``; an
            element may be an Output, whose roles are declared once it resolves), or
            ``{key: organization_id}`` with stable keys (letters, digits, ``.``, ``_``,
            ``-``): the keys name the roles, the ids may be Outputs. Changing an id under
            the same key replaces that organization's roles.
        :param catalog: ``{slug: {"name": ..., "permissions": [...]}}`` (or
            :class:`~pulumi_karmo_roles.catalog.RoleSpec` values, or a
            :class:`~pulumi_karmo_roles.catalog.Catalog`); omit ``permissions`` to leave a
            role's permissions unmanaged.
        :raises CatalogError: the catalog breaks a rule (each problem with its path),
            including the limits of the stack's access provider (``karmo:accessProvider``).
        :raises InputError: an organization id cannot name resources, or is given twice.
        :raises UsageError: ``organization_ids`` is not a list or a dict (also a
            ``TypeError``).
        """
        where = f"OrganizationRoleSet {resource_name!r}"
        organizations, later = _organizations(where, organization_ids)
        # A Catalog too is checked (again) for the stack's access provider.
        catalog = Catalog.from_mapping(
            catalog if isinstance(catalog, Catalog) else {"roles": catalog}, source=where
        )
        super().__init__("karmo:index:OrganizationRoleSet", resource_name, None, opts)
        self._name, self._catalog = resource_name, catalog

        # Sorted, so registration order (and logs) do not follow the caller's order either.
        self.roles = {}
        for key, organization_id in sorted(organizations.items()):
            self._declare(key, organization_id)
        role_ids: list[pulumi.Output[dict[str, dict[str, str]]]] = [
            pulumi.Output.from_input(self._role_ids(list(self.roles)))  # type: ignore[arg-type]
        ]
        for i, output in later:
            # The id names the roles, so they are declared when it resolves (the preview
            # shows them if it knows the id). A secret id would show in every role's name.
            secret: pulumi.Output[bool] = pulumi.Output.from_input(
                asyncio.ensure_future(output.is_secret())
            )
            declare = functools.partial(self._declare_resolved, where, i)
            role_ids.append(pulumi.Output.all(output, secret).apply(declare))
        self.role_ids = pulumi.Output.all(*role_ids).apply(_merged)
        self.register_outputs({"role_ids": self.role_ids})

    def _declare(self, key: str, organization_id: pulumi.Input[str]) -> None:
        self.roles[key] = {
            slug: OrganizationRole(
                f"{self._name}/{key}/{slug}",
                organization_id=organization_id,
                slug=slug,
                name=spec.name,
                permissions=spec.permissions,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for slug, spec in sorted(self._catalog.roles.items())
        }

    def _role_ids(self, keys: list[str]) -> dict[str, dict[str, pulumi.Output[str]]]:
        return {key: {slug: role.role_id for slug, role in self.roles[key].items()} for key in keys}

    def _declare_resolved(
        self, where: str, index: int, resolved: list[Any]
    ) -> pulumi.Output[dict[str, dict[str, str]]]:
        organization_id, secret = resolved
        if secret:
            raise InputError(
                f"{where}: organization_ids[{index}] is a secret, and each role's resource "
                "name holds its organization id: pass a dict {key: organization_id}, whose "
                "keys name the roles"
            )
        key = _listed_key(where, index, organization_id, taken=self.roles)
        self._declare(key, key)
        return pulumi.Output.from_input(self._role_ids([key]))  # type: ignore[arg-type]

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        organization_ids: OrganizationIds,
    ) -> OrganizationRoleSet:
        """Declare the roles of a catalog file (``.yaml``/``.yml`` with the ``yaml``
        extra, or ``.json``) in every organization. See
        :meth:`~pulumi_karmo_roles.catalog.Catalog.from_file` for the format.

        :param path: The catalog file; relative to the project directory under ``pulumi``.
        :raises CatalogError: the file cannot be read, or breaks a rule; the message
            names the file and the path of each problem, e.g.
            ``roles.org-admin.permissions[1]``.
        """
        return cls(
            resource_name,
            opts,
            organization_ids=organization_ids,
            catalog=Catalog.from_file(path),
        )


def _organizations(
    where: str, organization_ids: Any
) -> tuple[dict[str, pulumi.Input[str]], list[tuple[int, pulumi.Output[str]]]]:
    """``{key: organization_id}`` from either accepted form, keys checked, and the listed
    ids that are Outputs (with their index), to be keyed once they resolve."""
    if isinstance(organization_ids, Mapping):
        result: dict[str, pulumi.Input[str]] = {}
        for key, organization_id in organization_ids.items():
            if not (isinstance(key, str) and _KEY.fullmatch(key)):
                raise InputError(
                    f"{where}: organization key {key!r} must be 1 to 100 letters, digits, "
                    "'.', '_' or '-' (it is part of every role's resource name)"
                )
            result[key] = organization_id
        return result, []
    if isinstance(organization_ids, str | bytes | pulumi.Output | Awaitable) or not isinstance(
        organization_ids, Sequence
    ):
        raise UsageError(
            f"{where}: organization_ids must be a list of organization ids or a dict "
            f"{{key: organization_id}}, got {type(organization_ids).__name__}; the list "
            "itself must be known when the program runs, to name the roles"
        )
    result = {}
    later: list[tuple[int, pulumi.Output[str]]] = []
    for i, organization_id in enumerate(organization_ids):
        if isinstance(organization_id, pulumi.Output | Awaitable):
            later.append((i, pulumi.Output.from_input(organization_id)))
        else:
            key = _listed_key(where, i, organization_id, taken=result)
            result[key] = key
    return result, later


def _listed_key(where: str, index: int, organization_id: Any, *, taken: Mapping[str, Any]) -> str:
    """A listed organization id as the key that names its roles."""
    problem = organization_id_problem(organization_id)
    if problem is None and not _KEY.fullmatch(organization_id):
        problem = (
            f"organization_id {organization_id!r} cannot name resources (1 to 100 "
            "letters, digits, '.', '_' or '-'); pass a dict {key: organization_id}"
        )
    if problem:
        raise InputError(f"{where}: organization_ids[{index}]: {problem}")
    if organization_id in taken:
        raise InputError(
            f"{where}: organization_ids lists {organization_id!r} twice; each "
            "organization gets the catalog once"
        )
    return str(organization_id)


def _merged(parts: list[dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    merged = {key: by_slug for part in parts for key, by_slug in part.items()}
    return dict(sorted(merged.items()))
