"""`karmo-roles review` on what the real Pulumi CLI prints.

scripts/capture_review_fixtures.py runs each scenario (create, rename, grant and revoke,
takeover, replace, delete, an unknown organization, a secret name, no change, dashboard
drift seen by ``preview --refresh`` and by ``refresh --preview-only`` with its event log,
a role set over 50 organizations) through the CLI against the sandbox, once for the
module, and checks that the committed fixtures are still what it prints. Each live
preview is then reviewed by the installed ``karmo-roles`` command, and what the review
says is checked fact by fact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import ROOT

pytestmark = pytest.mark.cli

SCRIPT = ROOT / "scripts" / "capture_review_fixtures.py"
FIXTURES = ROOT / "tests" / "fixtures" / "previews"
SECRET_NAME = "Administrators (secret name)"
CIPHERTEXT_KEY = "4dabf18193072939515e22adb298388d"


@pytest.fixture(scope="module")
def live(pulumi_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previews, captured now from the CLI (and the committed fixtures checked)."""
    out = tmp_path_factory.mktemp("previews")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(pulumi_bin), os.environ.get("PATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    (out / "check.txt").write_text(f"{done.returncode}\n{done.stdout}{done.stderr}")
    assert (out / "no-changes.json").exists(), done.stdout + done.stderr
    return out


def _cli_version(pulumi_bin: Path) -> str:
    return subprocess.run(
        [str(pulumi_bin / "pulumi"), "version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_committed_fixtures_are_what_the_cli_prints(live: Path, pulumi_bin: Path) -> None:
    captured = re.search(r"CLI (v[0-9.]+)", (FIXTURES / "README.md").read_text())
    assert captured is not None
    version = _cli_version(pulumi_bin)
    if version != captured.group(1) or shutil.which("pulumi-language-python"):
        pytest.skip(f"the fixtures were captured with {captured.group(1)}, not {version}")
    status, _, report = (live / "check.txt").read_text().partition("\n")
    assert status == "0", report


def karmo_roles(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as a user runs it."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "karmo-roles"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def review(live: Path, *names: str, args: tuple[str, ...] = (), status: int = 0) -> Any:
    """``karmo-roles review --format json`` of the live previews ``names``."""
    files = [str(live / f"{name}.json") for name in names]
    done = karmo_roles("review", *files, "--format", "json", *args)
    assert done.returncode == status, done.stdout + done.stderr
    for secret in (SECRET_NAME, CIPHERTEXT_KEY, "ciphertext"):
        assert secret not in done.stdout + done.stderr
    return json.loads(done.stdout)


def roles_of(result: Any, stack: str = "dev") -> dict[tuple[str | None, str, str], Any]:
    """The roles of ``stack``'s review by (organization id, slug, change)."""
    (found,) = [s for s in result["stacks"] if s["stack"] == stack]
    by_key = {}
    for role in found["roles"]:
        key = (role["organization_id"], role["slug"], role["change"])
        assert key not in by_key, key
        by_key[key] = role
    return by_key


def facts(role: Any) -> tuple[Any, Any, Any, Any]:
    return role["name_before"], role["name_after"], role["granted"], role["revoked"]


def findings(result: Any) -> list[tuple[str, str | None, str | None, str | None, bool]]:
    return sorted(
        (f["rule"], f["organization_id"], f["slug"], f.get("permission"), f["blocking"])
        for f in result["findings"]
    )


def test_create(live: Path) -> None:
    result = review(live, "create")
    (stack,) = result["stacks"]
    assert (stack["stack"], stack["project"]) == ("dev", "acme-roles")
    roles = roles_of(result)
    assert set(roles) == {
        ("org_acme", "org-admin", "create"),
        ("org_acme", "org-support", "create"),
        ("org_acme", "org-billing", "create"),
        ("org_globex", "org-viewer", "create"),
        ("org_globex", "org-auditor", "create"),
        ("org_globex", "org-legacy", "create"),
    }
    assert facts(roles["org_acme", "org-admin", "create"]) == (
        None,
        "Organization Admin",
        ["members:read", "members:write", "roles:*"],
        [],
    )
    assert facts(roles["org_acme", "org-billing", "create"]) == (
        None,
        "Billing",
        ["billing:read"],
        [],
    )
    # Permissions not managed: nothing is granted by this change, and it says so.
    support = roles["org_acme", "org-support", "create"]
    assert facts(support) == (None, "Support", [], [])
    assert support["permissions_managed_after"] is False
    assert findings(result) == [("wildcard", "org_acme", "org-admin", "roles:*", False)]


def test_a_wildcard_blocks_with_fail_on_and_a_denied_permission_always(live: Path) -> None:
    result = review(live, "create", args=("--fail-on", "wildcard"), status=1)
    assert findings(result) == [("wildcard", "org_acme", "org-admin", "roles:*", True)]
    result = review(live, "create", args=("--deny", "billing:*"), status=1)
    assert ("deny", "org_acme", "org-billing", "billing:read", True) in findings(result)
    # A pattern nothing matches finds nothing.
    result = review(live, "create", args=("--deny", "nothing:*"))
    assert [f for f in findings(result) if f[0] == "deny"] == []


def test_rename(live: Path) -> None:
    result = review(live, "rename")
    roles = roles_of(result)
    assert list(roles) == [("org_acme", "org-admin", "update")]
    assert facts(roles["org_acme", "org-admin", "update"]) == (
        "Organization Admin",
        "Administrators",
        [],
        [],
    )
    assert findings(result) == []


def test_permissions_granted_and_revoked(live: Path) -> None:
    result = review(live, "permissions")
    roles = roles_of(result)
    assert list(roles) == [("org_acme", "org-billing", "update")]
    billing = roles["org_acme", "org-billing", "update"]
    assert billing["granted"] == ["billing:write", "invoices:read"]
    assert billing["revoked"] == ["billing:read"]
    assert billing["name_before"] == billing["name_after"] == "Billing"
    assert findings(result) == []


def test_takeover(live: Path) -> None:
    result = review(live, "takeover")
    roles = roles_of(result)
    assert list(roles) == [("org_acme", "org-support", "update")]
    support = roles["org_acme", "org-support", "update"]
    assert support["granted"] == ["tickets:read", "tickets:write"]
    # Whatever else Karmo holds is revoked, and a preview cannot know what that is.
    assert support["revoked"] is None
    assert support["takeover"] is True
    assert findings(result) == [("takeover", "org_acme", "org-support", None, False)]
    blocked = review(live, "takeover", args=("--fail-on", "takeover"), status=1)
    assert findings(blocked) == [("takeover", "org_acme", "org-support", None, True)]


def test_replace(live: Path) -> None:
    result = review(live, "replace")
    (role,) = roles_of(result).values()
    assert role["change"] == "replace"
    assert role["organization_id"] == "org_globex"
    assert role["slug"] == "org-readonly"
    assert role["slug_before"] == "org-viewer"  # the old role, which stays in Karmo
    assert role["organization_id_before"] == "org_globex"
    # The new role grants what the old one did; nothing is taken from the old one.
    assert (role["granted"], role["revoked"]) == (["reports:read"], [])
    assert [f[0] for f in findings(result)] == ["delete"]
    review(live, "replace", args=("--fail-on", "delete"), status=1)


def test_delete(live: Path) -> None:
    result = review(live, "delete")
    roles = roles_of(result)
    assert set(roles) == {
        ("org_globex", "org-auditor", "delete"),
        ("org_globex", "org-legacy", "delete"),
    }
    # Only clear_permissions_on_delete takes permissions away; otherwise they stay.
    auditor = roles["org_globex", "org-auditor", "delete"]
    assert facts(auditor) == ("Auditor", None, [], ["audit:read"])
    assert auditor["clear_permissions_on_delete"] is True
    assert facts(roles["org_globex", "org-legacy", "delete"]) == ("Legacy", None, [], [])
    assert findings(result) == [
        ("delete", "org_globex", "org-auditor", None, False),
        ("delete", "org_globex", "org-legacy", None, False),
    ]


def test_an_organization_unknown_at_preview_is_null(live: Path) -> None:
    roles = roles_of(review(live, "unknown"))
    assert set(roles) == {
        ("org_acme", "org-anchor", "create"),
        (None, "org-viewer", "create"),
    }
    tenant = roles[None, "org-viewer", "create"]
    assert tenant["name_after"] == "Viewer"
    assert tenant["unknown"] == ["organization_id"]
    assert roles["org_acme", "org-anchor", "create"]["unknown"] == []


def test_a_secret_name_is_never_shown(live: Path) -> None:
    result = review(live, "secret")
    (role,) = roles_of(result).values()
    assert (role["organization_id"], role["slug"], role["change"]) == (
        "org_acme",
        "org-admin",
        "update",
    )
    assert role["name_before"] == "Administrators"
    assert role["name_after"] is None
    assert role["secret"] == ["name"]
    for form in ("markdown", "text"):
        done = karmo_roles("review", str(live / "secret.json"), "--format", form)
        assert done.returncode == 0, done.stderr
        assert "secret" in done.stdout.lower()


def test_no_changes(live: Path) -> None:
    # As the example workflow runs it: the stack named, so that its marker stays the same.
    result = review(live, "no-changes", args=("--project", "acme-roles", "--stack", "dev"))
    (stack,) = result["stacks"]
    assert (stack["stack"], stack["project"], stack["roles"]) == ("dev", "acme-roles", [])
    assert result["findings"] == []


def test_no_changes_names_the_stack_from_its_urn(live: Path) -> None:
    # The CLI lists the stack resource's `same` step, whose URN names the stack.
    result = review(live, "no-changes")
    assert [(s["stack"], s["project"]) for s in result["stacks"]] == [("dev", "acme-roles")]


DRIFT = {
    # (organization, slug): what the dashboard changed
    ("org_acme", "org-support"): ("Support", "Helpdesk (renamed)", [], []),
    ("org_acme", "org-billing"): ("Billing", "Billing", ["billing:refund"], ["billing:write"]),
    ("org_globex", "org-readonly"): ("Viewer", None, [], ["reports:read"]),
}


def drifted(result: Any) -> dict[tuple[str | None, str], Any]:
    return {(o, s): facts(r) for (o, s, change), r in roles_of(result).items() if change == "drift"}


def test_drift_seen_by_a_refreshing_preview(live: Path) -> None:
    result = review(live, "drift-preview-refresh")
    assert drifted(result) == DRIFT
    roles = roles_of(result)
    assert roles["org_globex", "org-readonly", "drift"]["gone"] is True
    # The preview also holds what undoes each change: the updates back, and the role
    # deleted in the dashboard created again.
    assert facts(roles["org_acme", "org-support", "update"]) == (
        "Helpdesk (renamed)",
        "Support",
        [],
        [],
    )
    assert facts(roles["org_acme", "org-billing", "update"]) == (
        "Billing",
        "Billing",
        ["billing:write"],
        ["billing:refund"],
    )
    assert roles["org_globex", "org-readonly", "create"]["granted"] == ["reports:read"]
    assert findings(result) == sorted(("drift", o, s, None, False) for o, s in DRIFT)
    blocked = review(live, "drift-preview-refresh", args=("--fail-on", "drift"), status=1)
    assert findings(blocked) == sorted(("drift", o, s, None, True) for o, s in DRIFT)


def test_drift_seen_in_the_event_log_of_refresh_preview_only(live: Path) -> None:
    # As the example drift workflow runs it: the event log alone.
    log = str(live / "drift-refresh-preview-only.events.jsonl")
    result = review(live, args=("--event-log", log))
    assert drifted(result) == DRIFT
    assert findings(result) == sorted(("drift", o, s, None, False) for o, s in DRIFT)
    blocked = review(live, args=("--event-log", log, "--fail-on", "drift"), status=1)
    assert all(f["blocking"] for f in blocked["findings"])
    # With the command's JSON beside it, the drift is the same.
    assert drifted(review(live, "drift-refresh-preview-only", args=("--event-log", log))) == DRIFT


def test_a_role_gone_from_workos_is_drift_not_a_removal(live: Path) -> None:
    # refresh --preview-only's JSON alone: its `delete` step is a role gone from WorkOS;
    # the other drift is only in the event log, and the review says to pass it.
    result = review(live, "drift-refresh-preview-only")
    changes = {(o, s): change for (o, s, change) in roles_of(result)}
    assert changes == {("org_globex", "org-readonly"): "drift"}
    assert [f[0] for f in findings(result)] == ["drift"]
    markdown = karmo_roles("review", str(live / "drift-refresh-preview-only.json")).stdout
    assert "--event-log" in markdown


def test_a_role_set_over_50_organizations(live: Path) -> None:
    result = review(live, "role-set")
    (stack,) = result["stacks"]
    assert (stack["stack"], stack["project"]) == ("prod", "acme-tenants")
    roles = roles_of(result, "prod")
    assert len(roles) == 50
    for (organization_id, slug, change), role in roles.items():
        assert str(organization_id).startswith("org_tenant_")
        assert (slug, change) == ("org-billing", "update")
        assert facts(role) == ("Billing", "Billing", ["billing:write"], [])
    # Written once, with the number of organizations and the first few ids.
    markdown = karmo_roles("review", str(live / "role-set.json")).stdout
    assert "in 50 organizations" in markdown
    assert markdown.count("org-billing") == 1, markdown
    assert markdown.count("org&#95;tenant&#95;") <= 5, markdown


def test_several_stacks_in_one_review(live: Path) -> None:
    result = review(live, "rename", "role-set")
    assert sorted(s["stack"] for s in result["stacks"]) == ["dev", "prod"]
    markdown = karmo_roles("review", *(str(live / f"{n}.json") for n in ("rename", "role-set")))
    assert markdown.returncode == 0, markdown.stderr
    first = markdown.stdout.splitlines()[0]
    assert first == "<!-- karmo-roles-review project=acme-roles,acme-tenants stack=dev,prod -->"


def test_what_is_not_a_preview_exits_2_in_one_line(live: Path) -> None:
    (live / "not-a-preview.json").write_text('{"hello": "world"}')
    (live / "truncated.json").write_text((live / "rename.json").read_text()[:500])
    for name in ("not-a-preview.json", "truncated.json", "missing.json"):
        done = karmo_roles("review", str(live / name))
        assert done.returncode == 2, done
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
