"""Short-lived Karmo service tokens, minted with AWS Signature V4.

In Karmo's deployed environments services authenticate with a 15-minute RS256 JWT
from ``POST {apiUrl}/auth/token``, an endpoint protected by AWS IAM: the request is
signed with SigV4 (service ``execute-api``) using credentials from the standard AWS
chain (environment, profile, SSO, web identity). botocore does the signing; it is an
optional dependency: ``pip install 'pulumi-karmo-roles[aws]'``.

Knows HTTP and AWS, nothing of Pulumi.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .errors import APIStatusError, ConfigurationError, ServiceTokenError, status_name
from .models import ServiceTokenResponse

if TYPE_CHECKING:
    from .client import KarmoClient

__all__ = ["REFRESH_MARGIN", "ServiceTokenSource", "Signer", "sigv4_signer"]

logger = logging.getLogger("pulumi_karmo_roles")

REFRESH_MARGIN = 60.0
"""Seconds before a token's expiry at which a new one is minted (at most a quarter of
its lifetime, for short-lived tokens)."""

_TOKEN_PATH = "/auth/token"  # noqa: S105 - a path, not a secret
_BODY = b"{}"  # an empty JSON body asks for a service-to-service token

Signer = Callable[[str, bytes, Mapping[str, str]], dict[str, str]]
"""Signs ``POST url`` with ``body`` and ``headers``; returns the headers to send."""


def sigv4_signer(region: str | None) -> Signer:
    """A SigV4 signer (service ``execute-api``) over botocore's credential chain.

    :param region: the AWS region of Karmo's API; ``None`` falls back to the AWS
        configuration (``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile).
    :raises ConfigurationError: botocore is not installed, or no region is known.
    """
    try:
        import botocore.session
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
    except ImportError as exc:
        raise ConfigurationError(
            "karmo:auth is aws-sigv4, which needs botocore: pip install 'pulumi-karmo-roles[aws]'."
        ) from exc

    session = botocore.session.get_session()
    # botocore's own lookup knows AWS_DEFAULT_REGION and profiles, not always AWS_REGION.
    region = region or os.environ.get("AWS_REGION") or session.get_config_variable("region")
    if not region:
        raise ConfigurationError(
            "karmo:auth is aws-sigv4 but no AWS region is known: run "
            "`pulumi config set karmo:awsRegion <region>` or set AWS_REGION."
        )

    def sign(url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        credentials = session.get_credentials()
        if credentials is None:
            raise ConfigurationError(
                "karmo:auth is aws-sigv4 but no AWS credentials were found (environment, "
                "shared config and credentials files, SSO, web identity, instance role)."
            )
        request: Any = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return {k: v for k, v in request.headers.items() if k.lower() != "host"}

    return sign


class ServiceTokenSource:
    """Mints a service token on first use and shares it between all threads and
    operations of the process; mints again shortly before it expires, and once when
    Karmo answers 401. One mint at a time: concurrent operations wait for it.

    :param signer: signs the ``POST /auth/token`` request (see :func:`sigv4_signer`).
    :param clock: wall-clock seconds (tests pass a fake one).
    """

    def __init__(self, signer: Signer, *, clock: Callable[[], float] = time.time) -> None:
        self._signer = signer
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def __repr__(self) -> str:
        return "ServiceTokenSource(token='***')"

    def token(self, client: KarmoClient) -> str:
        """The current token, minted first if there is none or it is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._mint(client)
            assert self._token is not None
            return self._token

    def renew(self, client: KarmoClient, rejected: str) -> bool:
        """Mint a new token after a 401, unless another operation already did."""
        with self._lock:
            if self._token == rejected:
                self._mint(client)
        return True

    def _mint(self, client: KarmoClient) -> None:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        signed = self._signer(client.base_url + _TOKEN_PATH, _BODY, headers)
        try:
            answer, _ = client._send("POST", _TOKEN_PATH, _BODY, signed)
        except APIStatusError as exc:
            said = f" (code {exc.code})" if exc.code else ""
            said += f": {exc.karmo_message}" if exc.karmo_message else ""
            raise ServiceTokenError(
                f"Karmo did not issue a service token: POST {_TOKEN_PATH} answered "
                f"{exc.status_code} {status_name(exc.status_code)}{said}. Check that the AWS "
                "identity may invoke Karmo's /auth/token (execute-api:Invoke) and that "
                "karmo:awsRegion is the region of Karmo's API."
            ) from exc
        try:
            minted = ServiceTokenResponse.model_validate_json(answer.content)
        except ValidationError:
            # Never quote the body: it may hold a token.
            raise ServiceTokenError(
                f"Karmo's POST {_TOKEN_PATH} answered {answer.status_code} without a usable "
                "token (expected JSON with access_token and expires_in; got "
                f"{_shape(answer.content)})"
            ) from None
        self._token = minted.access_token
        margin = min(REFRESH_MARGIN, minted.expires_in / 4)
        self._renew_at = self._clock() + minted.expires_in - margin
        logger.info("minted a Karmo service token valid for %.0f s", minted.expires_in)


def _shape(content: bytes) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        return f"{len(content)} bytes that are not JSON"
    if isinstance(data, dict):
        return "an object with keys " + ", ".join(sorted(map(str, data))[:10])
    return f"JSON {type(data).__name__}"
