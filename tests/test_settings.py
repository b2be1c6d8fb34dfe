"""Settings from stack config, with KARMO_* variables as fallbacks."""

from __future__ import annotations

import pytest

from pulumi_karmo_roles._config import (
    check_settings,
    program_access_provider,
    resolve_access_provider,
    resolve_settings,
)
from pulumi_karmo_roles.errors import ConfigurationError, KarmoError
from tests.support.secrets import TOKEN

BASE = {"karmo:apiUrl": "https://karmo.example/auth-api/", "karmo:token": TOKEN}


def test_stack_config_and_defaults() -> None:
    settings = resolve_settings(BASE, {})
    assert settings.api_url == "https://karmo.example/auth-api"
    assert settings.token is not None
    assert settings.token.get_secret_value() == TOKEN
    assert (settings.timeout, settings.max_retries) == (30.0, 4)


def test_stack_config_wins_over_environment() -> None:
    env = {"KARMO_API_URL": "http://other", "KARMO_TOKEN": "other", "KARMO_TIMEOUT": "1"}
    settings = resolve_settings({**BASE, "karmo:timeout": "12.5"}, env)
    assert settings.api_url == "https://karmo.example/auth-api"
    assert settings.token is not None
    assert settings.token.get_secret_value() == TOKEN
    assert settings.timeout == 12.5


def test_environment_fills_missing_keys() -> None:
    env = {
        "KARMO_API_URL": "http://127.0.0.1:8787",
        "KARMO_TOKEN": TOKEN,
        "KARMO_TIMEOUT": "5",
        "KARMO_MAX_RETRIES": "0",
    }
    settings = resolve_settings({}, env)
    assert (settings.api_url, settings.timeout, settings.max_retries) == (
        "http://127.0.0.1:8787",
        5.0,
        0,
    )


def test_missing_url_and_token_name_both_ways_to_set_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({}, {})
    text = str(caught.value)
    for words in ("karmo:apiUrl", "KARMO_API_URL", "--secret karmo:token", "KARMO_TOKEN"):
        assert words in text
    assert isinstance(caught.value, KarmoError)


def test_missing_token_only() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({"karmo:apiUrl": "https://x"}, {})
    assert "KARMO_TOKEN" in str(caught.value)
    assert "KARMO_API_URL" not in str(caught.value)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"karmo:apiUrl": "karmo.example"}, "karmo:apiUrl must be an http(s) base URL"),
        ({"karmo:apiUrl": "ftp://karmo.example"}, "karmo:apiUrl must be"),
        (
            {"karmo:timeout": "soon"},
            "karmo:timeout must be a number of seconds from 0.001 to 600",
        ),
        ({"karmo:timeout": "0"}, "karmo:timeout must be a number of seconds from 0.001"),
        ({"karmo:timeout": "nan"}, "karmo:timeout must be a number of seconds from 0.001"),
        (
            {"karmo:timeout": "1e10"},
            "karmo:timeout must be a number of seconds from 0.001 to 600, got '1e10'",
        ),
        (
            {"karmo:retryDeadline": "7200"},
            "karmo:retryDeadline must be a number of seconds from 0.001 to 3600",
        ),
        ({"karmo:maxRetries": "21"}, "karmo:maxRetries must be a whole number from 0 to 20"),
        ({"karmo:maxRetries": "-1"}, "karmo:maxRetries must be a whole number"),
        ({"karmo:maxRetries": "2.5"}, "karmo:maxRetries must be a whole number"),
    ],
)
def test_invalid_values_are_named(config: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({**BASE, **config}, {})
    assert words in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_invalid_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="KARMO_MAX_RETRIES must be"):
        resolve_settings(BASE, {"KARMO_MAX_RETRIES": "many"})


def test_repr_hides_the_token() -> None:
    assert TOKEN not in repr(resolve_settings(BASE, {}))


def test_token_is_stripped_of_surrounding_whitespace() -> None:
    settings = resolve_settings({**BASE, "karmo:token": f"\n {TOKEN}\r\n"}, {})
    assert settings.token is not None
    assert settings.token.get_secret_value() == TOKEN


def test_token_with_inner_whitespace_is_refused_unseen() -> None:
    with pytest.raises(ConfigurationError, match="karmo:token holds whitespace") as caught:
        resolve_settings({**BASE, "karmo:token": "kt_live 7Qz9XbV2"}, {})
    assert "7Qz9XbV2" not in str(caught.value)


def test_defaults_have_one_home() -> None:
    from pulumi_karmo_roles._http.retry import (
        DEFAULT_MAX_RETRIES,
        DEFAULT_RETRY_DEADLINE,
        DEFAULT_TIMEOUT,
        RetryPolicy,
    )

    settings = resolve_settings(BASE, {})
    assert (settings.timeout, settings.max_retries, settings.retry_deadline) == (
        DEFAULT_TIMEOUT,
        DEFAULT_MAX_RETRIES,
        DEFAULT_RETRY_DEADLINE,
    )
    assert (RetryPolicy().max_retries, RetryPolicy().deadline) == (
        DEFAULT_MAX_RETRIES,
        DEFAULT_RETRY_DEADLINE,
    )


def test_a_blank_stack_value_falls_back_to_the_environment_in_both_checks() -> None:
    # configure() checks the token alone, resolve_settings() reads it: one lookup rule.
    stack = {**BASE, "karmo:token": " \n"}
    settings = resolve_settings(stack, {"KARMO_TOKEN": TOKEN})
    assert settings.token is not None
    assert settings.token.get_secret_value() == TOKEN
    check_settings(stack, {"KARMO_TOKEN": TOKEN})
    with pytest.raises(ConfigurationError, match="KARMO_TOKEN holds whitespace") as caught:
        check_settings(stack, {"KARMO_TOKEN": "kt_in side"})
    assert "in side" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("HTTPS_PROXY", "http://opsbot:pw1234@proxy:notaport", "its port is not a number"),
        ("https_proxy", "ftp://opsbot:pw1234@proxy:1", "its scheme must be one of http, https"),
        ("ALL_PROXY", "http://opsbot:pw1234@:8080", "it names no host"),
        ("HTTP_PROXY", "http://proxy:99999", "its port is not a number from 0 to 65535"),
    ],
)
def test_an_unusable_proxy_variable_is_named_without_its_credentials(
    variable: str, value: str, words: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_settings({}, {variable: value})
    text = str(caught.value)
    assert text.startswith(f"{variable} is not a usable proxy URL ({words}")
    assert "pw1234" not in text
    assert "opsbot" not in text


def test_usable_proxy_variables_pass() -> None:
    check_settings({}, {"HTTPS_PROXY": "http://user:pw@proxy.corp:3128", "NO_PROXY": "*"})
    check_settings({}, {"http_proxy": "proxy.corp:3128", "ALL_PROXY": "socks5://proxy:1080"})


def test_every_given_setting_is_checked_without_requiring_any() -> None:
    # What configure() checks: a preview has no URL or token and must still pass...
    check_settings({}, {})
    # ...and a malformed value fails it, whichever it is.
    for bad in (
        {"karmo:timeout": "1e10"},
        {"karmo:retryDeadline": "-1"},
        {"karmo:maxRetries": "x"},
        {"karmo:apiUrl": "https://karmo.example:port"},
        {"karmo:auth": "oauth"},
    ):
        with pytest.raises(ConfigurationError):
            check_settings(bad, {})


# karmo:accessProvider -------------------------------------------------------------------


def test_the_access_provider_defaults_to_workos() -> None:
    assert resolve_settings(BASE, {}).access_provider == "workos"
    assert resolve_access_provider({}, {}) == "workos"


@pytest.mark.parametrize(
    ("stack", "environ", "expected"),
    [
        ({"karmo:accessProvider": "generic"}, {}, "generic"),
        ({}, {"KARMO_ACCESS_PROVIDER": "generic"}, "generic"),
        ({"karmo:accessProvider": "workos"}, {"KARMO_ACCESS_PROVIDER": "generic"}, "workos"),
        ({"karmo:accessProvider": " "}, {"KARMO_ACCESS_PROVIDER": "generic"}, "generic"),
        ({"karmo:accessProvider": None}, {"KARMO_ACCESS_PROVIDER": ""}, "workos"),
    ],
)
def test_the_access_provider_from_stack_config_then_environment(
    stack: dict[str, str | None], environ: dict[str, str], expected: str
) -> None:
    assert resolve_access_provider(stack, environ) == expected
    assert resolve_settings({**BASE, **stack}, environ).access_provider == expected


def test_the_access_provider_is_read_without_credentials() -> None:
    # A preview resolves it alone: no apiUrl, no token, nothing else is looked at.
    assert resolve_access_provider({"karmo:accessProvider": "generic"}, {}) == "generic"
    with pytest.raises(ConfigurationError):
        resolve_settings({"karmo:accessProvider": "generic"}, {})


@pytest.mark.parametrize(
    ("stack", "environ", "source", "value"),
    [
        ({"karmo:accessProvider": "okta"}, {}, "karmo:accessProvider", "'okta'"),
        ({"karmo:accessProvider": "WorkOS"}, {}, "karmo:accessProvider", "'WorkOS'"),
        ({}, {"KARMO_ACCESS_PROVIDER": "auth0"}, "KARMO_ACCESS_PROVIDER", "'auth0'"),
    ],
)
def test_a_malformed_access_provider_is_one_clear_line(
    stack: dict[str, str], environ: dict[str, str], source: str, value: str
) -> None:
    for resolve in (resolve_access_provider, resolve_settings):
        with pytest.raises(ConfigurationError) as caught:
            resolve({**BASE, **stack}, environ)
        text = str(caught.value)
        assert text.startswith(f"{source} must be one of workos, generic, got {value}")
        assert "\n" not in text


def test_program_access_provider_reads_the_stack_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pulumi

    assert program_access_provider({}) == "workos"
    assert program_access_provider({"KARMO_ACCESS_PROVIDER": "generic"}) == "generic"
    pulumi.runtime.set_all_config({"karmo:accessProvider": "generic"})
    try:
        assert program_access_provider({}) == "generic"
        assert program_access_provider({"KARMO_ACCESS_PROVIDER": "workos"}) == "generic"
        pulumi.runtime.set_all_config({"karmo:accessProvider": "okta"})
        with pytest.raises(ConfigurationError, match="karmo:accessProvider must be one of"):
            program_access_provider({})
    finally:
        pulumi.runtime.set_all_config({})
    monkeypatch.setenv("KARMO_ACCESS_PROVIDER", "generic")
    assert program_access_provider() == "generic"  # os.environ by default


def test_program_access_provider_does_not_load_the_pulumi_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ['KARMO_ACCESS_PROVIDER'] = 'generic'; "
        "from pulumi_karmo_roles._config import program_access_provider as p; "
        "print(p(), 'pulumi' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["generic", "False"]
