"""Role catalogs: the roles an :class:`~pulumi_karmo_roles.OrganizationRoleSet` declares
in every organization, from code or from a YAML or JSON file, checked with the rules of
``check`` for the stack's access provider plus what a file can get wrong, and bounded
whatever the file holds. The format and its rules: docs/role-sets.md#catalog-files.
This module does not import the Pulumi SDK."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from ._rules import (
    _show,
    access_provider_problem,
    name_problem,
    permissions_problem,
    slug_problem,
)
from .errors import CatalogError, ConfigurationError

__all__ = ["Catalog", "RoleSpec", "load_catalog"]

MAX_CATALOG_BYTES = 1 << 20
"""Largest catalog file read, in bytes."""

MAX_DEPTH = 16
"""Deepest nesting of lists and mappings a catalog file may have (a valid one has 4)."""

_MAX_PROBLEMS = 10


_CONTEXT_KEY = "access_provider"


def _checked(problem_of: Any, *, per_access_provider: bool = False) -> Any:
    """A pydantic after-validator that applies one of validation.py's rules; with
    ``per_access_provider``, the rule for the access provider in the validation context
    (see :meth:`Catalog.from_mapping`)."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if per_access_provider:
            problem = problem_of(value, _access_provider(info.context))
        else:
            problem = problem_of(value)
        if problem:
            raise PydanticCustomError("karmo_rule", "{problem}", {"problem": problem})
        return value

    return AfterValidator(check)


def _access_provider(context: Any) -> str:
    """The access provider a validation applies: the one ``from_mapping`` put in the
    context, else (a RoleSpec built directly) the running program's."""
    if isinstance(context, dict) and _CONTEXT_KEY in context:
        return str(context[_CONTEXT_KEY])
    from ._config import program_access_provider

    return program_access_provider()


def _resolve_access_provider(access_provider: str | None) -> str:
    if access_provider is None:
        from ._config import program_access_provider

        return program_access_provider()
    problem = access_provider_problem(access_provider)
    if problem:
        raise ConfigurationError(f"access_provider {problem}")
    return access_provider


def _permission_problem(value: Any) -> str | None:
    # The rule for one entry is the list rule applied to a list of one; the location
    # (permissions[i]) comes from the catalog path, so drop the list's own index.
    problem = permissions_problem([value])
    return None if problem is None else re.sub(r"^permissions\[0\]\s*", "", problem)


Slug = Annotated[str, _checked(slug_problem, per_access_provider=True)]
Permission = Annotated[str, _checked(_permission_problem)]


class RoleSpec(BaseModel):
    """One role of a catalog: its display name and, optionally, the permission set
    Pulumi owns."""

    # A RoleSpec checked under one access provider is checked again in a catalog that
    # declares another.
    model_config = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

    name: Annotated[str, _checked(name_problem, per_access_provider=True)]
    """The role's display name, e.g. ``Organization Admin``."""
    permissions: Annotated[list[Permission], _checked(permissions_problem)] | None = None
    """The role's complete permission set, or ``None`` to leave its permissions unmanaged."""


class Catalog(BaseModel):
    """A role catalog: ``{slug: RoleSpec}``, the roles declared in every organization."""

    model_config = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

    roles: dict[Slug, RoleSpec] = Field(min_length=1)
    """The roles, keyed by slug (e.g. ``org-admin``)."""

    @classmethod
    def from_mapping(cls, data: Any, *, source: str, access_provider: str | None = None) -> Catalog:
        """Validate a parsed catalog, ``{"roles": {slug: {"name": ..., ...}}}``, or check
        a :class:`Catalog` again.

        :param source: What the catalog is, for error messages (a file name, or
            ``OrganizationRoleSet 'tenants'``).
        :param access_provider: Whose rules slugs and names follow besides Karmo's:
            ``workos`` or ``generic`` (see the README's input table). By
            default the stack's: ``karmo:accessProvider`` in a Pulumi program, else
            ``KARMO_ACCESS_PROVIDER``, else ``workos``.
        :raises CatalogError: naming ``source`` and the path of each problem.
        :raises ConfigurationError: the access provider is neither ``workos`` nor
            ``generic``.
        """
        context = {_CONTEXT_KEY: _resolve_access_provider(access_provider)}
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as exc:
            raise CatalogError(_describe(source, exc)) from None

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, access_provider: str | None = None
    ) -> Catalog:
        """Read and validate a catalog file: ``.json``, or ``.yaml``/``.yml`` (needs the
        ``yaml`` extra). A relative path is relative to the working directory, which for
        ``pulumi`` is the project directory.

        Bounded whatever the file holds: at most :data:`MAX_CATALOG_BYTES`, nesting at
        most :data:`MAX_DEPTH` deep, and no YAML anchors or aliases (an alias "bomb" of a
        few hundred bytes would otherwise expand to gigabytes).

        :param access_provider: ``workos`` or ``generic``; by default the stack's (see
            :meth:`from_mapping`).
        :raises CatalogError: the file cannot be read or parsed, breaks a bound or a rule,
            or is YAML and PyYAML is not installed; the message names the file and the
            path of each problem.
        :raises ConfigurationError: the access provider is neither ``workos`` nor
            ``generic``.
        """
        shown, data = read_data_file(path, "role catalog", MAX_CATALOG_BYTES)
        return cls.from_mapping(data, source=shown, access_provider=access_provider)


def load_catalog(
    path: str | os.PathLike[str], *, access_provider: str | None = None
) -> dict[str, RoleSpec]:
    """The roles of a catalog file, ``{slug: RoleSpec}``; see :meth:`Catalog.from_file`."""
    return dict(Catalog.from_file(path, access_provider=access_provider).roles)


def read_data_file(path: str | os.PathLike[str], what: str, max_bytes: int) -> tuple[str, Any]:
    """The path as shown and the data of a ``.json`` or ``.yaml``/``.yml`` file of at most
    ``max_bytes``, read by the bounded readers that refuse duplicate keys, anchors and deep
    nesting: role catalogs, and the shard assignments of :mod:`pulumi_karmo_roles.sharding`.

    :raises CatalogError: the file cannot be read or parsed; the message names the file
        and ``what`` it was to be (e.g. ``"role catalog"``).
    """
    shown = os.fspath(path)
    suffix = Path(shown).suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise CatalogError(f"{shown}: a {what} must be a .json, .yaml or .yml file, got {suffix!r}")
    try:
        with open(shown, "rb") as file:
            raw = file.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise CatalogError(f"{shown}: a {what} may be at most {max_bytes} bytes")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{shown}: cannot read the {what}: {exc}") from None
    return shown, _parse_json(shown, text) if suffix == ".json" else _parse_yaml(shown, text, what)


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
        return f"{error['msg']}, got {type(value).__name__} {_show(value)}"
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
        data = json.loads(text, object_pairs_hook=_unique_pairs)
    except RecursionError:
        raise _too_deep(shown) from None
    except _DuplicateKeyError as exc:
        # The JSON standard leaves duplicate keys undefined; Python keeps the last one,
        # which would silently drop a role.
        raise CatalogError(f"{shown}: key {exc.args[0]!r} appears twice in one object") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{shown}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if _depth(data) > MAX_DEPTH:
        raise _too_deep(shown)
    return data


def _too_deep(shown: str) -> CatalogError:
    return CatalogError(f"{shown}: nests lists and mappings more than {MAX_DEPTH} deep")


def _depth(data: Any) -> int:
    """How deep lists and mappings nest in ``data`` (a loop: no recursion limit)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack += [
                    (v, depth + 1) for v in (value.values() if isinstance(value, dict) else value)
                ]
    return deepest


def _parse_yaml(shown: str, text: str, what: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise CatalogError(
            f"{shown}: reading a YAML {what} needs PyYAML, which is not installed: "
            "install the yaml extra into the environment the program runs in, "
            "`pip install '/path/to/pulumi-karmo-roles[yaml]'` with the path of your checkout "
            f"of pulumi-karmo-roles (README, Install), or write it as JSON."
        ) from None

    class BoundedLoader(yaml.SafeLoader):
        """Safe YAML without anchors or aliases, nesting at most MAX_DEPTH deep, whose
        keys are text given once (PyYAML would keep the last of two)."""

        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise CatalogError(
                    f"{shown}, line {event.start_mark.line + 1}: YAML anchors and aliases "
                    f"are not allowed in a {what}; write each value out"
                )
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise _too_deep(shown)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise CatalogError(
                    f"{shown}, line {line}: a key must be text, not a list or mapping"
                )
            key = loader.construct_object(key_node)
            if key in seen:
                raise CatalogError(
                    f"{shown}, line {line}: key {key!r} appears twice in one mapping"
                )
            seen.add(key)
        return loader.construct_mapping(node)

    BoundedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        stream = io.StringIO(text)
        stream.name = shown  # YAML error marks quote it
        return yaml.load(stream, Loader=BoundedLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{shown}: not valid YAML: {exc}") from None
    except RecursionError:
        raise _too_deep(shown) from None
