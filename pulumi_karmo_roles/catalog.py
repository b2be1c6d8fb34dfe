"""Role catalogs: the roles an :class:`~pulumi_karmo_roles.OrganizationRoleSet` declares
in every organization, from code or from a YAML or JSON file.

A catalog file has one key, ``roles``, mapping each role slug to its name and, when
Pulumi should own them, its permissions::

    roles:
      org-admin:
        name: Organization Admin
        permissions: ["billing:*", "members:*"]
      org-viewer:
        name: Viewer            # no permissions: Pulumi never touches them

Every entry is checked with the same rules as ``pulumi preview`` (the
:mod:`~pulumi_karmo_roles.validation` functions), plus what a file can get wrong: unknown
keys, a value of the wrong type, a slug given twice. A bad catalog raises a
:class:`~pulumi_karmo_roles.errors.CatalogError` that names the file and, for each
problem, the path inside it, e.g. ``roles.org-admin.permissions[1]``.

JSON needs nothing extra; YAML needs PyYAML, the ``yaml`` extra
(``pip install '/path/to/pulumi-karmo-roles[yaml]'`` from a checkout: README, Install).
This module does not import the Pulumi SDK.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from .errors import CatalogError
from .validation import name_problem, permissions_problem, slug_problem

__all__ = ["Catalog", "RoleSpec", "load_catalog"]

_MAX_PROBLEMS = 10


def _checked(problem_of: Any) -> Any:
    """A pydantic after-validator that applies one of validation.py's rules."""

    def check(value: Any) -> Any:
        problem = problem_of(value)
        if problem:
            raise PydanticCustomError("karmo_rule", "{problem}", {"problem": problem})
        return value

    return AfterValidator(check)


def _permission_problem(value: Any) -> str | None:
    # The rule for one entry is the list rule applied to a list of one; the location
    # (permissions[i]) comes from the catalog path, so drop the list's own index.
    problem = permissions_problem([value])
    return None if problem is None else re.sub(r"^permissions\[0\]\s*", "", problem)


Slug = Annotated[str, _checked(slug_problem)]
Permission = Annotated[str, _checked(_permission_problem)]


class RoleSpec(BaseModel):
    """One role of a catalog: its display name and, optionally, the permission set
    Pulumi owns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, _checked(name_problem)]
    """The role's display name, e.g. ``Organization Admin``."""
    permissions: Annotated[list[Permission], _checked(permissions_problem)] | None = None
    """The role's complete permission set, or ``None`` to leave its permissions unmanaged."""


class Catalog(BaseModel):
    """A role catalog: ``{slug: RoleSpec}``, the roles declared in every organization."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: dict[Slug, RoleSpec] = Field(min_length=1)
    """The roles, keyed by slug (e.g. ``org-admin``)."""

    @classmethod
    def from_mapping(cls, data: Any, *, source: str) -> Catalog:
        """Validate a parsed catalog, ``{"roles": {slug: {"name": ..., ...}}}``.

        :param source: What the catalog is, for error messages (a file name, or
            ``OrganizationRoleSet 'tenants'``).
        :raises CatalogError: naming ``source`` and the path of each problem.
        """
        if isinstance(data, Catalog):
            return data
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise CatalogError(_describe(source, exc)) from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Catalog:
        """Read and validate a catalog file: ``.json``, or ``.yaml``/``.yml`` (needs the
        ``yaml`` extra). A relative path is relative to the working directory, which for
        ``pulumi`` is the project directory.

        :raises CatalogError: the file cannot be read or parsed, or breaks a rule; the
            message names the file and the path of each problem.
        :raises ImportError: a YAML file, and PyYAML is not installed.
        """
        shown = os.fspath(path)
        suffix = Path(shown).suffix.lower()
        if suffix not in (".json", ".yaml", ".yml"):
            raise CatalogError(
                f"{shown}: a role catalog must be a .json, .yaml or .yml file, got {suffix!r}"
            )
        try:
            text = Path(shown).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{shown}: cannot read the role catalog: {exc}") from None
        data = _parse_json(shown, text) if suffix == ".json" else _parse_yaml(shown, text)
        return cls.from_mapping(data, source=shown)


def load_catalog(path: str | os.PathLike[str]) -> dict[str, RoleSpec]:
    """The roles of a catalog file, ``{slug: RoleSpec}``; see :meth:`Catalog.from_file`."""
    return dict(Catalog.from_file(path).roles)


def _describe(source: str, exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    lines = [f"  {_location(e['loc'])}: {_message(e)}" for e in errors[:_MAX_PROBLEMS]]
    if len(errors) > _MAX_PROBLEMS:
        lines.append(f"  ... and {len(errors) - _MAX_PROBLEMS} more")
    count = "1 problem" if len(errors) == 1 else f"{len(errors)} problems"
    return f"{source} is not a valid role catalog ({count}):\n" + "\n".join(lines)


def _location(loc: tuple[int | str, ...]) -> str:
    """``("roles", "org-admin", "permissions", 1)`` -> ``roles.org-admin.permissions[1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":  # pydantic's marker for a bad dict key: the path ends there
            continue
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "karmo_rule":
        return str(error["msg"])
    if kind == "extra_forbidden":
        allowed = "'roles'" if len(error["loc"]) == 1 else "'name' and 'permissions'"
        return f"unknown key (allowed here: {allowed})"
    if kind == "missing":
        return "is required"
    if kind.endswith("_type"):  # e.g. YAML read `name: yes` as a boolean
        value = error.get("input")
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return f"{error['msg']}, got {type(value).__name__} {shown}"
    return str(error["msg"])


class _DuplicateKeyError(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _parse_json(shown: str, text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateKeyError as exc:
        # The JSON standard leaves duplicate keys undefined; Python keeps the last one,
        # which would silently drop a role.
        raise CatalogError(f"{shown}: key {exc.args[0]!r} appears twice in one object") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{shown}: not valid JSON: {exc}") from None


def _parse_yaml(shown: str, text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ImportError(
            f"Reading the YAML role catalog {shown} needs PyYAML: install the yaml extra "
            "into the environment the program runs in, "
            "`pip install '/path/to/pulumi-karmo-roles[yaml]'` with the path of your checkout "
            "of pulumi-karmo-roles (README, Install), or write the catalog as JSON."
        ) from None

    class UniqueKeyLoader(yaml.SafeLoader):
        """Safe YAML that refuses a mapping key given twice (PyYAML keeps the last)."""

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            if key in seen:
                mark = key_node.start_mark
                raise CatalogError(
                    f"{shown}, line {mark.line + 1}: key {key!r} appears twice in one mapping"
                )
            seen.add(key)
        return loader.construct_mapping(node)

    UniqueKeyLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping
    )
    try:
        stream = io.StringIO(text)
        stream.name = shown  # YAML error marks quote it
        return yaml.load(stream, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{shown}: not valid YAML: {exc}") from None
