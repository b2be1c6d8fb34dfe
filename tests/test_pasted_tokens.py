"""A pasted token: surrounding whitespace is stripped, and a token with whitespace, control
or non-ASCII characters inside fails at configure time without being shown."""

from __future__ import annotations

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

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
