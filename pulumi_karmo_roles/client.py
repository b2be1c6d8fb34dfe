"""A small synchronous client for Karmo's organization-role endpoints.

It knows HTTP and Karmo's contract, and nothing of Pulumi. One client holds one
``httpx.Client`` (a keep-alive pool that honours ``HTTP(S)_PROXY``, ``ALL_PROXY``,
``NO_PROXY`` and ``SSL_CERT_FILE``) and is safe to share between threads. Credentials
are ``httpx.Auth`` flows (:mod:`.credentials`); everything the server says is cleaned by
:mod:`.untrusted`; every message is composed in :mod:`.errors`.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import math
import random
import re
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

import httpx

from ._version import __version__
from ._watchdog import attempt, watch
from .credentials import BearerToken, Credential
from .errors import (
    InvalidResponseError,
    deadline_note,
    environment_error,
    failure_error,
    is_retried,
    status_error_class,
    status_name,
)
from .models import parse_role_id
from .retry import DEFAULT_MAX_RETRIES, RetryPolicy
from .untrusted import ACCEPT_ENCODING, Answer, bound_answer, clean, excerpt, read_answer
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
        self._proxy_secrets = proxy_credentials()
        # Never follow a redirect: it would carry the token elsewhere (a 3xx is an error).
        try:
            self._http = httpx.Client(
                transport=transport,
                follow_redirects=False,
                timeout=timeout,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept": "application/json",
                    "Accept-Encoding": ACCEPT_ENCODING,
                },
                # Every answer (a mint's and a 401's too) is bounded in size after decoding.
                event_hooks={"response": [bound_answer]},
            )
        except Exception as exc:  # proxy or CA variables unusable (httpx.InvalidURL, OSError)
            raise environment_error(exc, self._proxy_secrets) from None
        # ...and in time: every attempt ends at its limit, whatever phase it is in.
        watch(self._http)

    def __repr__(self) -> str:
        return f"KarmoClient(base_url={self.base_url!r}, auth='***')"

    def _secrets(self) -> tuple[str, ...]:
        """Everything the server might echo that must not be shown: the credential's
        tokens and the proxies' credentials."""
        return (*self._auth.secrets(), *self._proxy_secrets)

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
        status, role_id = response.status_code, parse_role_id(content)
        if status in (200, 201) and role_id is not None and _ROLE_ID.fullmatch(role_id):
            return UpsertedRole(role_id=role_id, created=status == 201)
        raise InvalidResponseError(
            method="PUT",
            path=path,
            status_code=status,
            body_excerpt=excerpt(content, secrets=self._secrets()),
            role_id=None if role_id is None else clean(role_id, 60, self._secrets()),
            max_length=NAME_MAX_LENGTH,
            attempts=attempts,
        )

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
        policy = self.retry_policy
        started = self._clock()
        deadline = self._deadline
        if deadline is None and policy.deadline is not None:
            deadline = started + policy.deadline
        attempt = 0
        while True:
            attempt += 1
            # An attempt gets its timeout, or what is left of the deadline if that is less.
            left = math.inf if deadline is None else deadline - self._clock()
            budget = min(self.timeout, left)
            failure: Answer | Exception
            try:
                response, content = self._attempt(method, path, payload, budget)
                if response.is_success:
                    return response, content, attempt
                failure = read_answer(response, content, self._secrets())
                status = failure.status_code
                retry = status_error_class(status, karmo_body=failure.karmo_body).retried
                reason = f"answered {status} {status_name(status)}"
                retry_after = failure.retry_after
            except Exception as exc:  # the boundary: see failure_error
                failure, retry_after = exc, None
                retry = is_retried(exc)
                reason = f"failed ({type(exc).__name__})"
            note = None
            if retry and attempt < policy.max_attempts:
                rand = self._random.random()
                delay = policy.delay(attempt, retry_after=retry_after, now=time.time(), rand=rand)
                now = self._clock()
                if deadline is None or now + delay < deadline:
                    self._on_retry(
                        f"Karmo: {method} {path} {reason}; retrying in {delay:.1f} s "
                        f"(attempt {attempt + 1} of {policy.max_attempts})."
                    )
                    self._sleep(delay)
                    continue
                note = deadline_note(now - started, delay, policy.deadline)
            said = ""
            if isinstance(failure, Exception):  # its words may quote what the server sent
                said = f"{type(failure).__name__}: {failure}".removesuffix(": ")
                said = clean(said, 200, self._secrets())
            raise failure_error(
                failure,
                said,
                method=method,
                path=path,
                base_url=self.base_url,
                timeout=self.timeout,
                # An attempt cut short by the deadline blames the deadline, not the timeout.
                deadline=policy.deadline if budget < self.timeout else None,
                attempts=attempt,
                note=note,
            ) from None

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
        )
        with attempt(budget):
            response = self._http.send(request, auth=self._auth, stream=True)
            try:
                content = response.read()
            finally:
                response.close()
        if logger.isEnabledFor(logging.DEBUG):
            request_id = clean(response.headers.get("X-Request-Id", "-"), 80, self._secrets())
            took = (time.perf_counter() - started) * 1000
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                *(method, path, response.status_code, took, request_id),
            )
        return response, content


def proxy_credentials() -> tuple[str, ...]:
    """The credentials in the proxy variables (``HTTPS_PROXY`` and the others httpx
    reads), as a proxy may echo them: ``user:password`` as written and decoded, its
    base64 form (the ``Proxy-Authorization`` header), and the password alone."""
    found: list[str] = []
    for url in urllib.request.getproxies().values():
        netloc = urlsplit(url if "://" in url else "http://" + url).netloc
        userinfo, at, _ = netloc.rpartition("@")
        if not at or not userinfo:
            continue
        decoded = unquote(userinfo)
        found += [userinfo, decoded, base64.b64encode(decoded.encode()).decode()]
        password = decoded.partition(":")[2]
        if len(password) >= 3:  # shorter ones would redact ordinary words
            found += [password, userinfo.partition(":")[2]]
    return tuple(dict.fromkeys(found))


def _segment(value: str) -> str:
    """Percent-encode one path segment: ``/``, ``?``, ``#`` and ``%`` included, and a
    segment of only dots, which URL normalization would otherwise resolve (``..``)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
