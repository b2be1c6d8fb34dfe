"""Every customer organization's roles, split across stacks: this stack manages one shard.

All stacks share the files here: customers.json ({key: WorkOS organization id}, every
customer), roles.yaml (the catalog each one gets) and shards.yaml (organizations pinned to
a shard). Each stack's config names its shard (see Pulumi.shard-3.yaml.example):
    shard          this stack's shard, 0 to shards - 1
    shards         how many shards (stacks) there are
    karmo:apiUrl   Karmo's API base URL
    karmo:token    Karmo's API token (pulumi config set --secret karmo:token ...)

Run every shard at once with fanout.py (removals first, so an organization that moves
between shards keeps its permissions), or one shard per CI job: docs/scale.md.
"""

import json
from pathlib import Path

import pulumi

from pulumi_karmo_roles import OrganizationRoleSet, Sharding

HERE = Path(__file__).parent
config = pulumi.Config()
shard = config.require_int("shard")
sharding = Sharding.from_file(HERE / "shards.yaml", shards=config.require_int("shards"))
customers: dict[str, str] = json.loads((HERE / "customers.json").read_text())

customer_roles = OrganizationRoleSet.from_file(
    HERE / "roles.yaml", "customer-roles", organization_ids=sharding.select(customers, shard)
)

pulumi.export("shard", shard)
pulumi.export("roleIds", customer_roles.role_ids)
