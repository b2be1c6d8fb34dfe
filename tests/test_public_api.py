"""The public names other code depends on."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pulumi_karmo_roles
from pulumi_karmo_roles import errors


def test_top_level_exports() -> None:
    assert sorted(pulumi_karmo_roles.__all__) == [
        "KarmoError",
        "OrganizationRole",
        "OrganizationRoleArgs",
        "OrganizationRoleSet",
        "__version__",
    ]


def test_provider_import_path_is_stable() -> None:
    # State stores this path in every resource's pickled provider: it must never move.
    from pulumi_karmo_roles.provider import OrganizationRoleProvider

    assert OrganizationRoleProvider.__module__ == "pulumi_karmo_roles.provider"
    OrganizationRoleProvider()  # constructible with no arguments


def test_distribution_metadata() -> None:
    assert importlib.metadata.version("pulumi-karmo-roles") == pulumi_karmo_roles.__version__
    assert (Path(pulumi_karmo_roles.__file__).parent / "py.typed").exists()


def test_every_error_derives_from_karmo_error() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, errors.KarmoError), name


def test_client_and_sandbox_do_not_load_pulumi() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pulumi_karmo_roles.client, pulumi_karmo_roles.sandbox; "
        "print('pulumi' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
