"""The settings: each ``karmo:*`` stack config key, else its environment variable (the
README's configuration table lists them), read and checked in one place. Every setting
that is given is checked when the provider is configured, so a malformed one fails even
a preview; the ones an operation needs are required only when it runs."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from ._http.retry import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DEADLINE, DEFAULT_TIMEOUT, RetryPolicy
from ._rules import DEFAULT_ACCESS_PROVIDER, access_provider_problem, clean_token
from ._setting_rules import check_region, check_url, seconds
from ._setting_rules import shown as _shown
from .errors import ConfigurationError

CONFIG_KEYS: dict[str, str] = {
    "karmo:apiUrl": "KARMO_API_URL",
    "karmo:token": "KARMO_TOKEN",
    "karmo:timeout": "KARMO_TIMEOUT",
    "karmo:maxRetries": "KARMO_MAX_RETRIES",
    "karmo:retryDeadline": "KARMO_RETRY_DEADLINE",
    "karmo:auth": "KARMO_AUTH",
    "karmo:awsRegion": "AWS_REGION",
    "karmo:workosApiKey": "WORKOS_API_KEY",
    "karmo:workosApiUrl": "WORKOS_API_URL",
    "karmo:accessProvider": "KARMO_ACCESS_PROVIDER",
}
"""Each stack config key and the environment variable used when the stack lacks it."""


DEFAULT_WORKOS_API_URL = "https://api.workos.com"
"""WorkOS's API, unless ``karmo:workosApiUrl`` says otherwise."""

MAX_TIMEOUT = 600.0
"""Largest ``karmo:timeout``, in seconds."""

MAX_RETRY_DEADLINE = 3600.0
"""Largest ``karmo:retryDeadline``, in seconds."""

MAX_RETRIES = 20
"""Largest ``karmo:maxRetries``."""

AUTH_MODES = ("token", "aws-sigv4")
"""``token``: a static bearer token. ``aws-sigv4``: service tokens minted through
``POST /auth/token``, signed with AWS credentials."""


@dataclass(frozen=True)
class Settings:
    """Resolved provider settings (see :func:`resolve_settings`). ``repr()`` hides the
    token."""

    api_url: str | None
    """Karmo's API base URL, without a trailing slash; ``None`` only from
    :func:`read_settings` (:func:`resolve_settings` requires it)."""
    token: SecretStr | None = field(repr=False)
    """The static bearer token (``auth == "token"``), stripped and checked;
    ``token.get_secret_value()`` reveals it. pydantic's ``SecretStr`` keeps it out of
    ``repr()`` and tracebacks."""
    timeout: float
    """Seconds one attempt may take, from connecting to the last byte of the answer."""
    max_retries: int
    """Retries after the first attempt."""
    retry_deadline: float
    """Seconds one operation may take in all: attempts, waits, a token mint."""
    auth: str
    """How requests authenticate: one of :data:`AUTH_MODES`."""
    aws_region: str | None
    """The AWS region for SigV4 signing (``aws-sigv4``); ``None``: the AWS config's."""
    workos_api_key: SecretStr | None = field(default=None, repr=False)
    """The WorkOS API key that turns on read-back (``refresh`` and ``get`` read WorkOS);
    ``None``: reads return what the state recorded."""
    workos_api_url: str = DEFAULT_WORKOS_API_URL
    """WorkOS's API base URL, without a trailing slash."""
    access_provider: str = DEFAULT_ACCESS_PROVIDER
    """The access provider behind Karmo, one of
    :data:`~pulumi_karmo_roles._rules.ACCESS_PROVIDERS`: whose limits ``check``
    enforces besides Karmo's."""

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings ask for."""
        return RetryPolicy(max_retries=self.max_retries, deadline=self.retry_deadline)


def resolve_settings(
    stack_config: Mapping[str, str | None], environ: Mapping[str, str]
) -> Settings:
    """Resolve settings from the stack config (``karmo:*`` keys, string values as the
    engine sends them) with ``KARMO_*`` environment variables as fallbacks.

    :raises ConfigurationError: a required value is missing or a value is invalid; the
        message names the config key and the variable.
    """
    values = read_settings(stack_config, environ)
    missing = []
    if values.api_url is None:
        missing.append(
            "the Karmo API URL: run `pulumi config set karmo:apiUrl https://...` "
            "or set KARMO_API_URL"
        )
    if values.token is None and values.auth == "token":
        missing.append(
            "the Karmo API token: run `pulumi config set --secret karmo:token <token>` "
            "or set KARMO_TOKEN"
        )
    if missing:
        raise ConfigurationError("pulumi-karmo-roles is missing " + "; and ".join(missing) + ".")
    return values


def check_settings(stack_config: Mapping[str, str | None], environ: Mapping[str, str]) -> None:
    """Check every setting that is given, and the proxy variables, without requiring
    any: at configure time, so that a malformed value fails even a preview (which needs
    no credentials), before any request.

    :raises ConfigurationError: the first malformed value, named by its key (or
        variable), with the rule it breaks; never a token or a proxy's credentials.
    """
    read_settings(stack_config, environ)


def read_settings(stack_config: Mapping[str, str | None], environ: Mapping[str, str]) -> Settings:
    """Every setting that is given, checked, and the defaults for the rest, without
    requiring Karmo's URL and token (a read from WorkOS needs neither).

    :raises ConfigurationError: a value is malformed (see :func:`check_settings`).
    """

    def lookup(key: str) -> tuple[str | None, str]:
        return _lookup(stack_config, environ, key)

    auth, auth_source = lookup("karmo:auth")
    auth = auth or "token"
    if auth not in AUTH_MODES:
        raise ConfigurationError(
            f"{auth_source} must be one of {', '.join(AUTH_MODES)}, got {_shown(auth)}."
        )
    url, url_source = lookup("karmo:apiUrl")
    if url is not None:
        check_url(url, url_source)
    token, token_source = lookup("karmo:token")
    if token is not None and auth == "token":
        token = clean_token(token, token_source)
    timeout = seconds(*lookup("karmo:timeout"), default=DEFAULT_TIMEOUT, most=MAX_TIMEOUT)
    retry_deadline = seconds(
        *lookup("karmo:retryDeadline"), default=DEFAULT_RETRY_DEADLINE, most=MAX_RETRY_DEADLINE
    )
    retries_text, retries_source = lookup("karmo:maxRetries")
    max_retries = DEFAULT_MAX_RETRIES
    if retries_text is not None:
        try:
            max_retries = int(retries_text)
        except ValueError:
            max_retries = -1
        if not 0 <= max_retries <= MAX_RETRIES:
            raise ConfigurationError(
                f"{retries_source} must be a whole number from 0 to {MAX_RETRIES}, got "
                f"{_shown(retries_text)}."
            )
    workos_key, workos_key_source = lookup("karmo:workosApiKey")
    if workos_key is not None:
        workos_key = clean_token(workos_key, workos_key_source, "karmo:workosApiKey")
    workos_url, workos_url_source = lookup("karmo:workosApiUrl")
    if workos_url is not None:
        check_url(workos_url, workos_url_source)
    region, region_source = lookup("karmo:awsRegion")
    # AWS_REGION belongs to every AWS tool: held to the rule only where it is used.
    if region is not None and (auth == "aws-sigv4" or region_source == "karmo:awsRegion"):
        check_region(region, region_source)
    check_proxy_environment(environ)
    return Settings(
        api_url=None if url is None else url.rstrip("/"),
        token=None if token is None else SecretStr(token),
        timeout=timeout,
        max_retries=max_retries,
        retry_deadline=retry_deadline,
        auth=auth,
        aws_region=region,
        workos_api_key=None if workos_key is None else SecretStr(workos_key),
        workos_api_url=(workos_url or DEFAULT_WORKOS_API_URL).rstrip("/"),
        access_provider=resolve_access_provider(stack_config, environ),
    )


_NOT_READ_BY_DISCOVERY = (
    "karmo:apiUrl",
    "karmo:token",
    "karmo:auth",
    "karmo:awsRegion",
    "karmo:accessProvider",
)


def read_workos_settings(environ: Mapping[str, str]) -> Settings:
    """The settings a read from WorkOS alone uses (``karmo-roles discover``), from the
    environment: ``WORKOS_API_KEY``, ``WORKOS_API_URL``, the timeout, retries and
    deadline, and the proxy variables, checked as :func:`read_settings` checks them.
    Karmo's URL, token and auth, the AWS region and the access provider are neither read
    nor checked: a malformed one does not stop a discovery, which never uses them (it
    declares what WorkOS holds, so it needs no access provider's rules).

    :raises ConfigurationError: a setting it uses is malformed.
    """
    unused = {CONFIG_KEYS[key] for key in _NOT_READ_BY_DISCOVERY}
    return read_settings({}, {k: v for k, v in environ.items() if k not in unused})


def resolve_access_provider(
    stack_config: Mapping[str, str | None], environ: Mapping[str, str]
) -> str:
    """The access provider (``karmo:accessProvider``, else ``KARMO_ACCESS_PROVIDER``,
    else ``workos``), read alone: it needs no other setting, so ``check`` can use it in a
    preview without credentials.

    :raises ConfigurationError: neither ``workos`` nor ``generic``; the message names
        the key or variable it came from.
    """
    value, source = _lookup(stack_config, environ, "karmo:accessProvider")
    if value is None:
        return DEFAULT_ACCESS_PROVIDER
    problem = access_provider_problem(value)
    if problem:
        raise ConfigurationError(
            f"{source} {problem} (workos for Karmo's WorkOS mode, generic for any other "
            "access provider)."
        )
    return value


def program_access_provider(environ: Mapping[str, str] | None = None) -> str:
    """The access provider of the running Pulumi program: its stack's
    ``karmo:accessProvider``, else ``KARMO_ACCESS_PROVIDER``, else ``workos``, the same
    value the provider process gets. Outside a program (the Pulumi SDK not loaded) the
    stack config is not consulted, and the SDK is not imported.

    :raises ConfigurationError: see :func:`resolve_access_provider`.
    """
    stack_config: dict[str, str | None] = {}
    pulumi = sys.modules.get("pulumi")
    if pulumi is not None:
        stack_config["karmo:accessProvider"] = pulumi.Config("karmo").get("accessProvider")
    return resolve_access_provider(stack_config, os.environ if environ is None else environ)


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def check_proxy_environment(environ: Mapping[str, str]) -> None:
    """Check the proxy variables the HTTP client reads (``HTTP_PROXY``, ``HTTPS_PROXY``,
    ``ALL_PROXY``, in either case).

    :raises ConfigurationError: one is not a usable proxy URL; the message names the
        variable and shows the URL with its credentials replaced by ``***``.
    """
    for name in _PROXY_VARIABLES:
        for variable in (name.lower(), name):
            value = environ.get(variable)
            if not value or not value.strip():
                continue
            url = value.strip() if "://" in value else "http://" + value.strip()
            try:
                parts = urlsplit(url)
                why = None
                if parts.scheme not in _PROXY_SCHEMES:
                    why = f"its scheme must be one of {', '.join(_PROXY_SCHEMES)}"
                elif not parts.hostname:
                    why = "it names no host"
                else:
                    parts.port  # noqa: B018 - raises ValueError for a malformed port
            except ValueError:
                why = "its port is not a number from 0 to 65535"
            if why:
                host = url.partition("://")[2].rpartition("@")[2]
                shown = url.partition("://")[0] + "://" + ("***@" if "@" in url else "") + host
                raise ConfigurationError(
                    f"{variable} is not a usable proxy URL ({why}): {_shown(shown)}. Set it "
                    "to http://[user:password@]host:port, or unset it."
                )


def _lookup(
    stack_config: Mapping[str, str | None], environ: Mapping[str, str], key: str
) -> tuple[str | None, str]:
    """A setting's value and where it came from: the stack config, else its environment
    variable. Blank counts as unset (a pasted secret may be only a newline)."""
    value = stack_config.get(key)
    if value is not None and str(value).strip():
        return str(value), key
    env = CONFIG_KEYS[key]
    value = environ.get(env)
    return (value if value and value.strip() else None), env
