"""The same catalog of roles in every customer organization (roles.yaml), plus a role
of one customer's own.

Stack config (see Pulumi.dev.yaml.example):
    karmo:apiUrl   Karmo's API base URL
    karmo:token    Karmo's API token (pulumi config set --secret karmo:token ...)
    customers      {key: WorkOS organization id}, one entry per customer, e.g.
                   pulumi config set --path 'customers.acme' org_01HACME...

Each role is named "customer-roles/<customer key>/<slug>", so adding a customer or a role
previews as creates of exactly those roles, and reordering either list changes nothing.
"""

from pathlib import Path

import pulumi

from pulumi_karmo_roles import OrganizationRole, OrganizationRoleSet

config = pulumi.Config()
customers: dict[str, str] = config.require_object("customers")

customer_roles = OrganizationRoleSet.from_file(
    Path(__file__).with_name("roles.yaml"), "customer-roles", organization_ids=customers
)

# A role only one customer has. Declaring a role the set already declares (say
# "org-admin" here) would fail the preview, naming both resources.
if "acme" in customers:
    OrganizationRole(
        "acme-auditor",
        organization_id=customers["acme"],
        slug="org-auditor",
        name="Auditor",
        permissions=["reports:read", "audit:read"],
    )

pulumi.export("roleIds", customer_roles.role_ids)
