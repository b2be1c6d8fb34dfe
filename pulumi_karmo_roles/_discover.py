"""``karmo-roles discover``: the organization roles WorkOS holds, written as what declares
them, so existing roles can be adopted into a Pulumi program without typing them in.

It reads WorkOS (``WORKOS_API_KEY``, ``WORKOS_API_URL``), through the same session as
the provider (timeouts, retries, proxies, redaction), and writes a role catalog (YAML by
default, or JSON) that :func:`~pulumi_karmo_roles.catalog.load_catalog` and
``OrganizationRoleSet.from_file`` read as it is, or (``--program``) Python declarations.
Organizations that hold the same roles share one catalog; where they differ, each group
gets its own, so the output declares exactly what exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ._config import read_workos_settings
from ._discover_files import check_writable, file_name, shown, write_new
from ._http.session import Session
from ._http.untrusted import clean
from ._http.workos import WorkOSReader, WorkOSRole
from ._rules import organization_id_problem
from .catalog import Catalog
from .errors import CatalogError, ConfigurationError, KarmoError

Roles = dict[str, tuple[str, tuple[str, ...]]]
"""``{slug: (name, permissions)}``: what one organization holds."""

_KEY = re.compile(r"[A-Za-z0-9._-]{1,100}")  # an organization id that can name resources


def main(argv: Sequence[str] | None = None) -> int:
    """``karmo-roles discover --organization ORG [...]``: see ``--help``."""
    parser = argparse.ArgumentParser(
        prog="karmo-roles",
        description="Tools for pulumi-karmo-roles.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    discover = commands.add_parser(
        "discover",
        help="write the organization roles WorkOS holds as a role catalog or a program",
        description=(
            "Read each organization's roles from WorkOS (environment roles left out) and "
            "write what declares exactly them: a role catalog for OrganizationRoleSet."
            "from_file, or with --program Python declarations. Needs WORKOS_API_KEY (and "
            "WORKOS_API_URL for another WorkOS than https://api.workos.com)."
        ),
    )
    discover.add_argument(
        "--organization",
        action="append",
        required=True,
        metavar="ID",
        help="a WorkOS organization id, e.g. org_123 (repeat it for several)",
    )
    discover.add_argument(
        "--format",
        choices=("yaml", "json"),
        default="yaml",
        help="the catalog's format (default yaml)",
    )
    discover.add_argument(
        "--program",
        action="store_true",
        help="write Python declarations (OrganizationRoleSet) instead of a catalog",
    )
    discover.add_argument(
        "--output",
        metavar="PATH",
        help="write to this file instead of standard output; a directory when the "
        "organizations hold different roles (one catalog per group)",
    )
    discover.add_argument(
        "--force",
        action="store_true",
        help="replace files that exist (never through a symbolic link)",
    )
    args = parser.parse_args(argv)
    for organization_id in args.organization:  # before anything is read or written
        problem = organization_id_problem(organization_id)
        if problem:
            print(f"karmo-roles: error: --organization: {_one_line(problem)}", file=sys.stderr)
            return 2
    try:
        return _discover(args.organization, args.format, args.program, args.output, args.force)
    except (KarmoError, OSError) as exc:
        print(f"karmo-roles: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1


def _discover(
    organizations: list[str], format_: str, program: bool, output: str | None, force: bool
) -> int:
    settings = read_workos_settings(os.environ)
    if settings.workos_api_key is None:
        raise ConfigurationError(
            "WORKOS_API_KEY is not set: discovery reads the roles with a WorkOS API key "
            "(keep it out of shell history: export it from a secret store)."
        )
    organizations = list(dict.fromkeys(organizations))
    with Session(
        timeout=settings.timeout,
        retry_policy=settings.retry_policy(),
        on_retry=lambda line: print(f"karmo-roles: {line}", file=sys.stderr),
    ) as session:
        reader = WorkOSReader(
            settings.workos_api_url, settings.workos_api_key.get_secret_value(), session=session
        )
        held: dict[str, Roles] = {}
        for n, organization_id in enumerate(organizations, 1):
            if len(organizations) > 1:
                print(
                    f"karmo-roles: reading {organization_id} ({n} of {len(organizations)})",
                    file=sys.stderr,
                )
            held[organization_id] = _declarable(organization_id, reader.roles(organization_id))
    groups = _groups(held)
    if program:
        _write(output, _program(groups), force)
        return 0
    if len(groups) == 1:
        ((organization_ids, roles),) = groups
        _write(output, _catalog(roles, organization_ids, format_), force)
        return 0
    if output is None:
        raise ConfigurationError(
            f"the {len(organizations)} organizations hold {len(groups)} different sets of "
            "roles: pass --output DIR to write one catalog per group, or --program"
        )
    directory = Path(output)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / file_name(ids[0], format_) for ids, _ in groups]
    check_writable(paths, force=force)  # nothing is written if one file cannot be
    for path, (organization_ids, roles) in zip(paths, groups, strict=True):
        write_new(path, _catalog(roles, organization_ids, format_), force=force)
        print(
            f"karmo-roles: wrote {shown(path)} for {', '.join(organization_ids)}",
            file=sys.stderr,
        )
    return 0


def _declarable(organization_id: str, roles: list[WorkOSRole]) -> Roles:
    """The roles a program can declare, their text exactly WorkOS's; any other is left
    out with one line on standard error that says why."""
    found: Roles = {}
    for role in roles:
        entry = {"name": role.name, "permissions": list(role.permissions)}
        try:
            if role.altered:  # text that cannot be written as it is (the reader says why)
                raise CatalogError(role.altered)
            # generic: what WorkOS holds passes WorkOS's own limits, whatever the stack says.
            Catalog.from_mapping(
                {"roles": {role.slug: entry}}, source="WorkOS", access_provider="generic"
            )
        except KarmoError as exc:
            print(
                f"karmo-roles: left out {organization_id}/{clean(role.slug, 60)}: "
                f"{clean(_one_line(str(exc)), 300)}",
                file=sys.stderr,
            )
            continue
        found[role.slug] = (role.name, role.permissions)
    return found


def _groups(held: dict[str, Roles]) -> list[tuple[list[str], Roles]]:
    """Organizations that hold the same roles, together, in the order given; an
    organization with no roles declares nothing."""
    groups: list[tuple[list[str], Roles]] = []
    for organization_id, roles in held.items():
        if not roles:
            print(f"karmo-roles: {organization_id} holds no organization roles", file=sys.stderr)
            continue
        for organization_ids, same in groups:
            if same == roles:
                organization_ids.append(organization_id)
                break
        else:
            groups.append(([organization_id], roles))
    if not groups:
        raise ConfigurationError("no organization holds an organization role: nothing to write")
    return groups


def _catalog(roles: Roles, organization_ids: list[str], format_: str) -> str:
    if format_ == "json":
        data = {
            "roles": {
                slug: {"name": name, "permissions": list(permissions)}
                for slug, (name, permissions) in sorted(roles.items())
            }
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    lines = [f"# Discovered in WorkOS for: {', '.join(organization_ids)}", "roles:"]
    for slug, (name, permissions) in sorted(roles.items()):
        listed = ", ".join(_yaml_string(p) for p in permissions)
        lines += [f"  {slug}:", f"    name: {_yaml_string(name)}", f"    permissions: [{listed}]"]
    return "\n".join(lines) + "\n"


# What a YAML double-quoted scalar cannot hold as itself: characters outside YAML's
# printable set, the line breaks a YAML 1.1 reader folds (NEL, U+2028, U+2029), and a
# byte-order mark. Everything else (ZWNJ, ZWJ, soft hyphens, private use, emoji newer
# than Python's tables) is written as it is, so the file holds WorkOS's text byte for byte.
_NOT_IN_YAML = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\x85\u2028\u2029\ufeff]"
)


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar that reads back as ``text`` exactly: JSON's escapes,
    which YAML shares, and the characters YAML cannot hold as themselves escaped."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _NOT_IN_YAML.sub(
        lambda m: (
            f"\\u{ord(m.group()):04x}" if ord(m.group()) <= 0xFFFF else f"\\U{ord(m.group()):08x}"
        ),
        quoted,
    )


def _program(groups: list[tuple[list[str], Roles]]) -> str:
    lines = [
        '"""Karmo roles discovered in WorkOS by `karmo-roles discover`: each organization',
        'declares exactly the roles it holds."""',
        "",
        "from pulumi_karmo_roles import OrganizationRoleSet",
    ]
    for n, (organization_ids, roles) in enumerate(groups, 1):
        name = "discovered" if len(groups) == 1 else f"discovered-{n}"
        if all(_KEY.fullmatch(o) for o in organization_ids):
            ids = repr(organization_ids)
        else:  # ids that cannot name resources: a dict, whose keys name them
            ids = repr({f"org-{i}": o for i, o in enumerate(organization_ids, 1)})
        lines += ["", "OrganizationRoleSet(", f"    {name!r},", f"    organization_ids={ids},"]
        lines.append("    catalog={")
        for slug, (role_name, permissions) in sorted(roles.items()):
            entry = {"name": role_name, "permissions": list(permissions)}
            lines.append(f"        {slug!r}: {entry!r},")
        lines += ["    },", ")"]
    return "\n".join(lines) + "\n"


def _write(output: str | None, text: str, force: bool) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    write_new(Path(output), text, force=force)


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
