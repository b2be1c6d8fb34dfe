"""A pasted token: surrounding whitespace is stripped, and a token with whitespace, control
or non-ASCII characters inside fails at configure time without being shown."""

from __future__ import annotations

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from pulumi_karmo_roles._config import check_settings, read_settings
from pulumi_karmo_roles.errors import (
    ConfigurationError,
)
from pulumi_karmo_roles.provider import OrganizationRoleProvider
from pulumi_karmo_roles.sandbox import SandboxServer
from tests.support.harness import EngineError, ProviderProcess
from tests.support.providers import configured_provider
from tests.support.secrets import TOKEN

VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}


@pytest.mark.parametrize("pasted", [TOKEN + "\n", f"  {TOKEN}\r\n", f"\t{TOKEN} "])
def test_token_with_surrounding_whitespace_is_stripped(sandbox: SandboxServer, pasted: str) -> None:
    provider = configured_provider(sandbox.url, {"karmo:token": pasted})
    assert provider.create(dict(VALID)).id == "org_1/org-a"


BAD_TOKENS = [
    "kt_live abc123",  # a space
    "kt_live\nabc123",  # a newline inside
    "kt_live\x00abc123",  # NUL
    "kt_live_äbc123",  # non-ASCII
    "kt_live_\u200babc",  # zero-width space
]


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_token_with_inner_whitespace_or_non_ascii_fails_at_configure(bad: str) -> None:
    provider = OrganizationRoleProvider()
    config = {"karmo:apiUrl": "http://127.0.0.1:9", "karmo:token": bad}
    with pytest.raises(ConfigurationError) as caught:
        provider.configure(ConfigureRequest(Config(config, "x")))
    text = str(caught.value)
    assert "karmo:token" in text
    assert "printable ASCII without spaces" in text
    for part in ("kt_live", "abc"):
        assert part not in text


def test_bad_token_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KARMO_TOKEN", "kt_live\nabc123")
    with pytest.raises(ConfigurationError, match="KARMO_TOKEN holds whitespace") as caught:
        OrganizationRoleProvider().configure(ConfigureRequest(Config({}, "x")))
    assert "abc123" not in str(caught.value)


def test_bad_token_through_the_engine(sandbox: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN + "\x00x"})
        with pytest.raises(EngineError) as caught:
            process.check(VALID)
        assert "ConfigurationError: karmo:token holds a control character" in caught.value.details
        assert TOKEN not in caught.value.details
        assert TOKEN not in process.stderr()
        assert sandbox.stats().get("requests", 0) == 0


def test_a_pasted_token_through_the_engine(sandbox: SandboxServer) -> None:
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN + "\n"})
        assert process.create(VALID)[0] == "org_1/org-a"
        assert TOKEN not in process.stderr()


SHORT = ["t", "abc", "1234567"]  # shorter than TOKEN_MIN_LENGTH (8)


@pytest.mark.parametrize("key", ["karmo:token", "karmo:workosApiKey"])
@pytest.mark.parametrize("short", SHORT)
def test_a_credential_too_short_to_redact_fails_at_configure(key: str, short: str) -> None:
    # With the token "t", redaction turned a 422 into "Reques*** valida***ion failed":
    # a credential that short cannot be told apart from ordinary text.
    config = {"karmo:apiUrl": "http://127.0.0.1:9", "karmo:token": TOKEN, key: short + "\n"}
    with pytest.raises(ConfigurationError) as caught:
        OrganizationRoleProvider().configure(ConfigureRequest(Config(config, "x")))
    text = str(caught.value)
    assert text.startswith(f"{key} is shorter than 8 characters: too short to tell apart")
    assert "\n" not in text
    assert f"`pulumi config set --secret {key} <value>`" in text
    with pytest.raises(ConfigurationError, match=f"^{key} is shorter than 8"):
        check_settings({key: short}, {})  # a preview, which needs no credentials


def test_a_short_credential_from_the_environment_names_the_variable() -> None:
    for variable in ("KARMO_TOKEN", "WORKOS_API_KEY"):
        with pytest.raises(ConfigurationError, match=f"^{variable} is shorter than 8"):
            check_settings({}, {variable: "short"})


def test_eight_characters_are_enough() -> None:
    settings = read_settings({"karmo:token": "12345678", "karmo:workosApiKey": "sk_12345"}, {})
    assert settings.token is not None
    assert settings.token.get_secret_value() == "12345678"


@pytest.mark.parametrize("key", ["karmo:token", "karmo:workosApiKey"])
def test_a_short_credential_through_the_engine(sandbox: SandboxServer, key: str) -> None:
    with ProviderProcess() as process:
        process.configure({"karmo:apiUrl": sandbox.url, "karmo:token": TOKEN, key: "t"})
        with pytest.raises(EngineError) as caught:
            process.check(VALID)
        assert f"ConfigurationError: {key} is shorter than 8 characters" in caught.value.details
        assert sandbox.stats().get("requests", 0) == 0
