"""How requests authenticate: ``httpx.Auth`` flows the session drives. A fixed bearer
token (``karmo:token``), or service tokens minted from ``POST {apiUrl}/auth/token`` with
AWS SigV4 (botocore, the optional ``aws`` extra): the mint is one more request yielded
from the flow, so it shares the attempt's bounds, and the token is shared by every
thread, renewed before it expires and once after a 401 (docs/authentication.md)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from .._rules import clean_token, token_problem
from ..errors import ConfigurationError, ServiceTokenError
from .failures import retried
from .models import ServiceTokenResponse, is_json, load_json
from .untrusted import clean, read_answer
from .watchdog import time_left

logger = logging.getLogger("pulumi_karmo_roles")

REFRESH_MARGIN = 60.0
"""Seconds before a token's expiry at which a new one is minted (at most a quarter of
its lifetime, for short-lived tokens)."""

_TOKEN_PATH = "/auth/token"  # noqa: S105 - a path, not a secret
_BODY = b"{}"  # an empty JSON body asks for a service-to-service token

Signer = Callable[[str, bytes, Mapping[str, str]], dict[str, str]]
"""Signs ``POST url`` with ``body`` and ``headers``; returns the headers to send."""

Flow = Generator[httpx.Request, httpx.Response, None]


class Credential(httpx.Auth):
    """An ``httpx.Auth`` that also names the secrets it sends, so that server text
    echoing them can be redacted."""

    def secrets(self) -> tuple[str, ...]:
        """The tokens this credential sends or sent."""
        raise NotImplementedError


class BearerToken(Credential):
    """A fixed bearer token (``karmo:token``); a 401 means it is wrong or expired.

    :raises ConfigurationError: the token is not usable in a header (see
        :func:`clean_token`).
    """

    def __init__(self, token: str, *, source: str = "karmo:token") -> None:
        self._token = clean_token(token, source)
        self._header = f"Bearer {self._token}"

    def __repr__(self) -> str:
        return "BearerToken('***')"

    def secrets(self) -> tuple[str, ...]:
        """The token."""
        return (self._token,)

    def auth_flow(self, request: httpx.Request) -> Flow:
        """Send the token."""
        request.headers["Authorization"] = self._header
        yield request


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
            "karmo:auth is aws-sigv4, which needs botocore: install the aws extra into the "
            "environment the program runs in, `pip install '/path/to/pulumi-karmo-roles[aws]'` "
            "with the path of your checkout of pulumi-karmo-roles (README, Install)."
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
        try:
            credentials = session.get_credentials()
        except Exception as exc:  # botocore's many ways to fail: SSO expired, bad profile
            raise ConfigurationError(
                "karmo:auth is aws-sigv4 but the AWS credentials could not be loaded "
                f"({type(exc).__name__}); check the AWS profile, SSO session or environment."
            ) from None
        if credentials is None:
            raise ConfigurationError(
                "karmo:auth is aws-sigv4 but no AWS credentials were found (environment, "
                "shared config and credentials files, SSO, web identity, instance role)."
            )
        request: Any = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return {k: v for k, v in request.headers.items() if k.lower() != "host"}

    return sign


class ServiceToken(Credential):
    """Mints a service token on first use and shares it between all threads and
    operations of the process; mints again shortly before it expires, and once when
    Karmo answers 401.

    One mint at a time, and no lock is held while it is on the network: other threads
    wait for it at most as long as their own attempt may last, and if it fails they fail
    that attempt at once (their own retry policy and deadline decide what comes next)
    instead of queueing behind another full retry cycle.

    :param api_url: Karmo's API base URL (the token endpoint is ``{api_url}/auth/token``).
    :param signer: signs the mint request (see :func:`sigv4_signer`).
    :param clock: wall-clock seconds, for expiry (tests pass a fake one).
    """

    def __init__(
        self, api_url: str, signer: Signer, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._url = api_url.rstrip("/") + _TOKEN_PATH
        self._signer = signer
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._minting: threading.Event | None = None
        self._failure: ServiceTokenError | None = None
        self._issued: list[str] = []  # recent tokens, for redaction

    def __repr__(self) -> str:
        return "ServiceToken(token='***')"

    def secrets(self) -> tuple[str, ...]:
        """The tokens minted recently (an old one may still be echoed)."""
        with self._lock:
            return tuple(self._issued)

    def auth_flow(self, request: httpx.Request) -> Flow:
        """Send the current token (minting one first if needed); after a 401, renew it
        once and send again."""
        token = yield from self._current(request, rejected=None)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = yield from self._current(request, rejected=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _current(
        self, request: httpx.Request, rejected: str | None
    ) -> Generator[httpx.Request, httpx.Response, str]:
        while True:
            with self._lock:
                token = self._token
                if token is not None and token != rejected and self._clock() < self._renew_at:
                    return token
                waiting = self._minting
                if waiting is None:
                    done = self._minting = threading.Event()
            if waiting is None:
                break
            # Another thread is minting: wait for it, no longer than this attempt may take.
            if not waiting.wait(time_left()):
                raise httpx.ReadTimeout("waited for another operation's token mint")
            with self._lock:
                failure = self._failure if self._token in (None, rejected) else None
            if failure is not None:
                raise ServiceTokenError(str(failure), retried=failure.retried)
        try:
            token, expires_in = yield from self._mint(request)
        except BaseException as exc:
            with self._lock:
                self._failure = exc if isinstance(exc, ServiceTokenError) else None
                self._minting = None
            done.set()
            raise
        with self._lock:
            self._token, self._failure, self._minting = token, None, None
            self._issued = [*self._issued[-15:], token]  # recent ones may still be echoed
            self._renew_at = self._clock() + expires_in - min(REFRESH_MARGIN, expires_in / 4)
        done.set()
        logger.info("minted a Karmo service token valid for %.0f s", expires_in)
        return token

    def _mint(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, tuple[str, float]]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": request.headers.get("User-Agent", ""),
        }
        signed = self._signer(self._url, _BODY, headers)
        # The mint shares the attempt's timeout and the operation's deadline.
        mint = httpx.Request(
            "POST", self._url, headers=signed, content=_BODY, extensions=request.extensions
        )
        response = yield mint
        content = response.read()  # bounded by the client, in size and time
        if not 200 <= response.status_code < 300:
            said = read_answer(response, content, self.secrets())
            raise ServiceTokenError.refused(
                response.status_code, said.code, said.message, retried=retried(said)
            )
        try:
            minted = ServiceTokenResponse.model_validate_json(content)
        except (ValidationError, RecursionError):
            # Never quote the body: it may hold a token.
            raise ServiceTokenError.unusable(response.status_code, _shape(content)) from None
        if token_problem(minted.access_token):
            raise ServiceTokenError.unusable(response.status_code, "a token with other characters")
        return minted.access_token, minted.expires_in


def _shape(content: bytes) -> str:
    data = load_json(content)
    if not is_json(data):
        return f"{len(content)} bytes that are not JSON"
    if isinstance(data, dict):
        return "an object with keys " + ", ".join(clean(k, 40) for k in sorted(data)[:10])
    return f"JSON {type(data).__name__}"
