"""The provider's settings: stack config ``karmo:*`` first, ``KARMO_*`` variables second.

========================  ========================  ============================================
Pulumi config             environment               default
========================  ========================  ============================================
``karmo:apiUrl``          ``KARMO_API_URL``         required
``karmo:token``           ``KARMO_TOKEN``           required with ``auth=token`` (``--secret``)
``karmo:timeout``         ``KARMO_TIMEOUT``         30 seconds per attempt, connect to last byte
``karmo:maxRetries``      ``KARMO_MAX_RETRIES``     4
``karmo:retryDeadline``   ``KARMO_RETRY_DEADLINE``  120 seconds for one operation, in all
``karmo:auth``            ``KARMO_AUTH``            ``token`` (or ``aws-sigv4``)
``karmo:awsRegion``       ``AWS_REGION``            the AWS configuration's region
``karmo:accessProvider``  ``KARMO_ACCESS_PROVIDER`` ``workos`` (or ``generic``)
========================  ========================  ============================================

The defaults live with the code they configure (:mod:`.client`, :mod:`.retry`). A token
is stripped of surrounding whitespace; one with whitespace, control or non-ASCII
characters inside is refused here, before any request.

``karmo:accessProvider`` says whose rules a role must also follow at preview (see
:mod:`.validation`); :func:`resolve_access_provider` reads it alone, so a preview needs
no credentials, and :func:`program_access_provider` reads it in the Pulumi program.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from .client import DEFAULT_TIMEOUT
from .credentials import clean_token
from .errors import ConfigurationError
from .retry import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DEADLINE
from .validation import DEFAULT_ACCESS_PROVIDER, access_provider_problem

__all__ = [
    "AUTH_MODES",
    "CONFIG_KEYS",
    "Settings",
    "check_token_config",
    "program_access_provider",
    "resolve_access_provider",
    "resolve_settings",
]

CONFIG_KEYS: dict[str, str] = {
    "karmo:apiUrl": "KARMO_API_URL",
    "karmo:token": "KARMO_TOKEN",
    "karmo:timeout": "KARMO_TIMEOUT",
    "karmo:maxRetries": "KARMO_MAX_RETRIES",
    "karmo:retryDeadline": "KARMO_RETRY_DEADLINE",
    "karmo:auth": "KARMO_AUTH",
    "karmo:awsRegion": "AWS_REGION",
    "karmo:accessProvider": "KARMO_ACCESS_PROVIDER",
}
"""Each stack config key and the environment variable used when the stack lacks it."""


AUTH_MODES = ("token", "aws-sigv4")
"""``token``: a static bearer token. ``aws-sigv4``: service tokens minted through
``POST /auth/token``, signed with AWS credentials."""


@dataclass(frozen=True)
class Settings:
    """Resolved provider settings (see :func:`resolve_settings`). ``repr()`` hides the
    token."""

    api_url: str
    """Karmo's API base URL, without a trailing slash."""
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
    access_provider: str = DEFAULT_ACCESS_PROVIDER
    """The access provider behind Karmo, one of
    :data:`~pulumi_karmo_roles.validation.ACCESS_PROVIDERS`: whose limits ``check``
    enforces besides Karmo's."""


def resolve_settings(
    stack_config: Mapping[str, str | None], environ: Mapping[str, str]
) -> Settings:
    """Resolve settings from the stack config (``karmo:*`` keys, string values as the
    engine sends them) with ``KARMO_*`` environment variables as fallbacks.

    :raises ConfigurationError: a required value is missing or a value is invalid; the
        message names the config key and the variable.
    """

    def lookup(key: str) -> tuple[str | None, str]:
        return _lookup(stack_config, environ, key)

    access_provider = resolve_access_provider(stack_config, environ)
    url, url_source = lookup("karmo:apiUrl")
    token, token_source = lookup("karmo:token")
    auth, auth_source = lookup("karmo:auth")
    auth = auth or "token"
    if auth not in AUTH_MODES:
        raise ConfigurationError(
            f"{auth_source} must be one of {', '.join(AUTH_MODES)}, got {auth!r}."
        )
    missing = []
    if url is None:
        missing.append(
            "the Karmo API URL: run `pulumi config set karmo:apiUrl https://...` "
            "or set KARMO_API_URL"
        )
    if token is None and auth == "token":
        missing.append(
            "the Karmo API token: run `pulumi config set --secret karmo:token <token>` "
            "or set KARMO_TOKEN"
        )
    if missing:
        raise ConfigurationError("pulumi-karmo-roles is missing " + "; and ".join(missing) + ".")
    assert url is not None
    _check_url(url, url_source)

    if token is not None and auth == "token":
        token = clean_token(token, token_source)
    timeout = _positive_seconds(*lookup("karmo:timeout"), default=DEFAULT_TIMEOUT)
    retry_deadline = _positive_seconds(
        *lookup("karmo:retryDeadline"), default=DEFAULT_RETRY_DEADLINE
    )

    retries_text, retries_source = lookup("karmo:maxRetries")
    max_retries = DEFAULT_MAX_RETRIES
    if retries_text is not None:
        try:
            max_retries = int(retries_text)
        except ValueError:
            max_retries = -1
        if not 0 <= max_retries <= 20:
            raise ConfigurationError(
                f"{retries_source} must be a whole number from 0 to 20, got {retries_text!r}."
            )

    return Settings(
        api_url=url.rstrip("/"),
        token=SecretStr(token) if token is not None else None,
        timeout=timeout,
        max_retries=max_retries,
        retry_deadline=retry_deadline,
        auth=auth,
        aws_region=lookup("karmo:awsRegion")[0],
        access_provider=access_provider,
    )


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


def _positive_seconds(text: str | None, source: str, *, default: float) -> float:
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigurationError(f"{source} must be a positive number of seconds, got {text!r}.")
    return seconds


def _check_url(url: str, source: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{source} must be an http(s) base URL such as https://api.example.com/auth-api, "
            f"got {url!r}."
        )


def check_token_config(stack_config: Mapping[str, str | None], environ: Mapping[str, str]) -> None:
    """Check the token alone (``karmo:token``, else ``KARMO_TOKEN``), if one is set, so a
    malformed one fails at configure time, before any request or other setting.

    :raises ConfigurationError: see :func:`~.credentials.clean_token`; never shows it.
    """
    token, source = _lookup(stack_config, environ, "karmo:token")
    auth = _lookup(stack_config, environ, "karmo:auth")[0] or "token"
    if token is not None and auth == "token":
        clean_token(token, source)


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
