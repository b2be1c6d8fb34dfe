"""A small synchronous client for Karmo's organization-role endpoints.

It knows HTTP and Karmo's contract, and nothing of Pulumi. One client holds one
``httpx.Client`` (a keep-alive pool that honours ``HTTP(S)_PROXY``, ``ALL_PROXY``,
``NO_PROXY`` and ``SSL_CERT_FILE``) and is safe to share between threads. Credentials
are ``httpx.Auth`` flows (:mod:`.credentials`); everything the server says is cleaned by
:mod:`.untrusted`; every message is composed in :mod:`.errors`.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import quote

import httpx

from ._version import __version__
from .credentials import BearerToken, Credential
from .errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidResponseError,
    KarmoError,
    RequestNotSentError,
    ServiceTokenError,
    status_error,
    status_error_class,
    status_name,
)
from .models import parse_role_id
from .retry import DEFAULT_MAX_RETRIES, RetryPolicy
from .untrusted import Answer, CappedStream, clean, excerpt, read_answer
from .validation import NAME_MAX_LENGTH

__all__ = ["DEFAULT_TIMEOUT", "USER_AGENT", "KarmoClient", "UpsertedRole"]

logger = logging.getLogger("pulumi_karmo_roles")

USER_AGENT = f"pulumi-karmo-roles/{__version__} (+python-httpx/{httpx.__version__})"
"""The ``User-Agent`` every request carries."""

DEFAULT_TIMEOUT = 30.0
"""Seconds one attempt may take, from connecting to the last byte of the answer."""

_ROLE_PATH = "/organizations/{organization_id}/roles/{slug}"
_PERMISSIONS_PATH = _ROLE_PATH + "/permissions"
# A role id is stored in state and shown in the CLI: printable ASCII, no spaces, and no
# longer than the other identifiers.
_ROLE_ID = re.compile(rf"[!-~]{{1,{NAME_MAX_LENGTH}}}")
# Failures another attempt may cure; anything else raised while sending is final.
_RETRIED = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)
_EXPIRES = "pulumi_karmo_roles.expires"  # request extension: when the attempt's time is up


@dataclass(frozen=True)
class UpsertedRole:
    """What Karmo answered to an upsert."""

    role_id: str
    """The access provider's role identifier, e.g. ``role_01HXYZ``."""
    created: bool
    """True if Karmo answered 201 (the role did not exist), False for 200 (updated)."""


class KarmoClient:
    """Calls Karmo's role endpoints with a credential, timeouts and retries.

    :param base_url: Karmo's API base URL; it may carry a path prefix
        (``https://api.example.com/auth-api``).
    :param auth: a bearer token, or a :class:`~.credentials.Credential` such as
        :class:`~.credentials.ServiceToken`. Sent in the ``Authorization`` header only;
        never in ``repr()``, logs or errors, and redacted from anything the server echoes.
    :param timeout: seconds each attempt may take, from connecting to the last byte.
    :param max_retries: retries after the first attempt on 429, 5xx outages, connection
        errors and timeouts.
    :param retry_policy: overrides ``max_retries`` with a full policy (delays, caps and
        the deadline of one operation, attempts and waits included).
    :param transport: an httpx transport to use instead of the network (tests).
    :param sleep: called to wait between attempts (tests pass a recorder).
    :param clock: a monotonic clock in seconds, for timeouts and the deadline.
    :param on_retry: called with one line before each wait between attempts (what
        failed, the wait, attempt n of m); by default logged at INFO.
    """

    def __init__(
        self,
        base_url: str,
        auth: str | Credential,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._auth = BearerToken(auth) if isinstance(auth, str) else auth
        self._sleep = sleep
        self._clock = clock
        self._on_retry = on_retry or (lambda line: logger.info("%s", line))
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography
        self._deadline: float | None = None  # set on an operation's view
        # Never follow a redirect: it would carry the token elsewhere (a 3xx is an error).
        self._http = httpx.Client(
            transport=transport,
            follow_redirects=False,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            event_hooks={"response": [self._bound]},
        )

    def __repr__(self) -> str:
        return f"KarmoClient(base_url={self.base_url!r}, auth='***')"

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
        self._http.close()

    def operation(self) -> KarmoClient:
        """A view of this client (same pool and credential) whose calls share one retry
        deadline from now: the requests of one Pulumi operation, e.g. a create's upsert
        and permissions, take ``retry_policy.deadline`` seconds in all."""
        view = copy.copy(self)
        deadline = self.retry_policy.deadline
        view._deadline = None if deadline is None else self._clock() + deadline
        return view

    def upsert_role(self, organization_id: str, slug: str, name: str) -> UpsertedRole:
        """Create the role ``slug`` in ``organization_id`` with ``name``, or rename it if it
        exists (``PUT /organizations/{organization_id}/roles/{slug}``).

        Idempotent: calling it again with the same arguments converges on the same role.

        :raises KarmoError: a subclass that says what went wrong (see :mod:`.errors`).
        """
        path = _ROLE_PATH.format(organization_id=_segment(organization_id), slug=_segment(slug))
        response, content, attempts = self._request("PUT", path, {"name": name})
        status, problem = response.status_code, None
        role_id = parse_role_id(content)
        shown = excerpt(content, secrets=self._auth.secrets())
        if status not in (200, 201):
            problem = f"an unexpected {status}: {shown!r}"
        elif role_id is None:
            problem = f"but no role id (expected JSON with `id`): {shown!r}"
        elif not _ROLE_ID.fullmatch(role_id):
            problem = (
                f"a role id that is not 1-{NAME_MAX_LENGTH} printable ASCII characters "
                f"without spaces: {clean(role_id, 60, self._auth.secrets())!r}"
            )
        if problem or role_id is None:
            problem = problem or "no role id"
            raise InvalidResponseError(
                method="PUT", path=path, status_code=status, problem=problem, attempts=attempts
            )
        return UpsertedRole(role_id=role_id, created=status == 201)

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
        self._request("PUT", path, {"permissions": wanted})
        return wanted

    def _request(
        self, method: str, path: str, payload: object
    ) -> tuple[httpx.Response, bytes, int]:
        """Send with retries: the first 2xx answer, its body and the number of attempts;
        otherwise raise the error of the last attempt. The one exception boundary: nothing
        but a :class:`KarmoError` leaves it, and none quotes a header."""
        policy, secrets = self.retry_policy, self._auth.secrets
        started = self._clock()
        deadline = self._deadline
        if deadline is None and policy.deadline is not None:
            deadline = started + policy.deadline
        attempt = 0
        while True:
            attempt += 1
            budget = self.timeout
            if deadline is not None:
                budget = min(budget, deadline - self._clock())
            answer: Answer | None = None
            try:
                response, content = self._attempt(method, path, payload, budget)
                status = response.status_code
                if 200 <= status < 300:
                    return response, content, attempt
                answer = read_answer(response, content, secrets())
                failure: httpx.Response | Exception = response
                retried = status_error_class(status, karmo_body=answer.karmo_body).retried
                reason = f"answered {status} {status_name(status)}"
            except Exception as exc:  # the boundary: mapped by _error
                failure, retried = exc, isinstance(exc, _RETRIED)
                if isinstance(exc, ServiceTokenError):
                    retried = exc.retried
                reason = f"failed ({type(exc).__name__})"

            note = None
            if retried and attempt < policy.max_attempts:
                retry_after = None
                if isinstance(failure, httpx.Response):
                    retry_after = failure.headers.get("Retry-After")
                delay = policy.delay(
                    attempt, retry_after=retry_after, now=time.time(), rand=self._random.random()
                )
                now = self._clock()
                if deadline is None or now + delay < deadline:
                    self._on_retry(
                        f"Karmo: {method} {path} {reason}; retrying in {delay:.1f} s "
                        f"(attempt {attempt + 1} of {policy.max_attempts})."
                    )
                    self._sleep(delay)
                    continue
                note = (
                    f"stopped after {now - started:.1f} s: the next wait of {delay:.1f} s would "
                    f"pass the {policy.deadline:g} s retry deadline"
                )
            cut_short = deadline is not None and budget < self.timeout
            raise self._error(method, path, failure, answer, attempt, note, cut_short) from None

    def _attempt(
        self, method: str, path: str, payload: object, budget: float
    ) -> tuple[httpx.Response, bytes]:
        if budget <= 0:
            raise httpx.ReadTimeout("no time left before the retry deadline")
        started = time.perf_counter()
        request = self._http.build_request(
            method,
            self.base_url + path,
            content=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            timeout=budget,
            extensions={_EXPIRES: self._clock() + budget},
        )
        response = self._http.send(request, auth=self._auth, stream=True)
        try:
            content = response.read()
        finally:
            response.close()
        if logger.isEnabledFor(logging.DEBUG):
            request_id = clean(response.headers.get("X-Request-Id", "-"), 80, self._auth.secrets())
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                request_id,
            )
        return response, content

    def _bound(self, response: httpx.Response) -> None:
        """Response hook, for every answer (the mint and a 401 too): cap the body's size
        and end the attempt when its time is up, however slowly the bytes come."""
        expires = response.request.extensions.get(_EXPIRES)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = CappedStream(
            response.stream, lambda: expires is not None and self._clock() >= expires
        )

    def _error(
        self,
        method: str,
        path: str,
        failure: httpx.Response | Exception,
        answer: Answer | None,
        attempts: int,
        note: str | None,
        cut_short: bool,
    ) -> KarmoError:
        if isinstance(failure, httpx.Response):
            assert answer is not None
            status = failure.status_code
            return status_error(
                status,
                karmo_body=answer.karmo_body,
                method=method,
                path=path,
                code=answer.code,
                karmo_message=answer.message,
                errors=answer.errors,
                request_id=answer.request_id,
                meta=answer.meta,
                body_excerpt=answer.body_excerpt,
                location=answer.location if 300 <= status < 400 else None,
                attempts=attempts,
                note=note,
            )
        if isinstance(failure, KarmoError):
            return failure
        if isinstance(failure, httpx.TimeoutException):
            return APITimeoutError(
                method=method,
                path=path,
                base_url=self.base_url,
                timeout=self.timeout,
                deadline=self.retry_policy.deadline if cut_short else None,
                attempts=attempts,
                note=note,
            )
        if isinstance(failure, httpx.TransportError) and not isinstance(
            failure, httpx.LocalProtocolError
        ):
            # Transport messages are the library's, but may quote what the server sent.
            cause = f"{type(failure).__name__}: {failure}" if str(failure) else ""
            cause = clean(cause or type(failure).__name__, 200, self._auth.secrets())
            return APIConnectionError(
                method=method,
                path=path,
                base_url=self.base_url,
                cause=cause,
                attempts=attempts,
                note=note,
            )
        # An invalid header (a token that slipped past the checks), an unencodable value:
        # its own text may quote the header, so only its kind is named.
        return RequestNotSentError(method=method, path=path, cause=type(failure).__name__)


def _segment(value: str) -> str:
    """Percent-encode one path segment: ``/``, ``?``, ``#`` and ``%`` included, and a
    segment of only dots, which URL normalization would otherwise resolve (``..``)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
