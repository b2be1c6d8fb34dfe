"""Karmo organization roles for a platform organization and one customer organization.

Stack config:
    karmo:apiUrl             Karmo's API base URL
    karmo:token              the API token (set it with --secret)
    customerOrganizationId   the customer organization, e.g. org_customer_42
    platformOrganizationId   optional; defaults to org_platform
    supportRoleName          optional; defaults to "Customer Support"
"""

import pulumi

from pulumi_karmo_roles import OrganizationRole, OrganizationRoleArgs

config = pulumi.Config()
platform_org = config.get("platformOrganizationId") or "org_platform"
customer_org = config.require("customerOrganizationId")

admin = OrganizationRole(
    "platform-admin",
    organization_id=platform_org,
    slug="org-admin",
    name="Organization Admin",
)

viewer = OrganizationRole(
    "platform-viewer",
    OrganizationRoleArgs(
        organization_id=platform_org,
        slug="org-viewer",
        name="Read-only Viewer",
    ),
)

# The organization id flows from stack config into the role (and into its id).
support = OrganizationRole(
    "customer-support",
    organization_id=customer_org,
    slug="org-support",
    name=config.get("supportRoleName") or "Customer Support",
)

pulumi.export(
    "roleIds",
    {
        "platform-admin": admin.role_id,
        "platform-viewer": viewer.role_id,
        "customer-support": support.role_id,
    },
)
pulumi.export("supportRoleResourceId", support.id)
