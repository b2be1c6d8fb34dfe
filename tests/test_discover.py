"""``karmo-roles discover``: what WorkOS holds, written as a catalog or a program that
declares exactly it, against the sandbox's WorkOS face."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles.catalog import load_catalog
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.dashboard import Dashboard
from tests.support.discover import discover
from tests.support.mocks import run
from tests.support.secrets import TOKEN, WORKOS_KEY

SAME = {"org-admin": ("Admin — “all”", ["members:*", "billing:*"]), "org-viewer": ("Viewer", [])}
OTHER = {"org-admin": ("Administrators", ["members:*"])}


@pytest.fixture
def workos(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """Three organizations: two hold the same roles, one others; and an environment role."""
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as karmo:
        for organization_id, roles in (("org_a", SAME), ("org_b", SAME), ("org_c", OTHER)):
            for slug, (name, permissions) in roles.items():
                karmo.upsert_role(organization_id, slug, name)
                karmo.set_role_permissions(organization_id, slug, permissions)
    sandbox.add_environment_role("org-member", "Member")
    monkeypatch.setenv("WORKOS_API_KEY", WORKOS_KEY)
    monkeypatch.setenv("WORKOS_API_URL", sandbox.workos_url)
    monkeypatch.setenv("KARMO_MAX_RETRIES", "0")
    return sandbox


def as_catalog(roles: dict[str, tuple[str, list[str]]]) -> dict[str, dict[str, Any]]:
    return {s: {"name": n, "permissions": sorted(p)} for s, (n, p) in roles.items()}


def loaded(path: Path) -> dict[str, dict[str, Any]]:
    return {
        slug: spec.model_dump()
        for slug, spec in load_catalog(path, access_provider="workos").items()
    }


@pytest.mark.parametrize("format_", ["yaml", "json"])
def test_one_organization_is_a_catalog_that_load_catalog_reads(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path, format_: str
) -> None:
    code, out, err = discover(capsys, "--organization", "org_a", "--format", format_)
    assert (code, err) == (0, "")
    path = tmp_path / f"roles.{format_}"
    path.write_text(out, encoding="utf-8")
    assert loaded(path) == as_catalog(SAME)  # the environment role is left out


def test_organizations_holding_the_same_roles_share_one_catalog(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = discover(capsys, "--organization", "org_a", "--organization", "org_b")
    assert code == 0
    assert out.startswith("# Discovered in WorkOS for: org_a, org_b\n")
    assert err.splitlines() == [
        "karmo-roles: reading org_a (1 of 2)",
        "karmo-roles: reading org_b (2 of 2)",
    ]


def test_organizations_holding_different_roles_get_a_catalog_each_group(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orgs = ["--organization", "org_a", "--organization", "org_c", "--organization", "org_b"]
    code, out, err = discover(capsys, *orgs)
    assert code == 1
    assert out == ""
    assert err.splitlines()[-1] == (
        "karmo-roles: error: the 3 organizations hold 2 different sets of roles: pass "
        "--output DIR to write one catalog per group, or --program"
    )
    code, _, err = discover(capsys, *orgs, "--output", str(tmp_path / "roles"))
    assert code == 0
    assert loaded(tmp_path / "roles" / "org_a.yaml") == as_catalog(SAME)
    assert loaded(tmp_path / "roles" / "org_c.yaml") == as_catalog(OTHER)
    assert f"wrote {tmp_path / 'roles' / 'org_a.yaml'} for org_a, org_b" in err


def test_the_program_declares_exactly_what_exists(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orgs = ["--organization", "org_a", "--organization", "org_b", "--organization", "org_c"]
    code, out, _ = discover(capsys, *orgs, "--program")
    assert code == 0
    program = tmp_path / "__main__.py"
    program.write_text(out, encoding="utf-8")

    def declare() -> None:
        runpy.run_path(str(program))

    recorder = run(declare)
    declared = {
        (r.inputs["organization_id"], r.inputs["slug"]): (
            r.inputs["name"],
            r.inputs["permissions"],
        )
        for r in recorder.registered
        if r.typ.endswith("karmo:OrganizationRole")
    }
    expected = {
        (o, slug): (name, sorted(permissions))
        for o, roles in (("org_a", SAME), ("org_b", SAME), ("org_c", OTHER))
        for slug, (name, permissions) in roles.items()
    }
    assert declared == expected


def test_a_dashboard_change_shows_in_the_next_discovery(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    Dashboard(workos).rename("org_c", "org-admin", "Renamed")
    _, out, _ = discover(capsys, "--organization", "org_c", "--format", "json")
    assert json.loads(out)["roles"]["org-admin"]["name"] == "Renamed"


def test_failures_are_one_line_and_non_zero(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKOS_API_KEY", "sk_test_wrong_0123456789")
    code, out, err = discover(capsys, "--organization", "org_a")
    assert (code, out) == (1, "")
    (line,) = err.splitlines()
    assert line.startswith("karmo-roles: error: WorkOS rejected GET ")
    assert "karmo:workosApiKey" in line
    assert "sk_test_wrong_0123456789" not in line
    monkeypatch.delenv("WORKOS_API_KEY")
    code, _, err = discover(capsys, "--organization", "org_a")
    assert code == 1
    assert err == "karmo-roles: error: WORKOS_API_KEY is not set: discovery reads the roles " + (
        "with a WorkOS API key (keep it out of shell history: export it from a secret store).\n"
    )


def test_the_console_command_runs(workos: SandboxServer, tmp_path: Path) -> None:
    import os

    env = {**os.environ, "WORKOS_API_KEY": WORKOS_KEY, "WORKOS_API_URL": workos.workos_url}
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_karmo_roles._discover", "discover", "--organization",
         "org_c", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"roles": as_catalog(OTHER)}
