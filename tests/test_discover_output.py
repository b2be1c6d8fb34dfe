"""``karmo-roles discover`` writes only inside the target it is given: organization ids
held to the ``organization_id`` rule before anything is read or written, file names
derived safely, no symbolic link followed, nothing replaced without ``--force``; and it
reads only the settings it uses. Against the sandbox's WorkOS face."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_karmo_roles._discover_files import file_name
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles.catalog import load_catalog
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.discover import discover
from tests.support.secrets import TOKEN, WORKOS_KEY

ROLES = {
    "org_a": {"org-admin": "Admin"},
    "org_b": {"org-viewer": "Viewer"},
    "org:colon": {"org-editor": "Editor"},
    ".dotted": {"org-owner": "Owner"},
}


@pytest.fixture
def workos(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """Organizations that each hold other roles, so --output DIR writes one file each."""
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as karmo:
        for organization_id, roles in ROLES.items():
            for slug, name in roles.items():
                karmo.upsert_role(organization_id, slug, name)
    monkeypatch.setenv("WORKOS_API_KEY", WORKOS_KEY)
    monkeypatch.setenv("WORKOS_API_URL", sandbox.workos_url)
    monkeypatch.setenv("KARMO_MAX_RETRIES", "0")
    return sandbox


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (links as ``-> target``), by relative path."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path.relative_to(root))] = path.read_text(encoding="utf-8")
    return found


@pytest.mark.parametrize(
    ("organization_id", "words"),
    [
        ("../escaped", "must not contain '/'"),
        ("/tmp/absolute", "must not contain '/'"),
        ("..", "must not contain '..'"),
        ("org_a\nroles: {org-evil: {name: Evil}}", "must not contain whitespace"),
        ("org_a\rinjected", "must not contain whitespace"),
        ("org_a\u2028x", "must not contain whitespace"),
        ("org\x1b[2J", "must not contain control characters"),
        ("org\u202e", "must not contain the bidirectional control U+202E"),
        ("", "must not be empty"),
        ("o" * 256, "must be at most 255 characters"),
        ("org\\a", "must not contain '\\'"),
        ("\udcff", "unpaired surrogate U+DCFF"),  # the byte 0xFF on a UTF-8 command line
    ],
)
def test_a_malformed_organization_id_exits_2_before_anything_is_read_or_written(
    workos: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    organization_id: str,
    words: str,
) -> None:
    target = tmp_path / "out"
    args = ["--organization", "org_a", "--organization", organization_id]
    code, out, err = discover(capsys, *args, "--output", str(target))
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    assert line.startswith("karmo-roles: error: --organization: organization_id ")
    assert words in line
    assert line.isprintable()
    assert workos.stats().get("workos_requests", 0) == 0
    assert not target.exists()
    assert tree(tmp_path) == {}


def test_a_non_utf8_organization_id_on_the_command_line_is_one_line(
    workos: SandboxServer, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_karmo_roles._discover", "discover", "--organization",
         os.fsdecode(b"org_\xff"), "--output", str(tmp_path / "x.yaml")],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("karmo-roles: error: --organization: organization_id must")
    assert tree(tmp_path) == {}


def test_file_names_are_derived_safely_inside_the_directory(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out"
    orgs = [a for o in ROLES for a in ("--organization", o)]
    code, _, err = discover(capsys, *orgs, "--output", str(target))
    assert code == 0, err
    written = tree(tmp_path)
    assert sorted(written) == sorted(
        f"out/{name}"
        for name in ("org_a.yaml", "org_b.yaml", file_name("org:colon", "yaml"),
                     file_name(".dotted", "yaml"))
    )  # fmt: skip
    assert file_name("org:colon", "yaml").startswith("org_colon-")
    assert file_name(".dotted", "yaml").startswith("dotted-")
    assert written["out/org_a.yaml"].startswith("# Discovered in WorkOS for: org_a\nroles:\n")
    for name in written:
        assert set(load_catalog(tmp_path / name, access_provider="workos"))


@pytest.mark.parametrize(
    ("organization_id", "expected"),
    [
        ("org_01HXYZ", "org_01HXYZ.yaml"),
        ("a.b-c_d", "a.b-c_d.yaml"),
        (".hidden", "hidden-"),
        ("org:1*2", "org_1_2-"),
        ("организация", "___________-"),
        ("x" * 255, "x" * 80 + "-"),
    ],
)
def test_file_name(organization_id: str, expected: str) -> None:
    name = file_name(organization_id, "yaml")
    assert name.startswith(expected)
    assert name.endswith(".yaml")
    assert "/" not in name
    assert not name.startswith(".")
    assert len(name) <= 100


def test_names_that_clean_to_the_same_stem_stay_distinct() -> None:
    assert file_name("org:a", "yaml") != file_name("org*a", "yaml")


def test_a_symbolic_link_in_the_directory_is_never_followed(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target, outside = tmp_path / "out", tmp_path / "outside.txt"
    target.mkdir()
    outside.write_text("precious\n", encoding="utf-8")
    (target / "org_b.yaml").symlink_to(outside)
    orgs = ["--organization", "org_a", "--organization", "org_b"]
    for force in ([], ["--force"]):
        code, _, err = discover(capsys, *orgs, "--output", str(target), *force)
        assert code == 1
        assert err.splitlines()[-1] == (
            f"karmo-roles: error: {target / 'org_b.yaml'} is a symbolic link: discovery "
            "never writes through one (remove it, or choose another --output)"
        )
        assert outside.read_text(encoding="utf-8") == "precious\n"
        assert not (target / "org_a.yaml").exists()  # nothing written when one cannot be


def test_a_dangling_symbolic_link_is_not_followed_either(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    link, nowhere = tmp_path / "roles.yaml", tmp_path / "created-through-the-link.yaml"
    link.symlink_to(nowhere)
    for force in ([], ["--force"]):
        code, _, err = discover(capsys, "--organization", "org_a", "--output", str(link), *force)
        assert code == 1
        assert "is a symbolic link: discovery never writes through one" in err
        assert not nowhere.exists()


def test_an_existing_file_is_replaced_only_with_force(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("mine\n", encoding="utf-8")
    other_link = tmp_path / "hard-link.yaml"
    os.link(path, other_link)
    code, out, err = discover(capsys, "--organization", "org_a", "--output", str(path))
    assert (code, out) == (1, "")
    assert err == f"karmo-roles: error: {path} exists: pass --force to replace it\n"
    assert path.read_text(encoding="utf-8") == "mine\n"
    code, _, err = discover(capsys, "--organization", "org_a", "--output", str(path), "--force")
    assert (code, err) == (0, "")
    assert path.read_text(encoding="utf-8").startswith("# Discovered in WorkOS for: org_a\n")
    assert other_link.read_text(encoding="utf-8") == "mine\n"  # replaced, not written into
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard-link.yaml", "roles.yaml"]


def test_existing_files_in_the_directory_need_force(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "org_b.yaml").write_text("mine\n", encoding="utf-8")
    orgs = ["--organization", "org_a", "--organization", "org_b", "--output", str(target)]
    code, _, err = discover(capsys, *orgs)
    assert code == 1
    assert err.splitlines()[-1] == (
        f"karmo-roles: error: {target / 'org_b.yaml'} exists: pass --force to replace it"
    )
    assert tree(target) == {"org_b.yaml": "mine\n"}  # org_a.yaml not written either
    code, _, err = discover(capsys, *orgs, "--force")
    assert code == 0, err
    assert sorted(tree(target)) == ["org_a.yaml", "org_b.yaml"]
    assert tree(target)["org_b.yaml"].startswith("# Discovered in WorkOS for: org_b\n")


def test_a_directory_named_with_control_characters_is_shown_escaped(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out\x1b[2J"
    orgs = ["--organization", "org_a", "--organization", "org_b", "--output", str(target)]
    code, _, err = discover(capsys, *orgs)
    assert code == 0, err
    wrote = [line for line in err.splitlines() if line.startswith("karmo-roles: wrote ")]
    assert all(line.isprintable() for line in err.splitlines())
    assert wrote == [
        f"karmo-roles: wrote {tmp_path}/out\\x1b[2J/{org}.yaml for {org}"
        for org in ("org_a", "org_b")
    ]
    code, _, err = discover(capsys, *orgs)
    assert code == 1
    assert all(line.isprintable() for line in err.splitlines())
    assert err.splitlines()[-1] == (
        f"karmo-roles: error: {tmp_path}/out\\x1b[2J/org_a.yaml exists: pass --force to replace it"
    )


def test_the_program_is_written_under_the_same_rules(
    workos: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "__main__.py"
    path.write_text("# my program\n", encoding="utf-8")
    code, _, err = discover(capsys, "--organization", "org_a", "--program", "--output", str(path))
    assert code == 1
    assert "exists: pass --force to replace it" in err
    assert path.read_text(encoding="utf-8") == "# my program\n"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KARMO_TOKEN", "kt with spaces"),
        ("KARMO_API_URL", "ftp://karmo.example"),
        ("KARMO_API_URL", "http://karmo.example"),
        ("KARMO_ACCESS_PROVIDER", "okta"),
        ("KARMO_AUTH", "oauth"),
        ("AWS_REGION", "\x1b[2J"),
    ],
)
def test_settings_discovery_does_not_use_cannot_stop_it(
    workos: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = discover(capsys, "--organization", "org_a")
    assert (code, err) == (0, "")
    assert out.startswith("# Discovered in WorkOS for: org_a\n")


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("WORKOS_API_URL", "http://admin:Hunter2Secret@127.0.0.1:9", "must not carry a user"),
        ("WORKOS_API_URL", "http://api.workos.com", "must use https://"),
        ("WORKOS_API_URL", "https://api.workos.com/\x1b[2J", "must not contain whitespace"),
        ("KARMO_TIMEOUT", "5e-324", "must be a number of seconds from 0.001"),
        ("KARMO_MAX_RETRIES", "many", "must be a whole number"),
    ],
)
def test_settings_discovery_uses_are_checked_in_one_line(
    workos: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    words: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = discover(capsys, "--organization", "org_a")
    assert (code, out) == (1, "")
    (line,) = err.splitlines()
    assert line.startswith(f"karmo-roles: error: {variable} {words}")
    assert "Hunter2Secret" not in line
    assert line.isprintable()
