"""The rules of the settings that are not credentials: the two API URLs (https, or http to
this machine only; no userinfo; nothing unprintable; bounded; a real port), the numbers
of seconds (a floor of 1 ms) and the AWS region. Each broken rule is one line that names
the setting, holds at most 5,000 characters and never shows a URL's password, directly
and where it fails a preview: in the provider process."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_karmo_roles._config import (
    CONFIG_KEYS,
    check_settings,
    read_settings,
    resolve_settings,
)
from pulumi_karmo_roles._http.failures import shown_url
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles._http.workos import WorkOSReader
from pulumi_karmo_roles.errors import ConfigurationError, KarmoError
from tests.support.harness import EngineError, ProviderProcess
from tests.support.secrets import TOKEN, WORKOS_KEY

URL_SETTINGS = [
    ("karmo:apiUrl", "KARMO_API_URL"),
    ("karmo:workosApiUrl", "WORKOS_API_URL"),
]
MAX_MESSAGE = 5000  # docs/reliability.md: what an error may hold
PASSWORD = "Hunter2Secret"


def refused(key: str, value: str, environ: dict[str, str] | None = None) -> str:
    """The message that checking ``{key: value}`` fails with, held to the rules every
    settings message follows."""
    stack = {key: value} if key.startswith("karmo:") else {}
    env = {key: value} if not key.startswith("karmo:") else {}
    with pytest.raises(ConfigurationError) as caught:
        check_settings(stack, {**env, **(environ or {})})
    text = str(caught.value)
    assert text.startswith(f"{key} "), text
    assert text.isprintable(), repr(text)  # one line: no newline, no ESC, no bidi control
    assert len(text) <= MAX_MESSAGE
    assert PASSWORD not in text
    return text


@pytest.mark.parametrize(("key", "variable"), URL_SETTINGS)
@pytest.mark.parametrize(
    "url",
    [
        "http://api.workos.com",
        "http://karmo.example.com/auth-api",
        "http://10.0.0.8:8080",
        "http://[2001:db8::1]/",
        "http://localhost.evil.example",
        "http://[::ffff:10.0.0.8]/",
    ],
)
def test_plain_http_to_another_host_is_refused(key: str, variable: str, url: str) -> None:
    for source in (key, variable):
        text = refused(source, url)
        assert text == (
            f"{source} must use https:// (http:// only for a loopback host, 127.0.0.0/8, ::1 "
            "or localhost: the credential would travel in clear text), got " + repr(url) + "."
        )


@pytest.mark.parametrize(("key", "variable"), URL_SETTINGS)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8787",
        "http://127.5.6.7/prefix",
        "http://[::1]:9000",
        "http://[::ffff:127.0.0.1]:9000",  # IPv4-mapped: Python before 3.13 says not loopback
        "http://localhost:3000/api",
        "http://LOCALHOST",
        "https://api.workos.com",
        "https://karmo.example.com:8443/auth-api/",
    ],
)
def test_https_anywhere_and_http_to_this_machine_pass(key: str, variable: str, url: str) -> None:
    check_settings({key: url}, {})
    check_settings({}, {variable: url})


@pytest.mark.parametrize(("key", "variable"), URL_SETTINGS)
@pytest.mark.parametrize(
    "url",
    [
        f"http://admin:{PASSWORD}@127.0.0.1:9",
        f"https://admin:{PASSWORD}@api.workos.com",
        f"https://{PASSWORD}@api.workos.com/x",
        f"http://admin:{PASSWORD}@api.workos.com",  # userinfo is named before plain http
    ],
)
def test_userinfo_is_refused_without_showing_it(key: str, variable: str, url: str) -> None:
    for source in (key, variable):
        text = refused(source, url)
        assert text.startswith(
            f"{source} must not carry a user name or password (`user:password@`): the "
            "credential travels in a header, never in the URL, got '"
        )
        assert "admin" not in text
        assert "***@" in text


@pytest.mark.parametrize(("key", "variable"), URL_SETTINGS)
@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\x1b", "U+001B"),
        ("\x07", "U+0007"),
        ("\n", "U+000A"),
        ("\t", "U+0009"),
        (" ", "U+0020"),
        ("\u202e", "U+202E"),
        ("\u200e", "U+200E"),
        ("\u2066", "U+2066"),
        ("\x00", "U+0000"),
        ("\u2028", "U+2028"),
    ],
)
def test_unprintable_characters_in_a_url_are_refused(
    key: str, variable: str, char: str, code: str
) -> None:
    url = f"https://api.workos.com/p{char}ath"
    for source in (key, variable):
        text = refused(source, url)
        assert text.startswith(
            f"{source} must not contain whitespace, control or format characters (it holds {code})"
        )


@pytest.mark.parametrize(("key", "variable"), URL_SETTINGS)
def test_a_url_of_20000_characters_is_refused_in_a_short_line(key: str, variable: str) -> None:
    url = "https://api.workos.com/" + "a" * 20_000
    text = refused(key, url)
    assert text.startswith(f"{key} must be at most 1000 characters, not 20023, got 'https://")
    assert len(text) < 300
    check_settings({key: "https://api.workos.com/" + "a" * 977}, {})  # 1000 exactly


@pytest.mark.parametrize(("key", "variable"), URL_SETTINGS)
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://api.workos.com:0", "must not name port 0"),
        ("https://api.workos.com:65536", "its port is not a number from 1 to 65535"),
        ("https://api.workos.com:-1", "its port is not a number from 1 to 65535"),
        ("https://api.workos.com?x=1", "must be an http(s) base URL"),
        ("ftp://api.workos.com", "must be an http(s) base URL"),
    ],
)
def test_a_url_with_an_unusable_port_or_shape_is_refused(
    key: str, variable: str, url: str, words: str
) -> None:
    assert words in refused(key, url)


@pytest.mark.parametrize("key", ["karmo:timeout", "karmo:retryDeadline"])
@pytest.mark.parametrize("value", ["5e-324", "0.0009", "1e-300", "0", "-0.0", "-1", "inf"])
def test_absurdly_small_seconds_are_refused(key: str, value: str) -> None:
    most = "600" if key == "karmo:timeout" else "3600"
    assert refused(key, value) == (
        f"{key} must be a number of seconds from 0.001 to {most}, got {value!r}."
    )


@pytest.mark.parametrize("key", ["karmo:timeout", "karmo:retryDeadline"])
def test_one_millisecond_is_the_floor(key: str) -> None:
    check_settings({key: "0.001"}, {})
    check_settings({key: "1e-3"}, {})


@pytest.mark.parametrize(
    "region", ["eu-west-1", "us-east-1", "ap-southeast-2", "us-gov-west-1", "il-central-1"]
)
def test_aws_regions_pass(region: str) -> None:
    settings = read_settings({"karmo:auth": "aws-sigv4", "karmo:awsRegion": region}, {})
    assert settings.aws_region == region
    check_settings({"karmo:auth": "aws-sigv4"}, {"AWS_REGION": region})


@pytest.mark.parametrize(
    "region",
    ["eu-west-1\x00", "\x1b[2Jeu-west-1", "eu-west-1\n", "EU-WEST-1", "eu-west", "x" * 100_000,
     "eu-west-1\u202e", "eu_west_1", "../../etc"],
)  # fmt: skip
def test_a_malformed_aws_region_is_refused(region: str) -> None:
    text = refused("karmo:awsRegion", region)
    assert text.startswith(
        "karmo:awsRegion must be an AWS region such as eu-west-1 (lowercase letters, hyphens "
        "and a number), got '"
    )
    assert len(text) < 300
    text = refused("AWS_REGION", region, {"KARMO_AUTH": "aws-sigv4"})
    assert text.startswith("AWS_REGION must be an AWS region such as eu-west-1")


def test_aws_region_from_the_environment_is_left_alone_unless_it_is_used() -> None:
    # AWS_REGION belongs to every AWS tool; with token auth the provider never reads it.
    check_settings({}, {"AWS_REGION": "not a region"})


HOSTILE = "\x1b[2J\x07\n\t\u202e" + "https://x/" + "A" * 20_000


@pytest.mark.parametrize(
    "key",
    [
        "karmo:apiUrl",
        "karmo:workosApiUrl",
        "karmo:timeout",
        "karmo:retryDeadline",
        "karmo:maxRetries",
        "karmo:auth",
        "karmo:awsRegion",
        "karmo:accessProvider",
        "KARMO_API_URL",
        "WORKOS_API_URL",
        "KARMO_TIMEOUT",
        "AWS_REGION",
        "HTTPS_PROXY",
    ],
)
def test_every_settings_message_is_one_bounded_line(key: str) -> None:
    environ = {"KARMO_AUTH": "aws-sigv4"} if key == "AWS_REGION" else {}
    text = refused(key, HOSTILE, environ)
    assert len(text) < 400


def test_clients_refuse_a_url_with_userinfo_and_never_quote_it() -> None:
    url = f"http://admin:{PASSWORD}@127.0.0.1:9"
    with pytest.raises(ConfigurationError) as caught:
        KarmoClient(url, TOKEN)
    assert str(caught.value) == (
        "The Karmo API URL must not carry a user name or password (`user:password@`): the "
        "credential travels in a header."
    )
    with Session() as session, pytest.raises(ConfigurationError) as caught:
        WorkOSReader(url, WORKOS_KEY, session=session)
    assert PASSWORD not in str(caught.value)
    assert "The WorkOS API URL must not carry" in str(caught.value)


def test_resolve_settings_applies_the_same_rules() -> None:
    with pytest.raises(ConfigurationError, match="karmo:apiUrl must use https://"):
        resolve_settings({"karmo:apiUrl": "http://karmo.example", "karmo:token": TOKEN}, {})


# Through the provider process, where a malformed setting fails the preview ----------------

VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (
            {"karmo:workosApiUrl": "http://api.workos.com"},
            "karmo:workosApiUrl must use https:// (http:// only for a loopback host",
        ),
        (
            {"karmo:apiUrl": f"https://admin:{PASSWORD}@karmo.example"},
            "karmo:apiUrl must not carry a user name or password",
        ),
        ({"karmo:apiUrl": "https://karmo.example/\x1b[2J"}, "karmo:apiUrl must not contain"),
        ({"karmo:timeout": "5e-324"}, "karmo:timeout must be a number of seconds from 0.001"),
        ({"karmo:awsRegion": "eu-west-1\x00"}, "karmo:awsRegion must be an AWS region"),
        ({"karmo:workosApiUrl": "https://w.example:0"}, "karmo:workosApiUrl must not name port"),
    ],
)
def test_a_malformed_setting_fails_the_preview_in_one_line(
    config: dict[str, str], words: str
) -> None:
    with ProviderProcess() as process:
        process.configure(config)
        with pytest.raises(EngineError) as caught:
            process.check(VALID)
        message = caught.value.message
        assert message.startswith("pulumi_karmo_roles.errors.ConfigurationError: " + words)
        assert caught.value.details.strip() == message  # one line, no traceback
        assert PASSWORD not in caught.value.details
        assert PASSWORD not in process.stderr()


def test_a_long_url_fails_the_preview_in_a_short_line() -> None:
    with ProviderProcess() as process:
        process.configure({"karmo:workosApiUrl": "https://w.example/" + "a" * 20_000})
        with pytest.raises(EngineError) as caught:
            process.check(VALID)
        assert len(caught.value.details) < 400


def test_an_error_quotes_a_base_url_bounded_and_escaped() -> None:
    # The library's own clients take any URL; an error still quotes at most 200
    # characters of it.
    url = "http://127.0.0.1:9/" + "a" * 20_000
    with KarmoClient(url, TOKEN, max_retries=0) as client, pytest.raises(KarmoError) as caught:
        client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    assert text.startswith("Could not reach Karmo at http://127.0.0.1:9/aaa")
    assert text.isprintable()
    assert len(text) < 1000


hostile_setting = st.one_of(
    st.text(max_size=200),
    st.text(st.characters(codec="utf-8"), max_size=50).map(lambda t: f"https://h.example/{t}"),
    st.builds(
        lambda scheme, user, host, port, rest: f"{scheme}://{user}{host}{port}/{rest}",
        st.sampled_from(["http", "https", "ftp", "HTTP", ""]),
        st.sampled_from(["", f"admin:{PASSWORD}@", f"{PASSWORD}@", "a@b@"]),
        st.sampled_from(["127.0.0.1", "localhost", "[::1]", "api.workos.com", "", "10.0.0.1"]),
        st.sampled_from(["", ":0", ":1", ":65535", ":65536", ":x", ":-1"]),
        st.text(max_size=30),
    ),
    st.sampled_from(["5e-324", "1e-3", "nan", "-0", "1e400", "eu-west-1", "x" * 20_000]),
)


@settings(max_examples=300)
@given(
    key=st.sampled_from(sorted(k for k in CONFIG_KEYS if k not in ("karmo:token",))),
    value=hostile_setting,
    from_environment=st.booleans(),
)
def test_any_setting_is_accepted_or_refused_in_one_bounded_line(
    key: str, value: str, from_environment: bool
) -> None:
    stack, environ = ({}, {CONFIG_KEYS[key]: value}) if from_environment else ({key: value}, {})
    environ["KARMO_AUTH"] = "aws-sigv4" if key != "karmo:auth" else environ.get("KARMO_AUTH", "")
    try:
        check_settings(stack, environ)
    except ConfigurationError as exc:
        text = str(exc)
        assert text.isprintable(), repr(text)
        assert len(text) <= 400
        if key.endswith(("Url", "workosApiKey")):
            assert PASSWORD not in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://admin:{PASSWORD}@127.0.0.1:9/p", "http://***@127.0.0.1:9/p"),
        (f"https://{PASSWORD}@h.example", "https://***@h.example"),
        ("https://h.example/a@b", "https://h.example/a@b"),
        ("https://h.example?a@b", "https://h.example?a@b"),
        (f"https://u:{PASSWORD}@h.example#a@b", "https://***@h.example#a@b"),
        ("https://h.example/\x1b[2J", "https://h.example/\\x1b[2J"),
    ],
)
def test_an_error_never_quotes_a_base_urls_userinfo(url: str, expected: str) -> None:
    assert shown_url(url) == expected
