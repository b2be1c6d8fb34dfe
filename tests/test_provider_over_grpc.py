"""The provider through ``python -m pulumi.dynamic`` over gRPC: the path ``pulumi up``
takes (dill, configure() with stack config, unknowns, exceptions as the user's text)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pulumi_karmo_roles.errors import APIStatusError
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.diff_cases import DIFF_CASES, for_engine
from tests.support.harness import UNKNOWN, EngineError, ProviderProcess
from tests.support.secrets import TOKEN
from tests.support.tables import STATUS_TABLE, verb

VALID = {"organization_id": "org_123", "slug": "org-admin", "name": "Organization Admin"}


def test_serialized_provider_holds_no_token(engine: ProviderProcess) -> None:
    raw = base64.b64decode(engine.provider)
    assert TOKEN.encode() not in raw
    assert b"pulumi_karmo_roles.provider" in raw


# check ------------------------------------------------------------------------------


def test_check_valid(engine: ProviderProcess) -> None:
    inputs, failures = engine.check(VALID)
    assert failures == []
    assert inputs == VALID


def test_check_failures_name_property_rule_and_value(engine: ProviderProcess) -> None:
    _, failures = engine.check({"organization_id": "org/1", "slug": "Admin", "name": " "})
    assert [p for p, _ in failures] == ["organization_id", "slug", "name"]
    reasons = dict(failures)
    assert "must not contain '/'" in reasons["organization_id"]
    assert "'org/1'" in reasons["organization_id"]
    assert "^org-[a-z0-9_-]+$" in reasons["slug"]
    assert "'Admin'" in reasons["slug"]
    assert "must not be blank" in reasons["name"]


def test_check_refuses_invisible_and_bidi_text(engine: ProviderProcess) -> None:
    news = {"organization_id": "org\u202e1", "slug": "org-a", "name": "\u200b\u2060"}
    _, failures = engine.check({**news, "clear_permissions_on_delete": "yes"})
    reasons = dict(failures)
    assert list(reasons) == ["organization_id", "name", "clear_permissions_on_delete"]
    assert "must not contain the bidirectional control U+202E" in reasons["organization_id"]
    assert "name must not be blank (it needs a visible character)" in reasons["name"]
    assert "must be a bool" in reasons["clear_permissions_on_delete"]


def test_check_ignores_unknowns_in_preview(engine: ProviderProcess) -> None:
    inputs, failures = engine.check({"organization_id": UNKNOWN, "slug": "org-a", "name": UNKNOWN})
    assert failures == []
    # Unknowns go back to the engine as unknowns.
    assert type(inputs["organization_id"]).__name__ == "Unknown"
    assert inputs["slug"] == "org-a"


def test_check_validates_known_values_next_to_unknowns(engine: ProviderProcess) -> None:
    _, failures = engine.check({"organization_id": UNKNOWN, "slug": "bad", "name": "A"})
    assert [p for p, _ in failures] == ["slug"]


def test_check_needs_no_credentials(sandbox: SandboxServer) -> None:
    process = ProviderProcess()  # never configured: a preview without Karmo credentials
    try:
        _, failures = process.check(VALID)
        assert failures == []
        diff = process.diff("org_123/org-admin", {**VALID, "role_id": "r"}, VALID)
        assert diff.changes == "DIFF_NONE"
    finally:
        process.close()


# the access provider's rules, configured as the engine does --------------------------

WAY_OUT = "for another access provider, set `karmo:accessProvider generic`"


@pytest.fixture(scope="module", params=["workos", "generic", "unset"])
def previewing(request: pytest.FixtureRequest) -> Iterator[tuple[str, ProviderProcess]]:
    """A provider process configured as a preview without credentials: the access
    provider alone in the stack config (or nothing)."""
    process = ProviderProcess()
    mode = str(request.param)
    process.configure({} if mode == "unset" else {"karmo:accessProvider": mode})
    yield ("workos" if mode == "unset" else mode), process
    process.close()


def test_check_applies_the_configured_access_providers_rules(
    previewing: tuple[str, ProviderProcess],
) -> None:
    mode, process = previewing
    _, failures = process.check({**VALID, "name": "N" * 48, "slug": "org-a_b-c"})
    assert failures == []
    _, failures = process.check({**VALID, "name": "N" * 49, "slug": "org-admin-"})
    if mode == "generic":
        assert failures == []
        return
    reasons = dict(failures)
    assert list(reasons) == ["slug", "name"]
    assert reasons["name"] == (
        f"name must be at most 48 characters (WorkOS's limit; {WAY_OUT}), got 49: '{'N' * 49}'"
    )
    assert reasons["slug"].startswith("slug must have no leading, trailing or consecutive")
    assert f"(WorkOS's rule; {WAY_OUT}), got 'org-admin-' (trailing '-')" in reasons["slug"]


def test_the_access_provider_variable_reaches_the_provider_process() -> None:
    with ProviderProcess(env={"KARMO_ACCESS_PROVIDER": "generic"}) as process:
        process.configure({"other:key": "ignored"})
        assert process.check({**VALID, "name": "N" * 49})[1] == []


def test_a_malformed_access_provider_fails_the_preview_in_one_line() -> None:
    with ProviderProcess() as process:
        # The process configures the provider on its first operation: the check.
        process.configure({"karmo:accessProvider": "okta"})
        with pytest.raises(EngineError) as caught:
            process.check(VALID)
        assert caught.value.message == (
            "pulumi_karmo_roles.errors.ConfigurationError: karmo:accessProvider must be one "
            "of workos, generic, got 'okta' (workos for Karmo's WorkOS mode, generic for any "
            "other access provider)."
        )


# diff -------------------------------------------------------------------------------


@pytest.mark.parametrize(("olds", "news", "changes", "replaces"), DIFF_CASES)
def test_diff(
    shared_engine: ProviderProcess,
    olds: dict[str, Any],
    news: dict[str, Any],
    changes: bool,
    replaces: list[str],
) -> None:
    diff = shared_engine.diff("org_123/org-admin", for_engine(olds), for_engine(news))
    expected = ("DIFF_SOME" if changes else "DIFF_NONE", replaces, False)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == expected


# create / update / read / delete ----------------------------------------------------


def test_lifecycle(engine: ProviderProcess, sandbox: SandboxServer) -> None:
    id_, outs = engine.create(VALID)
    assert id_ == "org_123/org-admin"
    role_id = outs.pop("role_id")
    assert role_id.startswith("role_01")
    assert outs.pop("__provider") == engine.provider
    assert outs == {**VALID, "clear_permissions_on_delete": False}

    outs = engine.update(id_, {**VALID, "role_id": role_id}, {**VALID, "name": "Admins"})
    outs.pop("__provider")
    assert outs == {
        **VALID,
        "name": "Admins",
        "clear_permissions_on_delete": False,
        "role_id": role_id,
    }
    assert sandbox.roles() == {("org_123", "org-admin"): (role_id, "Admins")}

    # refresh: the recorded state, unchanged, with no request to Karmo
    before = sandbox.stats()["requests"]
    read_id, read_outs = engine.read(id_, properties=outs)
    read_outs.pop("__provider")
    assert (read_id, read_outs) == (id_, outs)

    engine.delete(id_, outs)
    assert sandbox.stats()["requests"] == before
    assert sandbox.roles() == {("org_123", "org-admin"): (role_id, "Admins")}
    assert (
        "warning: Karmo has no delete operation: role 'org-admin' in organization "
        "'org_123' remains in Karmo, and so do its permissions." in engine.stderr()
    )


def test_create_converges_when_rerun(engine: ProviderProcess, sandbox: SandboxServer) -> None:
    # A create whose answer never reached the state is simply run again.
    _, first = engine.create(VALID)
    _, second = engine.create(VALID)
    assert first["role_id"] == second["role_id"]
    assert len(sandbox.roles()) == 1
    assert "already existed" in engine.stderr()


def test_get_reads_from_id_and_inputs(engine: ProviderProcess) -> None:
    id_, outs = engine.read("org_123/org-admin", inputs={"name": "Organization Admin"})
    outs.pop("__provider")
    assert id_ == "org_123/org-admin"
    assert outs == VALID  # role_id stays unknown: Karmo has no read endpoint


def test_get_rejects_malformed_id(engine: ProviderProcess) -> None:
    with pytest.raises(EngineError) as caught:
        engine.read("org-admin", inputs={})
    assert caught.value.message == (
        "pulumi_karmo_roles.errors.InputError: OrganizationRole id must be "
        "'<organization_id>/<slug>', e.g. 'org_123/org-admin', got 'org-admin'"
    )


def test_import_cannot_reach_the_provider(engine: ProviderProcess) -> None:
    # `pulumi import` / `import_` send only the id: no serialized provider to run
    # (pulumi/pulumi#16175). The README documents adoption instead; if a future SDK
    # fixes this, this test fails and the README must change.
    with pytest.raises(EngineError) as caught:
        engine.read("org_123/org-admin")
    assert caught.value.message == "KeyError: '__provider'"


# errors and retries -----------------------------------------------------------------


@pytest.mark.parametrize(("status", "cls", "advice", "retried"), STATUS_TABLE)
def test_each_error_status_reaches_the_user(
    shared_engine: ProviderProcess,
    sandbox: SandboxServer,
    status: int,
    cls: type[APIStatusError],
    advice: str,
    retried: bool,
) -> None:
    sandbox.script(
        {
            "status": status,
            "code": f"{status}00001",
            "message": "Karmo says no",
            "errors": [{"pointer": "/name", "detail": "bad name"}],
        }
    )
    with pytest.raises(EngineError) as caught:
        shared_engine.create(VALID)
    message = caught.value.message
    assert message.startswith(f"pulumi_karmo_roles.errors.{cls.__name__}: Karmo {verb(status)} ")
    assert f"PUT /organizations/org_123/roles/org-admin: {status} " in message
    assert f"(code {status}00001): Karmo says no; /name: bad name." in message
    assert advice in message
    assert TOKEN not in caught.value.details


def test_retries_through_the_engine(sandbox: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
        sandbox.script(
            {"status": 429, "retry_after": "0"},
            {"action": "drop"},  # no Retry-After: the backoff (about 1 s) is really slept
            {"status": 503, "body": "html", "retry_after": "0"},
        )
        _, outs = process.create(VALID)
        assert outs["role_id"].startswith("role_01")
        assert sandbox.stats()["requests"] == 4


def test_max_retries_from_stack_config(sandbox: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure(
            {"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN, "karmo:maxRetries": "1"}
        )
        sandbox.set_faults(rate_limit_share=1.0, retry_after="0")
        with pytest.raises(EngineError, match="after 2 attempts"):
            process.create(VALID)
        assert sandbox.stats()["requests"] == 2


def test_missing_config_fails_before_any_request(sandbox: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": sandbox.url})
        with pytest.raises(EngineError) as caught:
            process.create(VALID)
        assert caught.value.message.startswith("pulumi_karmo_roles.errors.ConfigurationError:")
        assert "pulumi config set --secret karmo:token" in caught.value.message
        assert "KARMO_TOKEN" in caught.value.message
        assert sandbox.stats().get("requests", 0) == 0


def test_environment_fallback_in_the_provider_process(sandbox: SandboxServer) -> None:
    with ProviderProcess(env={"KARMO_API_URL": sandbox.url, "KARMO_TOKEN": TOKEN}) as process:
        process.configure({"other:key": "ignored"})
        id_, _ = process.create(VALID)
        assert id_ == "org_123/org-admin"


@pytest.fixture
def wide_engine(sandbox: SandboxServer) -> Iterator[ProviderProcess]:
    process = ProviderProcess()
    process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN})
    yield process
    process.close()


def test_concurrent_operations_share_one_client(
    wide_engine: ProviderProcess, sandbox: SandboxServer
) -> None:
    # The server runs four operations at once on one provider instance.
    lock = threading.Lock()
    ids: list[str] = []

    def create(i: int) -> None:
        id_, _ = wide_engine.create({**VALID, "slug": f"org-r{i}"})
        with lock:
            ids.append(id_)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(40)))
    assert len(ids) == len(set(ids)) == 40
    assert len(sandbox.roles()) == 40
    assert sandbox.stats()["requests"] == 40
    assert sandbox.stats()["connections"] <= 4  # keep-alive, one pool


def test_token_never_in_outputs_or_stderr(engine: ProviderProcess, sandbox: SandboxServer) -> None:
    _, outs = engine.create(VALID)
    assert TOKEN not in repr(outs)
    sandbox.script({"status": 401})
    with pytest.raises(EngineError) as caught:
        engine.create(VALID)
    assert TOKEN not in caught.value.details
    assert TOKEN not in engine.stderr()
