"""Production roles: each role owns its complete permission set, and the provider
authenticates with short-lived service tokens minted through AWS SigV4.

Stack config (see Pulumi.prod.yaml.example):
    karmo:apiUrl      Karmo's API base URL
    karmo:auth        aws-sigv4
    karmo:awsRegion   the region of Karmo's API
    organizationId    the WorkOS organization
AWS credentials come from the standard chain: in CI, an IAM role assumed through OIDC.
"""

import pulumi

from pulumi_karmo_roles import OrganizationRole

config = pulumi.Config()
org = config.require("organizationId")

# Each list is the role's complete permission set: Pulumi replaces whatever Karmo has.
ROLES = {
    "org-admin": ("Organization Admin", ["billing:*", "members:*", "reports:*", "roles:*"]),
    "org-billing": ("Billing Manager", ["billing:read", "billing:write", "reports:export"]),
    "org-member": ("Member", ["reports:read"]),
}

roles = {
    slug: OrganizationRole(
        slug,
        organization_id=org,
        slug=slug,
        name=name,
        permissions=permissions,
        # Roles people depend on: refuse to delete or replace them by accident.
        opts=pulumi.ResourceOptions(protect=True),
    )
    for slug, (name, permissions) in ROLES.items()
}

# A role whose permissions are managed elsewhere (e.g. by hand in WorkOS): omit
# `permissions` and Pulumi never touches them.
auditor = OrganizationRole("org-auditor", organization_id=org, slug="org-auditor", name="Auditor")

pulumi.export("roleIds", {slug: role.role_id for slug, role in roles.items()})
pulumi.export("auditorRoleId", auditor.role_id)
