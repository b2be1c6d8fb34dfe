"""Karmo organization roles as Pulumi resources.

::

    from pulumi_karmo_roles import OrganizationRole

    OrganizationRole("admin", organization_id="org_123", slug="org-admin",
                     name="Organization Admin")

Settings come from the stack config (``karmo:apiUrl``, ``karmo:token``,
``karmo:timeout``, ``karmo:maxRetries``, ...) or ``KARMO_*`` environment variables.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import KarmoError

if TYPE_CHECKING:
    from .resource import OrganizationRole, OrganizationRoleArgs

__all__ = ["KarmoError", "OrganizationRole", "OrganizationRoleArgs", "__version__"]


def __getattr__(name: str) -> Any:
    # The resource classes import the Pulumi SDK; loading them on first use keeps
    # `pulumi_karmo_roles.client` and the sandbox free of it (the sandbox starts faster).
    if name in ("OrganizationRole", "OrganizationRoleArgs"):
        from . import resource

        return getattr(resource, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
