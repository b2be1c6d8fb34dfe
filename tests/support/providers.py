"""Providers configured as the engine would configure them, closed after each test."""

from __future__ import annotations

from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from pulumi_karmo_roles.provider import OrganizationRoleProvider
from tests.support.secrets import TOKEN

_CONFIGURED: list[OrganizationRoleProvider] = []


def configured_provider(
    url: str | None, config: dict[str, str] | None = None
) -> OrganizationRoleProvider:
    """A provider configured with the sandbox token and no retries unless ``config``
    says otherwise; the ``conftest`` closes it after the test."""
    provider = OrganizationRoleProvider()
    stack = {"karmo:token": TOKEN, "karmo:maxRetries": "0", **(config or {})}
    if url is not None:
        stack["karmo:apiUrl"] = url
    provider.configure(ConfigureRequest(Config(stack, "karmo-test")))
    _CONFIGURED.append(provider)
    return provider


def close_configured() -> None:
    """Close every provider :func:`configured_provider` made."""
    while _CONFIGURED:
        _CONFIGURED.pop().close()
