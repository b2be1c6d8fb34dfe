"""Karmo organization roles as Pulumi resources.

::

    from pulumi_karmo_roles import OrganizationRole, OrganizationRoleSet

    OrganizationRole("admin", organization_id="org_123", slug="org-admin",
                     name="Organization Admin")

    # The same catalog of roles in every customer organization:
    OrganizationRoleSet.from_file("roles.yaml", "customer-roles",
                                  organization_ids=["org_acme", "org_globex"])

Settings come from the stack config (``karmo:apiUrl``, ``karmo:token``,
``karmo:timeout``, ``karmo:maxRetries``, ...) or ``KARMO_*`` environment variables.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import KarmoError
from .sharding import Sharding, shard_of

if TYPE_CHECKING:
    from .resource import OrganizationRole, OrganizationRoleArgs
    from .role_set import OrganizationRoleSet

__all__ = [
    "KarmoError",
    "OrganizationRole",
    "OrganizationRoleArgs",
    "OrganizationRoleSet",
    "Sharding",
    "__version__",
    "shard_of",
]


def __getattr__(name: str) -> Any:
    # The resource classes import the Pulumi SDK; loading them on first use keeps
    # the HTTP side and the sandbox free of it (the sandbox starts faster).
    if name in ("OrganizationRole", "OrganizationRoleArgs"):
        from . import resource

        return getattr(resource, name)
    if name == "OrganizationRoleSet":
        from . import role_set

        return role_set.OrganizationRoleSet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
