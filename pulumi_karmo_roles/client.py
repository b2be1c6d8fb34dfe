"""A small synchronous client for Karmo's organization-role endpoints.

It knows HTTP and Karmo's contract, and nothing of Pulumi. One client holds one
connection pool (keep-alive) and is safe to share between threads.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol
from urllib.parse import quote

import httpx

from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    FieldError,
    InvalidResponseError,
    status_error,
)
from .models import (
    KarmoErrorBody,
    SetPermissionsRequest,
    UpsertRoleRequest,
    excerpt,
    parse_error_body,
    parse_role_id,
)
from .retry import RETRYABLE_STATUSES, RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_BODY_BYTES",
    "USER_AGENT",
    "KarmoClient",
    "StaticToken",
    "TokenSource",
    "UpsertedRole",
]

logger = logging.getLogger("pulumi_karmo_roles")

USER_AGENT = f"pulumi-karmo-roles/{__version__} (+python-httpx/{httpx.__version__})"
"""The ``User-Agent`` every request carries."""

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for Karmo to connect, answer or send each chunk."""

MAX_BODY_BYTES = 1 << 20
"""Largest response body read; a bigger one is cut there (it is never a valid answer)."""

_ROLE_PATH = "/organizations/{organization_id}/roles/{slug}"
_PERMISSIONS_PATH = _ROLE_PATH + "/permissions"


class TokenSource(Protocol):
    """Supplies the bearer token for each request, and may renew it after a 401."""

    def token(self, client: KarmoClient) -> str:
        """The token to send now."""
        ...

    def renew(self, client: KarmoClient, rejected: str) -> bool:
        """Karmo answered 401 to ``rejected``: get a new token if possible. True if the
        request is worth sending again."""
        ...


class StaticToken:
    """A fixed bearer token (``karmo:token``); a 401 means it is wrong or expired."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken('***')"

    def token(self, client: KarmoClient) -> str:
        """The token, as given."""
        return self._token

    def renew(self, client: KarmoClient, rejected: str) -> bool:
        """A static token cannot be renewed."""
        return False


@dataclass(frozen=True)
class UpsertedRole:
    """What Karmo answered to an upsert."""

    role_id: str
    """The access provider's role identifier, e.g. ``role_01HXYZ``."""
    created: bool
    """True if Karmo answered 201 (the role did not exist), False for 200 (updated)."""


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes


class KarmoClient:
    """Calls Karmo's role endpoints with a bearer token, timeouts and retries.

    :param base_url: Karmo's API base URL; it may carry a path prefix
        (``https://api.example.com/auth-api``).
    :param token: the bearer token, or a :class:`TokenSource` that supplies (and renews)
        one, such as :class:`~pulumi_karmo_roles.auth.ServiceTokenSource`. It is sent in
        the ``Authorization`` header only, and never appears in ``repr()``, logs or
        errors.
    :param timeout: seconds for connecting, for each read and write.
    :param max_retries: retries after the first attempt on 429, 500, 502, 504, a 503
        without a Karmo body, connection errors and timeouts.
    :param transport: an httpx transport to use instead of the network (tests).
    :param retry_policy: overrides ``max_retries`` with a full policy (delays, caps).
    :param sleep: called to wait between attempts (tests pass a recorder).
    :param clock: a monotonic clock in seconds, for the retry deadline.
    """

    def __init__(
        self,
        base_url: str,
        token: str | TokenSource,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        transport: httpx.BaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._sleep = sleep
        self._clock = clock
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography
        # Requests go straight to an httpx transport (a keep-alive connection pool): the
        # Client layer's cookies, redirects, auth flows and URL merging cost about a
        # third of the CPU of a request and none of them apply to this API.
        self._transport = transport or httpx.HTTPTransport()
        self._tokens: TokenSource = StaticToken(token) if isinstance(token, str) else token
        self._headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"KarmoClient(base_url={self.base_url!r}, token='***')"

    def __enter__(self) -> KarmoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._transport.close()

    def upsert_role(self, organization_id: str, slug: str, name: str) -> UpsertedRole:
        """Create the role ``slug`` in ``organization_id`` with ``name``, or rename it if it
        exists (``PUT /organizations/{organization_id}/roles/{slug}``).

        Idempotent: calling it again with the same arguments converges on the same role.

        :raises KarmoError: a subclass that says what went wrong (see :mod:`.errors`).
        """
        path = _ROLE_PATH.format(organization_id=_segment(organization_id), slug=_segment(slug))
        body = UpsertRoleRequest(name=name).model_dump_json().encode()
        answer, attempts = self._authorized("PUT", path, body)
        if answer.status_code not in (200, 201):
            raise InvalidResponseError(
                f"Karmo answered PUT {path} with an unexpected {answer.status_code}: "
                f"{excerpt(answer.content)!r}. The role may have been written; running "
                "`pulumi up` again converges.",
                method="PUT",
                path=path,
                attempts=attempts,
            )
        role_id = parse_role_id(answer.content)
        if role_id is None:
            raise InvalidResponseError(
                f"Karmo answered PUT {path} with {answer.status_code} but no role id "
                f"(expected JSON with `id`): {excerpt(answer.content)!r}. The role may have "
                "been written; running `pulumi up` again converges.",
                method="PUT",
                path=path,
                attempts=attempts,
            )
        return UpsertedRole(role_id=role_id, created=answer.status_code == 201)

    def set_role_permissions(
        self, organization_id: str, slug: str, permissions: Iterable[str]
    ) -> list[str]:
        """Replace the role's complete permission set
        (``PUT /organizations/{organization_id}/roles/{slug}/permissions``); an empty set
        removes them all. Sends them sorted and de-duplicated, and returns what it sent.

        :raises NotFoundError: the role does not exist.
        :raises KarmoError: a subclass that says what went wrong (see :mod:`.errors`).
        """
        path = _PERMISSIONS_PATH.format(
            organization_id=_segment(organization_id), slug=_segment(slug)
        )
        wanted = sorted(set(permissions))
        body = SetPermissionsRequest(permissions=wanted).model_dump_json().encode()
        self._authorized("PUT", path, body)
        return wanted

    def _authorized(self, method: str, path: str, body: bytes) -> tuple[_Answer, int]:
        """Send with the current bearer token; on a 401, let the token source renew the
        token once and send again."""
        token = self._tokens.token(self)
        try:
            return self._send(method, path, body, {"Authorization": f"Bearer {token}"})
        except AuthenticationError:
            if not self._tokens.renew(self, token):
                raise
            logger.info("%s %s: 401, renewing the service token once", method, path)
        token = self._tokens.token(self)
        return self._send(method, path, body, {"Authorization": f"Bearer {token}"})

    def _send(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[_Answer, int]:
        """Send with retries; return the first 2xx answer with the number of attempts,
        or raise the error of the last attempt. ``headers`` add to the client's own."""
        policy = self.retry_policy
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            cause: Exception | None = None
            retry_after: str | None = None
            build: Callable[[int, str | None], APIError]
            try:
                answer = self._once(method, path, body, headers)
            except httpx.TimeoutException as exc:
                cause, retryable, reason = exc, True, "timed out"
                build = functools.partial(self._timeout_error, method, path)
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                cause, retryable, reason = exc, True, type(exc).__name__
                build = functools.partial(self._connection_error, method, path, exc)
            else:
                status = answer.status_code
                if 200 <= status < 300:
                    return answer, attempt
                error_body = parse_error_body(answer.content)
                karmo_body = error_body is not None and error_body.is_karmo_error
                retryable = status in RETRYABLE_STATUSES and not (status == 503 and karmo_body)
                retry_after, reason = answer.headers.get("Retry-After"), str(status)
                build = functools.partial(_status_error, method, path, answer, error_body)

            note = None
            if retryable and attempt < policy.max_attempts:
                delay = policy.delay(
                    attempt, retry_after=retry_after, now=time.time(), rand=self._random.random()
                )
                elapsed = self._clock() - started
                if policy.deadline is None or elapsed + delay <= policy.deadline:
                    logger.info(
                        "%s %s: %s, retrying in %.2f s (attempt %d of %d)",
                        method,
                        path,
                        reason,
                        delay,
                        attempt + 1,
                        policy.max_attempts,
                    )
                    self._sleep(delay)
                    continue
                note = (
                    f"stopped after {elapsed:.1f} s: the next wait of {delay:.1f} s would pass "
                    f"the {policy.deadline:g} s retry deadline"
                )
            raise build(attempt, note) from cause

    def _timeout_error(
        self, method: str, path: str, attempts: int, note: str | None
    ) -> APITimeoutError:
        return APITimeoutError(
            f"Karmo did not answer {method} {path} in time (timed out after "
            f"{self.timeout:g} s, {_attempts(attempts, note)}). Check that {self.base_url} is "
            "reachable, or raise `karmo:timeout`.",
            method=method,
            path=path,
            attempts=attempts,
        )

    def _connection_error(
        self, method: str, path: str, exc: Exception, attempts: int, note: str | None
    ) -> APIConnectionError:
        return APIConnectionError(
            f"Could not reach Karmo at {self.base_url} for {method} {path} ({_cause(exc)}; "
            f"{_attempts(attempts, note)}). Check `karmo:apiUrl` and the network.",
            method=method,
            path=path,
            attempts=attempts,
        )

    def _once(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> _Answer:
        request = httpx.Request(
            method,
            self.base_url + path,
            headers={**self._headers, **headers},
            content=body,
            extensions=self._extensions,
        )
        started = time.perf_counter()
        response = self._transport.handle_request(request)
        try:
            content = _read_capped(response)
        finally:
            response.close()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                response.headers.get("X-Request-Id", "-"),
            )
        return _Answer(response.status_code, response.headers, content)


def _status_error(
    method: str,
    path: str,
    answer: _Answer,
    body: KarmoErrorBody | None,
    attempts: int,
    note: str | None,
) -> APIStatusError:
    return status_error(
        answer.status_code,
        karmo_body=body is not None and body.is_karmo_error,
        method=method,
        path=path,
        code=body.code if body else None,
        karmo_message=body.message if body else None,
        errors=_field_errors(body),
        request_id=(body.request_id if body else None) or answer.headers.get("X-Request-Id"),
        meta=body.meta if body else None,
        body_excerpt=None if body else excerpt(answer.content),
        attempts=attempts,
        note=note,
    )


def _attempts(attempts: int, note: str | None) -> str:
    text = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    return f"{text}; {note}" if note else text


def _field_errors(body: KarmoErrorBody | None) -> list[FieldError]:
    return [FieldError(e.pointer, e.detail) for e in body.errors] if body else []


def _segment(value: str) -> str:
    """Percent-encode one path segment: ``/``, ``?``, ``#`` and ``%`` included, and a
    segment of only dots, which URL normalization would otherwise resolve (``..``)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _cause(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
