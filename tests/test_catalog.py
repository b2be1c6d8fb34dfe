"""Role catalog files: what a good one declares, and how a bad one is reported (the file,
the path inside it, and the same rule ``check`` applies)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from readme import advised_install, install_targets

from pulumi_karmo_roles.catalog import Catalog, RoleSpec, load_catalog
from pulumi_karmo_roles.errors import CatalogError, InputError
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.validation import name_problem, permissions_problem, slug_problem

BAD_YAML = """\
roles:
  org-admin:
    name: Organization Admin
    permissions: ["members:*", "Reports:Export"]
  Admin:
    name: Admin
  org-viewer:
    name: yes
    permission: ["reports:read"]
  org-blank:
    name: "   "
"""

BAD_JSON = json.dumps(
    {
        "roles": {
            "org-admin": {
                "name": "Organization Admin",
                "permissions": ["members:*", "Reports:Export"],
            },
            "Admin": {"name": "Admin"},
            "org-viewer": {"name": True, "permission": ["reports:read"]},
            "org-blank": {"name": "   "},
        }
    }
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_catalog(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "roles.yml",
        "roles:\n  org-admin:\n    name: Admin\n    permissions: ['members:*', '*']\n"
        "  org-viewer:\n    name: Viewer\n",
    )
    assert load_catalog(path) == {
        "org-admin": RoleSpec(name="Admin", permissions=["members:*", "*"]),
        "org-viewer": RoleSpec(name="Viewer"),
    }
    assert load_catalog(path)["org-viewer"].permissions is None


@pytest.mark.parametrize(
    ("file_name", "text"), [("roles.yaml", BAD_YAML), ("roles.json", BAD_JSON)]
)
def test_every_problem_is_named_with_its_file_and_path(
    tmp_path: Path, file_name: str, text: str
) -> None:
    path = write(tmp_path, file_name, text)
    with pytest.raises(CatalogError) as caught:
        Catalog.from_file(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path} is not a valid role catalog (5 problems):"
    problems = sorted(line.strip() for line in lines[1:])
    # The rules' own sentences, from the functions check() applies.
    permission = permissions_problem(["members:*", "Reports:Export"])
    assert permission is not None
    assert problems == sorted(
        [
            "roles.org-admin.permissions[1]: " + permission.removeprefix("permissions[1] "),
            f"roles.Admin: {slug_problem('Admin')}",
            # YAML reads `yes` as a boolean.
            "roles.org-viewer.name: Input should be a valid string, got bool True",
            "roles.org-viewer.permission: unknown key (allowed here: 'name' and 'permissions')",
            f"roles.org-blank.name: {name_problem('   ')}",
        ]
    )
    # The entry's own index is in the path; the sentence starts with the value.
    assert any(p.startswith("roles.org-admin.permissions[1]: 'Reports:Export' ") for p in problems)
    assert isinstance(caught.value, InputError)


# Values on both sides of each rule. The catalog must refuse exactly what the provider's
# check refuses, because it applies the same functions.
NAMES = ["Admin", "", "   ", "x" * 255, "x" * 256, "Tab\there", "Ünïcode ok"]
SLUGS = ["org-admin", "org-a_b-1", "admin", "org-", "org-Admin", "org-a.b"]
PERMISSIONS: list[list[Any]] = [
    ["reports:read", "billing:*", "a.b_c-d"],
    ["Reports:read"],
    ["reports read"],
    [""],
    ["members:*", "members:*"],
]


def _check_refuses(slug: str, name: str, permissions: list[Any] | None) -> bool:
    inputs: dict[str, Any] = {"organization_id": "org_1", "slug": slug, "name": name}
    if permissions is not None:
        inputs["permissions"] = permissions
    return bool(OrganizationRoleProvider().check({}, inputs).failures)


def _catalog_refuses(slug: str, name: str, permissions: list[Any] | None) -> bool:
    role: dict[str, Any] = {"name": name}
    if permissions is not None:
        role["permissions"] = permissions
    try:
        Catalog.from_mapping({"roles": {slug: role}}, source="test")
    except CatalogError:
        return True
    return False


@pytest.mark.parametrize("name", NAMES)
def test_names_follow_the_check_rule(name: str) -> None:
    assert _catalog_refuses("org-a", name, None) == _check_refuses("org-a", name, None)


@pytest.mark.parametrize("slug", SLUGS)
def test_slugs_follow_the_check_rule(slug: str) -> None:
    assert _catalog_refuses(slug, "A", None) == _check_refuses(slug, "A", None)


@pytest.mark.parametrize("permissions", PERMISSIONS)
def test_permissions_follow_the_check_rule(permissions: list[Any]) -> None:
    assert _catalog_refuses("org-a", "A", permissions) == _check_refuses("org-a", "A", permissions)


def test_the_rules_are_exercised_both_ways() -> None:
    # The parametrized lists above hold values each rule accepts and refuses.
    outcomes = {_check_refuses(slug, "A", None) for slug in SLUGS}
    outcomes |= {_check_refuses("org-a", name, None) for name in NAMES}
    assert outcomes == {True, False}


@pytest.mark.parametrize(
    ("file_name", "text", "message"),
    [
        (
            "roles.yaml",
            "roles:\n  org-a:\n    name: A\n  org-a:\n    name: B\n",
            "roles.yaml, line 4: key 'org-a' appears twice in one mapping",
        ),
        (
            "roles.json",
            '{"roles": {"org-a": {"name": "A"}, "org-a": {"name": "B"}}}',
            "roles.json: key 'org-a' appears twice in one object",
        ),
    ],
)
def test_a_slug_given_twice_is_refused(
    tmp_path: Path, file_name: str, text: str, message: str
) -> None:
    # Both parsers would otherwise keep the last entry and silently drop a role.
    path = write(tmp_path, file_name, text)
    with pytest.raises(CatalogError) as caught:
        Catalog.from_file(path)
    assert str(caught.value) == f"{tmp_path}/{message}"


@pytest.mark.parametrize(
    ("file_name", "text", "message"),
    [
        # Our own words only: what follows them is the json module's, which changes
        # between Python versions (3.13 words a trailing comma differently).
        ("roles.json", '{"roles": {"org-a": {"name": "A",}}}', "roles.json: not valid JSON: "),
        ("roles.yaml", "roles:\n  org-a: [\n", "not valid YAML: "),
        ("roles.json", "[]", "(top level): Input should be a valid dictionary"),
        ("roles.json", '{"roles": {}}', "roles: Dictionary should have at least 1 item"),
        ("roles.json", '{"role": {}}', "role: unknown key (allowed here: 'roles')"),
        ("roles.toml", "", "a role catalog must be a .json, .yaml or .yml file, got '.toml'"),
    ],
)
def test_unusable_files_name_the_file(
    tmp_path: Path, file_name: str, text: str, message: str
) -> None:
    path = write(tmp_path, file_name, text)
    with pytest.raises(CatalogError, match=r"^" + str(path).replace(".", r"\.")) as caught:
        Catalog.from_file(path)
    assert message in str(caught.value)


def test_yaml_syntax_errors_point_into_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "roles.yaml", "roles:\n  org-a:\n    name: [unclosed\n")
    with pytest.raises(CatalogError) as caught:
        Catalog.from_file(path)
    assert f'in "{path}", line 4' in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(CatalogError, match=r"nowhere\.json: cannot read the role catalog"):
        Catalog.from_file(path)


def test_yaml_without_pyyaml_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "roles.yaml", "roles:\n  org-a:\n    name: A\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    with pytest.raises(ImportError, match=r"needs PyYAML: install the yaml extra") as caught:
        Catalog.from_file(path)
    # Advice that works today (the package is not on PyPI): the README's command.
    advice = advised_install(str(caught.value))
    assert advice.endswith("[yaml]")
    assert advice in install_targets()
    # JSON needs nothing extra.
    json_path = write(tmp_path, "roles.json", '{"roles": {"org-a": {"name": "A"}}}')
    assert set(load_catalog(json_path)) == {"org-a"}


def test_long_lists_of_problems_are_bounded(tmp_path: Path) -> None:
    roles = {f"bad-{i}": {"name": "A"} for i in range(25)}
    path = write(tmp_path, "roles.json", json.dumps({"roles": roles}))
    with pytest.raises(CatalogError) as caught:
        Catalog.from_file(path)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("(25 problems):")
    assert len(lines) == 12
    assert lines[-1] == "  ... and 15 more"
