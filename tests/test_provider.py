"""OrganizationRoleProvider called directly, in this process."""

from __future__ import annotations

import base64
import threading
from typing import Any

import dill
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import UNKNOWN, Unknown

from pulumi_karmo_roles._config import Settings
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles.errors import ConfigurationError, InputError, KarmoError, RateLimitError
from pulumi_karmo_roles.provider import OrganizationRoleProvider, build_session
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.concurrency import run_concurrently
from tests.support.diff_cases import DIFF_CASES
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN

VALID = {"organization_id": "org_123", "slug": "org-admin", "name": "Organization Admin"}
OUTPUTS = {
    **VALID,
    "permissions": None,
    "clear_permissions_on_delete": False,
    "role_id": "role_01HXYZ",
}


def configured(url: str) -> OrganizationRoleProvider:
    return configured_provider(url)


# check ------------------------------------------------------------------------------


def test_check_accepts_valid_inputs_and_drops_other_keys() -> None:
    result = OrganizationRoleProvider().check({}, {**VALID, "role_id": None, "__provider": "x"})
    assert result.failures == []
    assert result.inputs == VALID


@pytest.mark.parametrize(
    ("prop", "value", "words"),
    [
        ("slug", "admin", "must start with 'org-'"),
        ("slug", "org-", "got 'org-'"),
        ("slug", "org-Admin", "lowercase"),
        ("slug", "org-admin\n", "got 'org-admin\\n'"),
        ("slug", "org-a/b", "got 'org-a/b'"),
        ("slug", 42, "must be a string, got int 42"),
        ("slug", None, "slug is required"),
        ("name", "", "name must not be blank"),
        ("name", " \t ", "name must not be blank"),
        ("name", "\u200b\ufeff", "name must not be blank (it needs a visible character)"),
        ("name", "\u202eAdmin", "name must not contain the bidirectional control U+202E"),
        ("name", "x" * 49, "at most 48 characters (WorkOS's limit"),
        ("name", ["a"], "must be a string, got list"),
        ("name", None, "name is required"),
        ("organization_id", "", "must not be empty"),
        ("organization_id", "org/123", "must not contain '/'"),
        ("organization_id", "org 123", "must not contain whitespace"),
        ("organization_id", "org_123\t", "must not contain whitespace"),
        ("organization_id", None, "organization_id is required"),
        ("organization_id", "org\u2066_1", "must not contain the bidirectional control U+2066"),
        ("slug", "org-a\u200f", "slug must not contain the bidirectional control U+200F"),
        ("clear_permissions_on_delete", "true", "must be a bool (True or False), got str"),
        ("clear_permissions_on_delete", 1, "must be a bool (True or False), got int 1"),
    ],
)
def test_check_reports_each_broken_rule(prop: str, value: Any, words: str) -> None:
    result = OrganizationRoleProvider().check({}, {**VALID, prop: value})
    assert [f.property for f in result.failures] == [prop]
    assert words in result.failures[0].reason


def test_check_accepts_boundary_values() -> None:
    news = {"organization_id": "o", "slug": "org-a_b-9" + "c" * 39, "name": "x" * 48}
    assert len(news["slug"]) == 48
    assert OrganizationRoleProvider().check({}, news).failures == []
    generic = configured_provider(None, {"karmo:accessProvider": "generic"})
    news = {"organization_id": "o", "slug": "org-a_b-9" + "c" * 200, "name": "x" * 255}
    assert generic.check({}, news).failures == []


# the access provider's rules (karmo:accessProvider) ---------------------------------

WAY_OUT = "(WorkOS's limit; for another access provider, set `karmo:accessProvider generic`)"
SEPARATORS = (
    "slug must have no leading, trailing or consecutive separators ('-' or '_') after "
    "'org-' (WorkOS's rule; for another access provider, set `karmo:accessProvider generic`)"
)


def provider_for(access_provider: str | None) -> OrganizationRoleProvider:
    """A provider configured with only the access provider (or nothing): no credentials."""
    if access_provider is None:
        return OrganizationRoleProvider()
    return configured_provider(None, {"karmo:accessProvider": access_provider})


@pytest.mark.parametrize(
    ("prop", "value", "reason"),
    [
        ("name", "N" * 49, f"name must be at most 48 characters {WAY_OUT}, got 49: '{'N' * 49}'"),
        ("slug", "org-" + "a" * 45, f"slug must be at most 48 characters {WAY_OUT}, got 49: "
         f"'org-{'a' * 45}'"),
        ("slug", "org-admin-", f"{SEPARATORS}, got 'org-admin-' (trailing '-')"),
        ("slug", "org--admin", f"{SEPARATORS}, got 'org--admin' ('-' right after 'org-')"),
        ("slug", "org-_a", f"{SEPARATORS}, got 'org-_a' ('_' right after 'org-')"),
        ("slug", "org-a__b", f"{SEPARATORS}, got 'org-a__b' ('__' in a row)"),
        ("slug", "org-a-_b", f"{SEPARATORS}, got 'org-a-_b' ('-_' in a row)"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("access_provider", [None, "workos"])
def test_workos_limits_fail_check_naming_property_rule_value_and_way_out(
    access_provider: str | None, prop: str, value: str, reason: str
) -> None:
    result = provider_for(access_provider).check({}, {**VALID, prop: value})
    assert [(f.property, f.reason) for f in result.failures] == [(prop, reason)]


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("name", "N" * 49),
        ("name", "N" * 255),
        ("slug", "org-" + "a" * 45),
        ("slug", "org-admin-"),
        ("slug", "org--admin"),
        ("slug", "org-_a"),
        ("slug", "org-a__b"),
    ],
)
def test_generic_applies_karmos_rules_alone(prop: str, value: str) -> None:
    assert provider_for("generic").check({}, {**VALID, prop: value}).failures == []


def test_generic_keeps_karmos_own_limits() -> None:
    result = provider_for("generic").check({}, {**VALID, "name": "x" * 256, "slug": "org-A"})
    reasons = dict((f.property, f.reason) for f in result.failures)
    assert reasons["name"].startswith("name must be at most 255 characters, got 256: ")
    assert "WorkOS" not in reasons["name"]
    assert "^org-[a-z0-9_-]+$" in reasons["slug"]


@pytest.mark.parametrize("slug", ["org-a_b-c", "org-a", "org-0", "org-admin_2-x"])
def test_workos_accepts_single_separators_between_words(slug: str) -> None:
    assert provider_for("workos").check({}, {**VALID, "slug": slug}).failures == []


def test_the_access_provider_falls_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    long_name = {**VALID, "name": "N" * 49}
    monkeypatch.setenv("KARMO_ACCESS_PROVIDER", "generic")
    assert OrganizationRoleProvider().check({}, long_name).failures == []  # not configured
    assert configured_provider(None).check({}, long_name).failures == []  # not in the stack
    # The stack config wins over the environment.
    assert provider_for("workos").check({}, long_name).failures != []


@pytest.mark.parametrize("value", ["okta", "Generic", "workos,generic"])
def test_a_malformed_access_provider_fails_configure_in_one_line(value: str) -> None:
    provider = OrganizationRoleProvider()
    config = Config({"karmo:accessProvider": value}, "karmo-test")
    with pytest.raises(ConfigurationError) as caught:
        provider.configure(ConfigureRequest(config))
    assert str(caught.value) == (
        f"karmo:accessProvider must be one of workos, generic, got {value!r} (workos for "
        "Karmo's WorkOS mode, generic for any other access provider)."
    )


def test_a_malformed_access_provider_variable_fails_check_unconfigured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KARMO_ACCESS_PROVIDER", "okta")
    with pytest.raises(ConfigurationError, match=r"^KARMO_ACCESS_PROVIDER must be one of"):
        OrganizationRoleProvider().check({}, dict(VALID))


def test_create_holds_to_the_access_providers_rules_before_any_request(
    sandbox: SandboxServer,
) -> None:
    with pytest.raises(InputError, match="at most 48 characters"):
        configured(sandbox.url).create({**VALID, "name": "N" * 49})
    assert sandbox.stats().get("requests", 0) == 0


@pytest.mark.parametrize("flag", [True, False])
def test_check_accepts_clear_permissions_on_delete(flag: bool) -> None:
    result = OrganizationRoleProvider().check({}, {**VALID, "clear_permissions_on_delete": flag})
    assert result.failures == []
    assert result.inputs["clear_permissions_on_delete"] is flag


def test_check_reports_every_bad_property_at_once() -> None:
    result = OrganizationRoleProvider().check(
        {}, {"organization_id": "a b", "slug": "nope", "name": ""}
    )
    assert [f.property for f in result.failures] == ["organization_id", "slug", "name"]


def test_check_skips_unknown_values() -> None:
    news = {"organization_id": UNKNOWN, "slug": UNKNOWN, "name": UNKNOWN}
    result = OrganizationRoleProvider().check({}, news)
    assert result.failures == []
    assert all(isinstance(v, Unknown) for v in result.inputs.values())


# diff -------------------------------------------------------------------------------


@pytest.mark.parametrize(("olds", "news", "changes", "replaces"), DIFF_CASES)
def test_diff(
    olds: dict[str, Any], news: dict[str, Any], changes: bool, replaces: list[str]
) -> None:
    result = OrganizationRoleProvider().diff("org_123/org-admin", olds, news)
    assert result.changes is changes
    assert result.replaces == replaces
    assert result.delete_before_replace is False


# read -------------------------------------------------------------------------------


def test_refresh_returns_recorded_state() -> None:
    result = OrganizationRoleProvider().read("org_123/org-admin", {**OUTPUTS, "__provider": "p"})
    assert result.id == "org_123/org-admin"
    assert result.outs == OUTPUTS


def test_get_derives_keys_from_id() -> None:
    result = OrganizationRoleProvider().read("org_123/org-admin", {"name": "Admin"})
    assert result.outs == {
        "organization_id": "org_123",
        "slug": "org-admin",
        "name": "Admin",
        "permissions": None,
        "clear_permissions_on_delete": None,
        "role_id": None,
    }


@pytest.mark.parametrize(
    ("id_", "words"),
    [
        ("org-admin", "must be '<organization_id>/<slug>'"),
        ("org_123/Admin", "slug must start with 'org-'"),
        ("org 1/org-a", "organization_id must not contain whitespace"),
        ("/org-a", "organization_id must not be empty"),
        ("org_1/org-a/extra", "slug must start"),
    ],
)
def test_get_rejects_malformed_id(id_: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        OrganizationRoleProvider().read(id_, {})
    assert words in str(caught.value)
    assert repr(id_) in str(caught.value)


def test_get_rejects_id_that_contradicts_inputs() -> None:
    with pytest.raises(InputError, match=r"names slug 'org-admin'.*declared with slug 'org-x'"):
        OrganizationRoleProvider().read("org_123/org-admin", {"slug": "org-x"})


# create / update / delete -----------------------------------------------------------


def test_create_and_update_against_sandbox(sandbox: SandboxServer) -> None:
    provider = configured(sandbox.url)
    created = provider.create(dict(VALID))
    assert created.id == "org_123/org-admin"
    assert created.outs is not None
    role_id = created.outs["role_id"]
    assert created.outs == {**OUTPUTS, "role_id": role_id}
    updated = provider.update(created.id, created.outs, {**VALID, "name": "Admins"})
    assert updated.outs == {**OUTPUTS, "name": "Admins", "role_id": role_id}
    assert sandbox.roles() == {("org_123", "org-admin"): (role_id, "Admins")}


def test_create_adopts_an_existing_role(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = configured(sandbox.url)
    first = provider.create(dict(VALID))
    assert first.outs is not None
    again = configured(sandbox.url).create({**VALID, "name": "Renamed"})
    assert again.outs is not None
    assert again.outs["role_id"] == first.outs["role_id"]
    assert "already existed" in capsys.readouterr().err


def test_create_refuses_invalid_inputs_before_any_request(sandbox: SandboxServer) -> None:
    # An unknown that reaches create arrives as None: it must not be sent.
    with pytest.raises(InputError, match="name is required"):
        configured(sandbox.url).create({**VALID, "name": None})
    assert sandbox.stats().get("requests", 0) == 0


def test_missing_settings_fail_before_any_request(sandbox: SandboxServer) -> None:
    provider = OrganizationRoleProvider()
    provider.configure(ConfigureRequest(Config({}, "karmo-test")))
    with pytest.raises(ConfigurationError, match=r"KARMO_API_URL.*KARMO_TOKEN"):
        provider.create(dict(VALID))
    assert sandbox.stats().get("requests", 0) == 0


def test_environment_fallback(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARMO_API_URL", sandbox.url)
    monkeypatch.setenv("KARMO_TOKEN", TOKEN)
    provider = configured_provider(None, {"karmo:token": ""})
    assert provider.create(dict(VALID)).id == "org_123/org-admin"


DELETE_WARNING = (
    "warning: Karmo has no delete operation: role 'org-admin' in organization 'org_123' "
    "remains in Karmo, and so do its permissions. Pulumi no longer manages it. To revoke "
    "its permissions, declare it with permissions=[], run `pulumi up`, then remove the "
    "resource; to remove the role itself, use Karmo or its access provider."
)


@pytest.mark.parametrize("permissions", [None, ["a", "b"]])
def test_delete_warns_and_sends_nothing(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], permissions: list[str] | None
) -> None:
    outputs = {**OUTPUTS, "permissions": permissions}
    configured(sandbox.url).delete("org_123/org-admin", outputs)
    assert DELETE_WARNING in capsys.readouterr().err
    assert sandbox.stats().get("requests", 0) == 0


@pytest.mark.parametrize("permissions", [None, ["a", "b"]])
def test_delete_needs_no_credentials(
    capsys: pytest.CaptureFixture[str], permissions: list[str] | None
) -> None:
    # Never configured: a destroy after the token was revoked still forgets the role.
    outputs = {**OUTPUTS, "permissions": permissions}
    OrganizationRoleProvider().delete("org_123/org-admin", outputs)
    assert DELETE_WARNING in capsys.readouterr().err


# serialization and threads ----------------------------------------------------------


def test_pickle_holds_no_settings_even_after_configure(sandbox: SandboxServer) -> None:
    provider = configured(sandbox.url)
    provider.create(dict(VALID))  # builds the client too
    raw = base64.b64decode(serialize_provider(provider))
    assert TOKEN.encode() not in raw
    assert sandbox.url.encode() not in raw
    assert b"pulumi_karmo_roles.provider" in raw  # by reference, not by value
    assert len(raw) < 200
    clone = dill.loads(raw)
    assert isinstance(clone, OrganizationRoleProvider)
    assert clone.check({}, dict(VALID)).failures == []


def test_unconfigured_and_configured_pickles_are_identical(sandbox: SandboxServer) -> None:
    # The engine caches one provider instance per pickle string: it must not vary.
    assert serialize_provider(OrganizationRoleProvider()) == serialize_provider(
        configured(sandbox.url)
    )


def test_lazy_client_is_built_once_under_concurrency(sandbox: SandboxServer) -> None:
    built: list[Session] = []
    entered = threading.Semaphore(0)

    def slow_factory(settings: Settings) -> Session:
        # Hold the first construction open until every thread has begun its create:
        # without the lock, the others would build sessions of their own.
        for _ in range(8):
            assert entered.acquire(timeout=30)
        built.append(build_session(settings))
        return built[-1]

    def create(i: int) -> None:
        entered.release()
        provider.create({**VALID, "slug": f"org-t{i}"})

    provider = configured(sandbox.url)
    provider.set_session_factory(slow_factory)
    errors = run_concurrently(create, 8)
    assert errors == []
    assert len(built) == 1
    assert len(sandbox.roles()) == 8
    assert sandbox.stats()["connections"] <= 8


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_both_requests_of_a_create_share_one_deadline(sandbox: SandboxServer) -> None:
    time_ = FakeTime()

    def factory(settings: Settings) -> Session:
        return Session(
            retry_policy=RetryPolicy(max_retries=5, deadline=3.0),
            sleep=time_.sleep,
            clock=time_.clock,
        )

    provider = configured_provider(sandbox.url)
    provider.set_session_factory(factory)
    # The upsert waits 2 s, then the permissions request would wait 2 s more: 4 > 3.
    sandbox.script(
        {"status": 429, "retry_after": "2"},
        {"action": "pass"},
        {"status": 429, "retry_after": "2"},
    )
    with pytest.raises(KarmoError) as caught:
        provider.create({**VALID, "permissions": ["a:b"]})
    assert isinstance(caught.value.__cause__, RateLimitError)
    assert "would pass the 3 s retry deadline" in str(caught.value)
    # Alone, each request fits its own deadline.
    time_.now = 0.0
    sandbox.script({"status": 429, "retry_after": "2"})
    assert provider.create(dict(VALID)).outs is not None
