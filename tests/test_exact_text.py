"""What WorkOS holds reaches the state and ``karmo-roles discover``'s output byte for
byte when it is a valid value: names in Persian (with ZWNJ), emoji joined with ZWJ, soft
hyphens, private-use characters and emoji newer than Python's Unicode tables settle
instead of showing a rename after every refresh. Text no rule accepts is read back as it
is (but for a credential in use and control characters), so the next ``pulumi up``
corrects it, and ``discover`` leaves it out with one line that says why. Against the
sandbox's WorkOS face and hostile loopback servers; the provider directly and through
``python -m pulumi.dynamic``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from pulumi_karmo_roles._discover import main
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles._http.workos import WorkOSReader
from pulumi_karmo_roles._rules import name_problem
from pulumi_karmo_roles.catalog import load_catalog
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN, WORKOS_KEY
from tests.support.servers import HostileServer, Reply

# Valid names under the default (workos) rules that Python's str.isprintable() refuses.
EXACT = {
    "org-persian": "\u0645\u062f\u06cc\u0631\u200c\u0647\u0627",  # "managers", ZWNJ inside
    "org-devs": "👩\u200d💻 Devs",  # ZWJ inside an emoji
    "org-hyphen": "Ad\u00admin\u00adis\u00adtra\u00adtors",  # soft hyphens
    "org-private": "Team \ue000\U000f0001",  # private use (BMP and plane 15)
    "org-new-emoji": "Pink \U0001fa77 heart",  # 🩷: Unicode 15, newer than some Pythons
    "org-long": "Ünïcödé ‌role name‌ with 45 characters, exactly!"[:45],
}


def test_the_names_are_valid_and_not_printable_to_python() -> None:
    for name in EXACT.values():
        assert name_problem(name) is None, name
    assert not any(name.isprintable() for name in list(EXACT.values())[:4])


@pytest.fixture
def held(sandbox: SandboxServer) -> SandboxServer:
    """Each name of EXACT as a role of org_1, written through Karmo."""
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as karmo:
        for slug, name in EXACT.items():
            karmo.upsert_role("org_1", slug, name)
            karmo.set_role_permissions("org_1", slug, ["a:read"])
    return sandbox


def test_the_reader_gives_exactly_what_workos_holds(held: SandboxServer) -> None:
    with Session(max_retries=0) as session:
        reader = WorkOSReader(held.workos_url, WORKOS_KEY, session=session)
        listed = {role.slug: role.name for role in reader.roles("org_1")}
        single = {slug: reader.role("org_1", slug) for slug in EXACT}
    assert listed == EXACT
    for slug, role in single.items():
        assert role is not None
        assert (role.name, role.altered) == (EXACT[slug], None)


def read_back_config(sandbox: SandboxServer) -> dict[str, str]:
    return {
        "karmo:apiUrl": sandbox.url,
        "karmo:token": TOKEN,
        "karmo:workosApiKey": WORKOS_KEY,
        "karmo:workosApiUrl": sandbox.workos_url,
    }


def test_refresh_settles_on_valid_names_directly(held: SandboxServer) -> None:
    provider = configured_provider(held.url, read_back_config(held))
    for slug, name in EXACT.items():
        declared = {"organization_id": "org_1", "slug": slug, "name": name}
        outs = provider.create({**declared, "permissions": ["a:read"]}).outs
        assert outs is not None
        read = provider.read(f"org_1/{slug}", dict(outs))
        assert read.outs is not None
        assert read.outs["name"] == name
        diff = provider.diff(f"org_1/{slug}", read.outs, {**declared, "permissions": ["a:read"]})
        assert diff.changes is False, slug


def test_refresh_settles_on_valid_names_through_the_engine(held: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure(read_back_config(held))
        for slug, name in EXACT.items():
            declared = {"organization_id": "org_1", "slug": slug, "name": name}
            _, outs = process.create(declared)
            _, read = process.read(f"org_1/{slug}", outs)
            assert read["name"] == name
            assert process.diff(f"org_1/{slug}", read, declared).changes == "DIFF_NONE"
            _, got = process.read(f"org_1/{slug}", inputs={"name": "x"})  # .get()
            assert got["name"] == name


def listing(*roles: Mapping[str, object]) -> bytes:
    data = [
        {"object": "role", "id": f"role_{n}", "type": "OrganizationRole", "permissions": [], **r}
        for n, r in enumerate(roles)
    ]
    return json.dumps({"object": "list", "data": data}).encode()


def test_refresh_reads_an_invalid_name_as_it_is_so_the_next_up_corrects_it() -> None:
    # A bidi override and a too-long name are kept exactly; both differ from the
    # declared name, so the preview shows the way back.
    body = listing(
        {"slug": "org-a", "name": "Admin\u202e"},
        {"slug": "org-b", "name": "B" * 300},
        {"slug": "org-c", "name": "ring\x07\nbell"},
    )
    with HostileServer(lambda seen: Reply(200, {}, body)) as server:
        provider = configured_provider(
            None, {"karmo:workosApiKey": WORKOS_KEY, "karmo:workosApiUrl": server.url}
        )
        outs = {
            "organization_id": "org_1",
            "name": "Admin",
            "permissions": None,
            "role_id": "role_0",
        }
        reads = {
            s: provider.read(f"org_1/org-{s}", {**outs, "slug": f"org-{s}"}).outs for s in "abc"
        }
    names = {s: (read or {}).get("name") for s, read in reads.items()}
    assert names == {"a": "Admin\u202e", "b": "B" * 256, "c": "ring\\x07\\nbell"}


def test_a_key_in_what_workos_holds_never_reaches_the_state() -> None:
    body = listing({"slug": "org-a", "name": f"Admin {WORKOS_KEY}", "permissions": [WORKOS_KEY]})
    with HostileServer(lambda seen: Reply(200, {}, body)) as server:
        provider = configured_provider(
            None, {"karmo:workosApiKey": WORKOS_KEY, "karmo:workosApiUrl": server.url}
        )
        outs = {
            "organization_id": "org_1",
            "slug": "org-a",
            "name": "Admin",
            "permissions": [],
            "role_id": "role_0",
        }
        read = provider.read("org_1/org-a", outs)
    assert read.outs is not None
    assert (read.outs["name"], read.outs["permissions"]) == ("Admin ***", ["***"])
    assert WORKOS_KEY not in json.dumps([read.outs, read.inputs])


# discover ---------------------------------------------------------------------------


@pytest.fixture
def discovering(held: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    monkeypatch.setenv("WORKOS_API_KEY", WORKOS_KEY)
    monkeypatch.setenv("WORKOS_API_URL", held.workos_url)
    monkeypatch.setenv("KARMO_MAX_RETRIES", "0")
    return held


@pytest.mark.parametrize("format_", ["yaml", "json"])
def test_discover_writes_the_names_byte_for_byte(
    discovering: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    format_: str,
) -> None:
    assert main(["discover", "--organization", "org_1", "--format", format_]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    for name in EXACT.values():
        assert json.dumps(name, ensure_ascii=False) in out  # as itself, no escape
    path = tmp_path / f"roles.{format_}"
    path.write_text(out, encoding="utf-8")
    catalog = load_catalog(path, access_provider="workos")
    assert {slug: spec.name for slug, spec in catalog.items()} == EXACT


def test_discover_escapes_only_what_yaml_cannot_hold(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Valid under the rules, but YAML folds U+2028 and a BOM is no text of a scalar.
    names = {"org-a": "Line\u2028Sep", "org-b": "\ufeffBOM", "org-c": "Next\x85Line"}
    body = listing(*({"slug": s, "name": n} for s, n in names.items()))
    with HostileServer(lambda seen: Reply(200, {}, body)) as server:
        monkeypatch.setenv("WORKOS_API_KEY", WORKOS_KEY)
        monkeypatch.setenv("WORKOS_API_URL", server.url)
        assert main(["discover", "--organization", "org_1"]) == 0
    out, err = capsys.readouterr()
    assert '"Line\\u2028Sep"' in out
    assert '"\\ufeffBOM"' in out
    path = tmp_path / "roles.yaml"
    path.write_text(out, encoding="utf-8")
    loaded = {s: spec.name for s, spec in load_catalog(path, access_provider="generic").items()}
    # NEL is a control character: left out, the others read back exactly.
    assert loaded == {"org-a": names["org-a"], "org-b": names["org-b"]}
    assert err == ("karmo-roles: left out org_1/org-c: name holds control character U+0085\n")


def test_discover_leaves_out_what_is_not_valid_with_one_line_each(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = listing(
        {"slug": "org-ok", "name": "OK"},
        {"slug": "org-bell", "name": "ring\x07\x1b[2Jbell"},
        {"slug": "org-key", "name": f"Admin {WORKOS_KEY}"},
        {"slug": "org-bidi", "name": "Admin\u202e" + "x" * 200},
        {"slug": "org-\x1b[31mred", "name": "Red"},
    )
    with HostileServer(lambda seen: Reply(200, {}, body)) as server:
        monkeypatch.setenv("WORKOS_API_KEY", WORKOS_KEY)
        monkeypatch.setenv("WORKOS_API_URL", server.url)
        assert main(["discover", "--organization", "org_1", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"roles": {"org-ok": {"name": "OK", "permissions": []}}}
    lines = err.splitlines()
    assert lines[:3] == [
        "karmo-roles: left out org_1/org-bell: name holds control character U+0007",
        "karmo-roles: left out org_1/org-key: name holds a credential in use (shown as ***)",
        "karmo-roles: left out org_1/org-bidi: WorkOS is not a valid role catalog (1 "
        "problem): roles.org-bidi.name: name must not contain the bidirectional control "
        "U+202E, got 'Admin\\u202exxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'",
    ]
    assert lines[3] == (
        "karmo-roles: left out org_1/org-\\x1b[31mred: slug holds control character U+001B"
    )
    assert len(lines) == 4
    assert all(line.isprintable() and len(line) < 400 for line in lines)
    assert WORKOS_KEY not in err
