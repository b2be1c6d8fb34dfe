"""Role permissions: ownership when given, hands off when absent, set semantics, partial
failures and delete. Directly, against the sandbox, and through the engine protocol.
(How permissions diff is in the shared diff table, diff_cases.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.output import UNKNOWN as UNKNOWN_VALUE

from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles.errors import NotFoundError, PermissionsNotAppliedError
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import UNKNOWN, EngineError, ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN

ROLE = {"organization_id": "org_1", "slug": "org-ops", "name": "Ops"}
KEY = ("org_1", "org-ops")
CLEAR = "clear_permissions_on_delete"


@pytest.fixture
def provider(sandbox: SandboxServer) -> OrganizationRoleProvider:
    return configured_provider(sandbox.url)


def api_calls(sandbox: SandboxServer) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sandbox.requests()]


# check ---------------------------------------------------------------------------------


def test_check_accepts_valid_permissions_as_a_set() -> None:
    news = {**ROLE, "permissions": ["users.*", "reports:export", "a_b-c", "users.*"]}
    result = OrganizationRoleProvider().check({}, news)
    assert result.failures == []
    # Lists are often built from several sources: repeats are dropped, silently.
    assert result.inputs["permissions"] == ["a_b-c", "reports:export", "users.*"]


def test_check_keeps_a_list_holding_unknowns_as_given() -> None:
    news = {**ROLE, "permissions": ["b", UNKNOWN_VALUE, "b"]}
    result = OrganizationRoleProvider().check({}, news)
    assert result.failures == []
    assert result.inputs["permissions"] == news["permissions"]


@pytest.mark.parametrize(
    ("permissions", "words"),
    [
        (["users:write", "Users:Write"], "permissions[1] 'Users:Write' may contain only"),
        (["ok", "a\u202eb"], "permissions[1] must not contain the bidirectional control U+202E"),
        (["\u2066", "x\u2069"], "permissions[0] (U+2066), permissions[1] (U+2069) must not"),
        (["ok", 3], "permissions[1] (int) must be strings"),
        (["has space"], "^[a-z0-9:._*-]+$"),
        ([""], "permissions[0] ''"),
        ("users:write", "permissions must be a list of strings, got str"),
    ],
)
def test_check_names_the_entry_and_the_rule(permissions: Any, words: str) -> None:
    result = OrganizationRoleProvider().check({}, {**ROLE, "permissions": permissions})
    assert [f.property for f in result.failures] == ["permissions"]
    assert words in result.failures[0].reason


def test_check_skips_unknown_permissions() -> None:
    provider = OrganizationRoleProvider()
    assert provider.check({}, {**ROLE, "permissions": UNKNOWN_VALUE}).failures == []
    mixed = {**ROLE, "permissions": ["ok", UNKNOWN_VALUE, "BAD"]}
    (failure,) = provider.check({}, mixed).failures
    assert "permissions[2] 'BAD'" in failure.reason


# create / update -------------------------------------------------------------------------


def test_create_sets_sorted_permissions(
    provider: OrganizationRoleProvider, sandbox: SandboxServer
) -> None:
    created = provider.create({**ROLE, "permissions": ["users:write", "reports:export"]})
    assert created.outs is not None
    assert created.outs["permissions"] == ["reports:export", "users:write"]
    assert sandbox.permissions(*KEY) == ["reports:export", "users:write"]
    assert api_calls(sandbox) == [
        "PUT /organizations/org_1/roles/org-ops",
        "PUT /organizations/org_1/roles/org-ops/permissions",
    ]


def test_repeated_permissions_are_sent_and_recorded_once(
    provider: OrganizationRoleProvider, sandbox: SandboxServer
) -> None:
    created = provider.create({**ROLE, "permissions": ["b", "a", "b", "a"]})
    assert created.outs is not None
    assert created.outs["permissions"] == ["a", "b"]
    assert json.loads(sandbox.requests()[-1]["body"]) == {"permissions": ["a", "b"]}
    updated = provider.update(created.id, created.outs, {**ROLE, "permissions": ["c", "c"]})
    assert updated.outs is not None
    assert updated.outs["permissions"] == ["c"]
    assert sandbox.permissions(*KEY) == ["c"]


def test_absent_permissions_are_never_touched(
    provider: OrganizationRoleProvider, sandbox: SandboxServer
) -> None:
    with KarmoClient(sandbox.url, TOKEN) as client:
        client.upsert_role(*KEY, "Ops")
        client.set_role_permissions(*KEY, ["set:elsewhere"])
    sandbox.reset_requests()
    created = provider.create(dict(ROLE))
    assert created.outs is not None
    assert created.outs["permissions"] is None
    assert sandbox.permissions(*KEY) == ["set:elsewhere"]
    assert api_calls(sandbox) == ["PUT /organizations/org_1/roles/org-ops"]


@pytest.mark.parametrize(
    ("news", "expected_calls"),
    [
        ({**ROLE, "permissions": ["c"]}, ["PUT /organizations/org_1/roles/org-ops/permissions"]),
        ({**ROLE, "name": "Operators", "permissions": ["a", "b"]},
         ["PUT /organizations/org_1/roles/org-ops"]),
        ({**ROLE, "name": "Operators", "permissions": ["c"]},
         ["PUT /organizations/org_1/roles/org-ops",
          "PUT /organizations/org_1/roles/org-ops/permissions"]),
        ({**ROLE}, []),  # given -> absent: stop managing, send nothing
    ],
)  # fmt: skip
def test_update_sends_only_what_changed(
    provider: OrganizationRoleProvider,
    sandbox: SandboxServer,
    news: dict[str, Any],
    expected_calls: list[str],
) -> None:
    created = provider.create({**ROLE, "permissions": ["b", "a"]})
    assert created.outs is not None
    sandbox.reset_requests()
    updated = provider.update(created.id, created.outs, news)
    assert api_calls(sandbox) == expected_calls
    assert updated.outs is not None
    assert updated.outs["role_id"] == created.outs["role_id"]
    wanted = news.get("permissions")
    assert updated.outs["permissions"] == (None if wanted is None else sorted(set(wanted)))
    # Karmo holds the declared set, or what it had when Pulumi stopped managing it.
    assert sandbox.permissions(*KEY) == sorted(set(wanted or ["a", "b"]))


def test_create_partial_failure_then_converges(
    provider: OrganizationRoleProvider, sandbox: SandboxServer
) -> None:
    sandbox.script({"status": 201, "body": {"id": "role_PARTIAL"}}, {"status": 500})
    with pytest.raises(PermissionsNotAppliedError) as caught:
        provider.create({**ROLE, "permissions": ["a"]})
    text = str(caught.value)
    assert "'org-ops' in organization 'org_1' (role_PARTIAL) is written" in text
    assert "its permissions were not set" in text
    assert "500 INTERNAL_SERVER_ERROR" in text
    assert "keeps its previous permissions" in text
    assert "the next `pulumi up` converges" in text
    assert caught.value.role_id == "role_PARTIAL"
    # The next `pulumi up` runs the create again: both requests are idempotent.
    created = provider.create({**ROLE, "permissions": ["a"]})
    assert created.outs is not None
    assert sandbox.permissions(*KEY) == ["a"]


# delete ---------------------------------------------------------------------------------


def test_delete_leaves_managed_permissions_by_default(
    provider: OrganizationRoleProvider,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    created = provider.create({**ROLE, "permissions": ["a", "b"]})
    assert created.outs is not None
    assert created.outs[CLEAR] is False
    sandbox.reset_requests()
    provider.delete(created.id, created.outs)
    assert api_calls(sandbox) == []
    assert sandbox.permissions(*KEY) == ["a", "b"]
    err = capsys.readouterr().err
    assert "role 'org-ops' in organization 'org_1' remains in Karmo, and so do its " in err
    assert "declare it with permissions=[], run `pulumi up`, then remove the resource" in err


def test_delete_clears_managed_permissions_when_asked(
    provider: OrganizationRoleProvider,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    created = provider.create({**ROLE, "permissions": ["a", "b"], CLEAR: True})
    assert created.outs is not None
    assert created.outs[CLEAR] is True
    sandbox.reset_requests()
    provider.delete(created.id, created.outs)
    assert api_calls(sandbox) == ["PUT /organizations/org_1/roles/org-ops/permissions"]
    assert sandbox.permissions(*KEY) == []
    assert KEY in sandbox.roles()
    assert (
        "warning: Karmo has no delete operation: role 'org-ops' in organization 'org_1' "
        "remains in Karmo with no permissions (Pulumi cleared them: "
        "clear_permissions_on_delete is set). This stack no longer manages it; remove it "
        "in Karmo or its access provider if it must go. If another resource or stack "
        "declares it now (a rename without aliases, a replace, an organization moved to "
        "another shard), its permissions are gone although its state lists them: run "
        "`pulumi up --refresh` there with karmo:workosApiKey set, which sets them again."
    ) in capsys.readouterr().err


def test_clear_permissions_on_delete_alone_is_an_update_that_sends_nothing(
    provider: OrganizationRoleProvider, sandbox: SandboxServer
) -> None:
    created = provider.create({**ROLE, "permissions": ["a"]})
    assert created.outs is not None
    news = {**ROLE, "permissions": ["a"], CLEAR: True}
    diff = provider.diff(created.id, created.outs, news)
    assert (diff.changes, diff.replaces) == (True, [])
    sandbox.reset_requests()
    updated = provider.update(created.id, created.outs, news)
    assert api_calls(sandbox) == []
    assert updated.outs == {**created.outs, CLEAR: True}
    # The recorded value is what a later delete follows.
    provider.delete(created.id, updated.outs)
    assert sandbox.permissions(*KEY) == []


@pytest.mark.parametrize("clear", [None, False, True])
def test_delete_leaves_unmanaged_permissions(
    provider: OrganizationRoleProvider,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    clear: bool | None,
) -> None:
    created = provider.create({**ROLE, CLEAR: clear})
    assert created.outs is not None
    with KarmoClient(sandbox.url, TOKEN) as client:
        client.set_role_permissions(*KEY, ["kept"])
    sandbox.reset_requests()
    provider.delete(created.id, created.outs)
    assert api_calls(sandbox) == []
    assert sandbox.permissions(*KEY) == ["kept"]
    assert "cleared" not in capsys.readouterr().err


def test_delete_of_a_role_karmo_lost(
    provider: OrganizationRoleProvider,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Karmo no longer has the role: clearing its permissions answers 404 (the sandbox
    # holds no role), and the delete still succeeds: nothing is granted.
    gone = {**ROLE, "slug": "org-gone", "permissions": ["a"], CLEAR: True}
    provider.delete("org_1/org-gone", gone)
    assert api_calls(sandbox) == ["PUT /organizations/org_1/roles/org-gone/permissions"]
    assert sandbox.stats()["status_404"] == 1
    assert sandbox.roles() == {}
    assert "'org-gone'" in capsys.readouterr().err


# A resource renamed without `aliases` (or replaced create-before-delete) is created anew,
# then the old one is deleted: both declare the same role.
RENAMES = [
    pytest.param({}, ["a", "b"], id="default"),
    pytest.param({CLEAR: False}, ["a", "b"], id="clear_permissions_on_delete=False"),
    # The hazard the input documents: the old resource's delete undoes the new one's set.
    pytest.param({CLEAR: True}, [], id="clear_permissions_on_delete=True"),
]


@pytest.mark.parametrize(("extra", "left"), RENAMES)
def test_rename_without_alias(
    provider: OrganizationRoleProvider,
    sandbox: SandboxServer,
    extra: dict[str, Any],
    left: list[str],
) -> None:
    old = provider.create({**ROLE, "permissions": ["a"], **extra})
    new = provider.create({**ROLE, "permissions": ["a", "b"], **extra})
    assert old.outs is not None
    assert new.outs is not None
    provider.delete(old.id, old.outs)
    assert sandbox.permissions(*KEY) == left


def test_client_permissions_on_missing_role(sandbox: SandboxServer) -> None:
    with KarmoClient(sandbox.url, TOKEN, max_retries=0) as client:
        with pytest.raises(NotFoundError, match="404"):
            client.set_role_permissions("org_1", "org-none", ["a"])


# through the engine protocol ---------------------------------------------------------------


def test_permissions_through_the_engine(engine: ProviderProcess, sandbox: SandboxServer) -> None:
    _, failures = engine.check({**ROLE, "permissions": ["ok", "NOT OK"]})
    assert failures[0][0] == "permissions"
    assert "permissions[1] 'NOT OK'" in failures[0][1]
    _, failures = engine.check({**ROLE, "permissions": UNKNOWN})
    assert failures == []

    id_, outs = engine.create({**ROLE, "permissions": ["b", "a"]})
    assert outs["permissions"] == ["a", "b"]
    diff = engine.diff(id_, outs, {**ROLE, "permissions": ["a", "b", "b"]})
    assert diff.changes == "DIFF_NONE"
    diff = engine.diff(id_, outs, {**ROLE, "permissions": ["a"]})
    assert (diff.changes, diff.replaces) == ("DIFF_SOME", [])

    sandbox.reset_requests()
    outs = engine.update(id_, outs, {**ROLE, "permissions": ["a"]})
    assert api_calls(sandbox) == ["PUT /organizations/org_1/roles/org-ops/permissions"]
    assert sandbox.permissions(*KEY) == ["a"]

    sandbox.reset_requests()
    engine.delete(id_, outs)
    assert api_calls(sandbox) == []
    assert sandbox.permissions(*KEY) == ["a"]
    assert "remains in Karmo, and so do its permissions" in engine.stderr()


@pytest.mark.parametrize(("extra", "left"), RENAMES)
def test_rename_without_alias_through_the_engine(
    engine: ProviderProcess, sandbox: SandboxServer, extra: dict[str, Any], left: list[str]
) -> None:
    old_id, old = engine.create({**ROLE, "permissions": ["a"], **extra})
    engine.create({**ROLE, "permissions": ["a", "b"], **extra})
    engine.delete(old_id, old)
    assert sandbox.permissions(*KEY) == left


def test_clear_permissions_on_delete_through_the_engine(
    engine: ProviderProcess, sandbox: SandboxServer
) -> None:
    id_, outs = engine.create({**ROLE, "permissions": ["a"]})
    assert outs[CLEAR] is False
    news = {**ROLE, "permissions": ["a"], CLEAR: True}
    assert engine.diff(id_, outs, news).changes == "DIFF_SOME"
    sandbox.reset_requests()
    outs = engine.update(id_, outs, news)
    assert api_calls(sandbox) == []
    assert outs[CLEAR] is True
    engine.delete(id_, outs)
    assert sandbox.permissions(*KEY) == []
    assert "Pulumi cleared them: clear_permissions_on_delete is set" in engine.stderr()


def test_partial_failure_message_through_the_engine(
    engine: ProviderProcess, sandbox: SandboxServer
) -> None:
    sandbox.script({"status": 201, "body": {"id": "role_P"}}, {"status": 503, "body": "html"})
    with pytest.raises(EngineError) as caught:
        engine.create({**ROLE, "permissions": ["a"]})
    assert caught.value.message.startswith(
        "pulumi_karmo_roles.errors.PermissionsNotAppliedError: Karmo role 'org-ops'"
    )
