"""``OrganizationRole``: a Karmo organization role as a Pulumi resource."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi.dynamic

from ._claims import claim_role
from ._pickle_chain import unchained
from ._stack import require_secret_credentials
from .errors import UsageError
from .provider import OrganizationRoleProvider

__all__ = ["OrganizationRole", "OrganizationRoleArgs"]


@pulumi.input_type
class OrganizationRoleArgs:
    """The arguments of an :class:`OrganizationRole`."""

    def __init__(
        __self__,
        *,
        organization_id: pulumi.Input[str],
        slug: pulumi.Input[str],
        name: pulumi.Input[str],
        permissions: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        clear_permissions_on_delete: pulumi.Input[bool] | None = None,
    ) -> None:
        """
        :param organization_id: The organization (tenant) the role belongs to; in WorkOS
            mode the WorkOS organization id, e.g. ``org_123``. Changing it replaces the role.
        :param slug: The role's key in the organization: ``org-`` followed by lowercase
            letters, numbers, hyphens or underscores, e.g. ``org-admin``; under
            ``karmo:accessProvider workos`` (the default) at most 48 characters, with no
            leading, trailing or consecutive separator after ``org-``. Changing it
            replaces the role.
        :param name: The human-readable name shown in the access provider, at most 48
            characters under ``karmo:accessProvider workos`` (the default), 255 under
            ``generic``. Changing it updates the role in place.
        :param permissions: The role's complete permission set (slugs matching
            ``^[a-z0-9:._*-]+$``, e.g. ``reports:export``). When given, Pulumi owns it: it
            replaces whatever the role had. When omitted, Pulumi never touches the role's
            permissions. A set: order and repeated entries do not matter.
        :param clear_permissions_on_delete: Whether deleting the resource clears the
            permissions Pulumi manages (default false: delete sends nothing, and the role
            keeps its permissions in Karmo). Changing it alone sends nothing. Before
            setting it, read its rename hazard: docs/lifecycle.md#clear_permissions_on_delete.
        """
        pulumi.set(__self__, "organization_id", organization_id)
        pulumi.set(__self__, "slug", slug)
        pulumi.set(__self__, "name", name)
        if permissions is not None:
            pulumi.set(__self__, "permissions", permissions)
        if clear_permissions_on_delete is not None:
            pulumi.set(__self__, "clear_permissions_on_delete", clear_permissions_on_delete)

    @property
    @pulumi.getter(name="organization_id")
    def organization_id(self) -> pulumi.Input[str]:
        """The organization (tenant) id, e.g. ``org_123``. Changing it replaces the role."""
        return pulumi.get(self, "organization_id")  # type: ignore[no-any-return]

    @organization_id.setter
    def organization_id(self, value: pulumi.Input[str]) -> None:
        pulumi.set(self, "organization_id", value)

    @property
    @pulumi.getter(name="slug")
    def slug(self) -> pulumi.Input[str]:
        """The role slug, ``^org-[a-z0-9_-]+$`` (WorkOS's limits too under
        ``karmo:accessProvider workos``). Changing it replaces the role."""
        return pulumi.get(self, "slug")  # type: ignore[no-any-return]

    @slug.setter
    def slug(self, value: pulumi.Input[str]) -> None:
        pulumi.set(self, "slug", value)

    @property
    @pulumi.getter(name="name")
    def name(self) -> pulumi.Input[str]:
        """The display name, non-blank, at most 48 characters under
        ``karmo:accessProvider workos`` (255 under ``generic``). Updated in place."""
        return pulumi.get(self, "name")  # type: ignore[no-any-return]

    @name.setter
    def name(self, value: pulumi.Input[str]) -> None:
        pulumi.set(self, "name", value)

    @property
    @pulumi.getter(name="permissions")
    def permissions(self) -> pulumi.Input[Sequence[pulumi.Input[str]]] | None:
        """The complete permission set Pulumi owns, or ``None`` to leave it unmanaged.
        Compared as a set; a change updates in place."""
        return pulumi.get(self, "permissions")  # type: ignore[no-any-return]

    @permissions.setter
    def permissions(self, value: pulumi.Input[Sequence[pulumi.Input[str]]] | None) -> None:
        pulumi.set(self, "permissions", value)

    @property
    @pulumi.getter(name="clear_permissions_on_delete")
    def clear_permissions_on_delete(self) -> pulumi.Input[bool] | None:
        """Whether deleting the resource clears the permissions Pulumi manages (default
        false); mind its rename hazard: docs/lifecycle.md#clear_permissions_on_delete."""
        return pulumi.get(self, "clear_permissions_on_delete")  # type: ignore[no-any-return]

    @clear_permissions_on_delete.setter
    def clear_permissions_on_delete(self, value: pulumi.Input[bool] | None) -> None:
        pulumi.set(self, "clear_permissions_on_delete", value)


class OrganizationRole(pulumi.dynamic.Resource, module="karmo", name="OrganizationRole"):
    """A role in a Karmo organization, created or updated through Karmo's upsert.

    Its type is ``pulumi-python:dynamic/karmo:OrganizationRole`` and its id
    ``"{organization_id}/{slug}"``. Declaring a role that already exists in Karmo adopts
    it on ``pulumi up`` (there is no ``pulumi import`` for dynamic providers). Karmo has
    no delete: removing the resource leaves the role, and its permissions, in Karmo, with
    a warning (``clear_permissions_on_delete`` opts in to clearing the permissions).
    Rename a resource with ``aliases``, so Pulumi moves it rather than creating a new one
    and deleting the old.
    A program may declare each role (organization id and slug) once: a second declaration
    fails the preview, naming both resources; :meth:`get` lookups do not count.

    ::

        OrganizationRole("admin", organization_id="org_123", slug="org-admin",
                         name="Organization Admin")
    """

    organization_id: pulumi.Output[str]
    """The organization (tenant) the role belongs to, e.g. ``org_123``."""
    slug: pulumi.Output[str]
    """The role slug, e.g. ``org-admin``."""
    name: pulumi.Output[str]
    """The role's display name."""
    permissions: pulumi.Output[Sequence[str] | None]
    """The permission set Karmo was given, sorted and de-duplicated; ``None`` when the
    role's permissions are not managed by Pulumi."""
    clear_permissions_on_delete: pulumi.Output[bool]
    """Whether deleting the resource clears the permissions Pulumi manages; false unless
    set."""
    role_id: pulumi.Output[str]
    """The access provider's identifier for the role, as Karmo returned it (e.g.
    ``role_01HXYZ``). Unknown until the role is created; for a role looked up with
    :meth:`get`, known only with ``karmo:workosApiKey`` (read from WorkOS)."""

    def __init__(
        self,
        resource_name: str,
        args: OrganizationRoleArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        organization_id: pulumi.Input[str] | None = None,
        slug: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
        permissions: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        clear_permissions_on_delete: pulumi.Input[bool] | None = None,
    ) -> None:
        """Declare a Karmo organization role.

        Pass either an :class:`OrganizationRoleArgs` or the keyword arguments.

        :param resource_name: The Pulumi name of the resource (unique in the stack).
        :param args: The role's arguments.
        :param opts: Options for the resource (``protect``, ``retain_on_delete``, ...).
        :param organization_id: The organization id, e.g. ``org_123`` (replaces on change).
        :param slug: The role slug, e.g. ``org-admin`` (replaces on change).
        :param name: The display name (updated in place).
        :param permissions: The complete permission set, owned by Pulumi when given
            (updated in place); omit it to leave the role's permissions alone. Order and
            repeated entries do not matter.
        :param clear_permissions_on_delete: Clear the managed permissions when the
            resource is deleted (default false: delete sends nothing and the permissions
            stay); mind its rename hazard: docs/lifecycle.md#clear_permissions_on_delete.
        """
        if isinstance(args, pulumi.ResourceOptions) and opts is None:
            args, opts = None, args
        keywords = {
            "organization_id": organization_id,
            "slug": slug,
            "name": name,
            "permissions": permissions,
            "clear_permissions_on_delete": clear_permissions_on_delete,
        }
        if args is not None:
            if any(v is not None for v in keywords.values()):
                raise UsageError(
                    "OrganizationRole takes either `args` or keyword arguments, not both"
                )
            keywords = {key: getattr(args, key) for key in keywords}
        opts = opts or pulumi.ResourceOptions()
        require_secret_credentials()
        if opts.id is None and opts.urn is None:
            for key in ("organization_id", "slug", "name"):
                if keywords[key] is None:
                    raise UsageError(f"Missing required property '{key}'")
            # A second declaration of the same (organization, slug) fails the preview.
            keywords["organization_id"] = claim_role(
                resource_name, opts.parent, keywords["organization_id"], keywords["slug"]
            )
        props: dict[str, Any] = {**keywords, "role_id": None}
        # The SDK's serializer grows a chain of wrappers per dynamic resource and dies
        # near the 980th (pulumi/pulumi#17803); ours register without lengthening it.
        with unchained():
            super().__init__(OrganizationRoleProvider(), resource_name, props, opts)

    @staticmethod
    def get(
        resource_name: str,
        id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        *,
        organization_id: pulumi.Input[str] | None = None,
        slug: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
    ) -> OrganizationRole:
        """Look up an existing role by its id, ``"{organization_id}/{slug}"``, without
        managing it. With ``karmo:workosApiKey`` the result is the role WorkOS holds (name,
        ``role_id``, permissions); without it, Karmo has no read endpoint, so it carries the
        id's organization and slug, the ``name`` you pass, and no ``role_id``.

        :param resource_name: The Pulumi name of the looked-up resource.
        :param id: The role's id, e.g. ``org_123/org-admin``.
        :param opts: Options for the resource.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return OrganizationRole(
            resource_name, None, merged, organization_id=organization_id, slug=slug, name=name
        )
