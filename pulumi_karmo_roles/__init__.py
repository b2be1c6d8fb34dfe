"""Karmo organization roles as Pulumi resources.

::

    from pulumi_karmo_roles import OrganizationRole

    OrganizationRole("admin", organization_id="org_123", slug="org-admin",
                     name="Organization Admin")

Settings come from the stack config (``karmo:apiUrl``, ``karmo:token``,
``karmo:timeout``, ``karmo:maxRetries``) or ``KARMO_*`` environment variables.
"""

from ._version import __version__
from .errors import KarmoError
from .resource import OrganizationRole, OrganizationRoleArgs

__all__ = ["KarmoError", "OrganizationRole", "OrganizationRoleArgs", "__version__"]
