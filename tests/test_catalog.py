"""Role catalog files: what a good one declares, and how a bad one is reported (the file,
the path inside it, and the same rule ``check`` applies)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from pulumi_karmo_roles._rules import name_problem, permissions_problem, slug_problem
from pulumi_karmo_roles.catalog import Catalog, RoleSpec, load_catalog
from pulumi_karmo_roles.errors import CatalogError, ConfigurationError, InputError
from tests.support.providers import configured_provider
from tests.support.readme import advised_install, install_targets

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


# Values on both sides of each rule, under each access provider. The catalog must refuse
# exactly what the provider's check refuses, because it applies the same functions.
NAMES = ["Admin", "", "   ", "x" * 48, "x" * 49, "x" * 255, "x" * 256, "Tab\there", "Ünïcode ok"]
SLUGS = [
    "org-admin",
    "org-a_b-1",
    "admin",
    "org-",
    "org-Admin",
    "org-a.b",
    "org-admin-",
    "org-_a",
    "org-a__b",
    "org-" + "a" * 44,
    "org-" + "a" * 45,
]
ACCESS_PROVIDERS = ["workos", "generic"]
PERMISSIONS: list[list[Any]] = [
    ["reports:read", "billing:*", "a.b_c-d"],
    ["Reports:read"],
    ["reports read"],
    [""],
    ["members:*", "members:*"],
]


def _check_refuses(
    slug: str, name: str, permissions: list[Any] | None, access_provider: str = "workos"
) -> bool:
    inputs: dict[str, Any] = {"organization_id": "org_1", "slug": slug, "name": name}
    if permissions is not None:
        inputs["permissions"] = permissions
    provider = configured_provider(None, {"karmo:accessProvider": access_provider})
    return bool(provider.check({}, inputs).failures)


def _catalog_refuses(
    slug: str, name: str, permissions: list[Any] | None, access_provider: str = "workos"
) -> bool:
    role: dict[str, Any] = {"name": name}
    if permissions is not None:
        role["permissions"] = permissions
    try:
        Catalog.from_mapping(
            {"roles": {slug: role}}, source="test", access_provider=access_provider
        )
    except CatalogError:
        return True
    return False


@pytest.mark.parametrize("access_provider", ACCESS_PROVIDERS)
@pytest.mark.parametrize("name", NAMES)
def test_names_follow_the_check_rule(name: str, access_provider: str) -> None:
    assert _catalog_refuses("org-a", name, None, access_provider) == _check_refuses(
        "org-a", name, None, access_provider
    )


@pytest.mark.parametrize("access_provider", ACCESS_PROVIDERS)
@pytest.mark.parametrize("slug", SLUGS)
def test_slugs_follow_the_check_rule(slug: str, access_provider: str) -> None:
    assert _catalog_refuses(slug, "A", None, access_provider) == _check_refuses(
        slug, "A", None, access_provider
    )


@pytest.mark.parametrize("permissions", PERMISSIONS)
def test_permissions_follow_the_check_rule(permissions: list[Any]) -> None:
    assert _catalog_refuses("org-a", "A", permissions) == _check_refuses("org-a", "A", permissions)


@pytest.mark.parametrize("access_provider", ACCESS_PROVIDERS)
def test_the_rules_are_exercised_both_ways(access_provider: str) -> None:
    # The parametrized lists above hold values each rule accepts and refuses, and values
    # only one access provider refuses.
    outcomes = {_check_refuses(slug, "A", None, access_provider) for slug in SLUGS}
    outcomes |= {_check_refuses("org-a", name, None, access_provider) for name in NAMES}
    assert outcomes == {True, False}
    differ = [
        (slug, name)
        for slug, name in [(s, "A") for s in SLUGS] + [("org-a", n) for n in NAMES]
        if _check_refuses(slug, name, None, "workos") != _check_refuses(slug, name, None, "generic")
    ]
    assert len(differ) == 6


# The access provider's limits (karmo:accessProvider) ------------------------------------

WORKOS_ONLY = """\
roles:
  org-admin-:
    name: Organization Admin
  org-viewer:
    name: Viewer of everything in every organization, always
"""


def test_workos_limits_apply_by_default_with_path_and_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "roles.yaml", WORKOS_ONLY)
    with pytest.raises(CatalogError) as caught:
        Catalog.from_file(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path} is not a valid role catalog (2 problems):"
    long_name = "Viewer of everything in every organization, always"
    assert sorted(line.strip() for line in lines[1:]) == sorted(
        [
            f"roles.org-admin-: {slug_problem('org-admin-', 'workos')}",
            f"roles.org-viewer.name: {name_problem(long_name, 'workos')}",
        ]
    )
    text = str(caught.value)
    assert "after 'org-' (WorkOS's rule; for another access provider, set" in text
    assert "at most 48 characters (WorkOS's limit; for another access provider, set" in text
    assert "`karmo:accessProvider generic`" in text


def test_generic_accepts_what_only_workos_refuses(tmp_path: Path) -> None:
    path = write(tmp_path, "roles.yaml", WORKOS_ONLY)
    assert set(load_catalog(path, access_provider="generic")) == {"org-admin-", "org-viewer"}


def test_the_access_provider_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "roles.yaml", WORKOS_ONLY)
    monkeypatch.setenv("KARMO_ACCESS_PROVIDER", "generic")
    assert set(load_catalog(path)) == {"org-admin-", "org-viewer"}
    # An explicit one wins.
    with pytest.raises(CatalogError, match="2 problems"):
        load_catalog(path, access_provider="workos")


def test_the_access_provider_comes_from_the_programs_stack_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "roles.yaml", WORKOS_ONLY)
    monkeypatch.setenv("KARMO_ACCESS_PROVIDER", "workos")  # the stack's value wins
    pulumi.runtime.set_all_config({"karmo:accessProvider": "generic"})
    try:
        assert set(load_catalog(path)) == {"org-admin-", "org-viewer"}
    finally:
        pulumi.runtime.set_all_config({})
    with pytest.raises(CatalogError):
        load_catalog(path)


def test_a_malformed_access_provider_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "roles.json", '{"roles": {"org-a": {"name": "A"}}}')
    with pytest.raises(ConfigurationError, match="access_provider must be one of workos, generic"):
        load_catalog(path, access_provider="okta")
    monkeypatch.setenv("KARMO_ACCESS_PROVIDER", "okta")
    with pytest.raises(ConfigurationError, match="KARMO_ACCESS_PROVIDER must be one of"):
        load_catalog(path)


def test_a_catalog_is_checked_again_for_another_access_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generic = Catalog.from_mapping(
        {"roles": {"org-a": {"name": "N" * 49}}}, source="a", access_provider="generic"
    )
    refused = r"^again .*\n  roles\.org-a\.name: name must be at most 48 characters"
    with pytest.raises(CatalogError, match=refused):
        Catalog.from_mapping(generic, source="again", access_provider="workos")
    assert Catalog.from_mapping(generic, source="again", access_provider="generic") == generic
    # A RoleSpec built alone follows the program's access provider, and is checked again
    # in a catalog.
    monkeypatch.setenv("KARMO_ACCESS_PROVIDER", "generic")
    spec = RoleSpec(name="N" * 49)
    with pytest.raises(CatalogError, match=refused):
        Catalog.from_mapping({"roles": {"org-a": spec}}, source="again", access_provider="workos")


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
    with pytest.raises(CatalogError, match=r"needs PyYAML, which is not installed") as caught:
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


# Hostile files: every one is a CatalogError, in bounded time and memory --------------------

ALIAS_BOMB = """
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
roles:
  org-a:
    name: *g
"""


@pytest.mark.parametrize(
    ("file_name", "text", "message"),
    [
        ("roles.yaml", ALIAS_BOMB, "line 2: YAML anchors and aliases are not allowed"),
        (
            "roles.yaml",
            "roles:\n  org-a: &admin {name: A}\n  org-b: *admin\n",
            "line 2: YAML anchors and aliases are not allowed",
        ),
        ("roles.yaml", "roles:\n  ? [a, b]\n  : {name: x}\n", "line 2: a key must be text"),
        ("roles.yaml", "roles:\n  ? {a: 1}\n  : {name: x}\n", "line 2: a key must be text"),
        ("roles.yaml", "[" * 100_000, "nests lists and mappings more than 16 deep"),
        ("roles.json", "[" * 100_000 + "]" * 100_000, "nests lists and mappings more than 16"),
        ("roles.json", '{"roles": ' + "[" * 40 + "]" * 40 + "}", "more than 16 deep"),
        ("roles.json", " " * (1 << 20) + "{}", "a role catalog may be at most 1048576 bytes"),
    ],
)
def test_hostile_catalog_files_are_catalog_errors(
    tmp_path: Path, file_name: str, text: str, message: str
) -> None:
    path = write(tmp_path, file_name, text)
    with pytest.raises(CatalogError) as caught:
        Catalog.from_file(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert len(str(caught.value)) < 2000
