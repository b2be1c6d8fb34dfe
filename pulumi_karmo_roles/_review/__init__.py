"""The review of a preview's role changes: the internals of
:mod:`pulumi_karmo_roles.review` and of ``karmo-roles review``."""
