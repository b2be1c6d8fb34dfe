"""The public surface other code depends on, pinned: which modules are public, what
each exports, and the module paths that stacks' state refers to."""

from __future__ import annotations

import base64
import importlib
import importlib.metadata
import pkgutil
import subprocess
import sys
from pathlib import Path

import dill

import pulumi_karmo_roles
from pulumi_karmo_roles import errors

PUBLIC = {
    "pulumi_karmo_roles": [
        "KarmoError",
        "OrganizationRole",
        "OrganizationRoleArgs",
        "OrganizationRoleSet",
        "Sharding",
        "__version__",
        "shard_of",
    ],
    "pulumi_karmo_roles.resource": ["OrganizationRole", "OrganizationRoleArgs"],
    "pulumi_karmo_roles.role_set": ["OrganizationRoleSet"],
    "pulumi_karmo_roles.catalog": ["Catalog", "RoleSpec", "load_catalog"],
    "pulumi_karmo_roles.sandbox": ["Faults", "SandboxServer"],
    "pulumi_karmo_roles.sharding": ["Sharding", "shard_of"],
    "pulumi_karmo_roles.provider": ["OrganizationRoleProvider"],
    "pulumi_karmo_roles.review": [
        "DEFAULT_MAX_CHARS",
        "RULES",
        "Finding",
        "Review",
        "ReviewInputError",
        "RoleChange",
        "StackReview",
        "load_event_log",
        "load_preview",
        "review",
    ],
    "pulumi_karmo_roles.errors": [
        "APIConnectionError",
        "APIError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "CatalogError",
        "ConfigurationError",
        "ConflictError",
        "DuplicateRoleError",
        "FieldError",
        "InputError",
        "InternalServerError",
        "InvalidResponseError",
        "KarmoError",
        "NotFoundError",
        "PermissionDeniedError",
        "PermissionsNotAppliedError",
        "ProviderNotConfiguredError",
        "RateLimitError",
        "RedirectError",
        "RequestNotSentError",
        "ReviewInputError",
        "ServiceTokenError",
        "UnprocessableEntityError",
        "UsageError",
    ],
}

# The serialized provider a stack's state holds for every role (`__provider`), as
# `pulumi up` wrote it: a pickle of the class by reference, with its state. A module that
# moved or a class that was renamed would make every existing stack fail to load it.
STATE_PICKLE = (
    "gASVTgAAAAAAAACMG3B1bHVtaV9rYXJtb19yb2xlcy5wcm92aWRlcpSMGE9yZ2FuaXphdGlvblJvbGVQcm92aWRlcpSTlC"
    "mBlH2UjAZmb3JtYXSUSwFzYi4="
)


def test_each_public_module_exports_exactly_what_users_need() -> None:
    for module, names in PUBLIC.items():
        assert sorted(importlib.import_module(module).__all__) == sorted(names), module


def test_every_other_module_is_private() -> None:
    public = {name.rsplit(".", 1)[-1] for name in PUBLIC if name != "pulumi_karmo_roles"}
    found = {m.name for m in pkgutil.iter_modules(pulumi_karmo_roles.__path__)}
    assert {name for name in found if not name.startswith("_")} == public


def test_the_provider_pickled_in_existing_stacks_still_loads() -> None:
    provider = dill.loads(base64.b64decode(STATE_PICKLE))
    from pulumi_karmo_roles.provider import OrganizationRoleProvider

    assert type(provider) is OrganizationRoleProvider
    assert OrganizationRoleProvider.__module__ == "pulumi_karmo_roles.provider"


def test_distribution_metadata() -> None:
    assert importlib.metadata.version("pulumi-karmo-roles") == pulumi_karmo_roles.__version__
    assert (Path(pulumi_karmo_roles.__file__).parent / "py.typed").exists()


def test_every_error_derives_from_karmo_error() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, errors.KarmoError), name


def test_the_http_side_and_the_sandbox_do_not_load_pulumi() -> None:
    code = (
        "import sys, pulumi_karmo_roles._http.karmo, pulumi_karmo_roles._http.workos, "
        "pulumi_karmo_roles.sandbox; print('pulumi' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
