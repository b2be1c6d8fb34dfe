"""The one HTTP session every request goes through, whichever service it is for: the
connection pool, the retry policy and deadline, the watchdog on each attempt, the
redaction of what servers say, and the one exception boundary. The clients of
:mod:`.karmo` and :mod:`.workos` are thin faces over it, so they hold to the same bounds
by construction."""

from __future__ import annotations

import base64
import copy
import json
import logging
import math
import random
import time
import urllib.request
from collections.abc import Callable
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

import httpx

from .._version import __version__
from ..errors import ConfigurationError
from .body import ACCEPT_ENCODING, bound_answer
from .credentials import Credential
from .failures import deadline_note, environment_error, failure_error, is_retried, retried
from .retry import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, RetryPolicy
from .untrusted import Answer, clean, read_answer
from .watchdog import attempt, watch

logger = logging.getLogger("pulumi_karmo_roles")

USER_AGENT = f"pulumi-karmo-roles/{__version__} (+python-httpx/{httpx.__version__})"
"""The ``User-Agent`` every request carries."""


class Session:
    """One HTTP session: the connection pool, the retry policy, the watchdog and the
    redaction every request shares, whichever service it goes to.

    :param timeout: seconds each attempt may take, in every phase of the exchange.
    :param max_retries: retries after the first attempt on 429, 5xx outages, connection
        errors and timeouts.
    :param retry_policy: overrides ``max_retries`` with a full policy (delays, caps and
        the deadline of one operation, attempts and waits included).
    :param transport: an httpx transport to use instead of the network (tests).
    :param sleep: called to wait between attempts (tests pass a recorder).
    :param clock: a monotonic clock in seconds, for the deadline.
    :param on_retry: called with one line before each wait between attempts (what
        failed, the wait, attempt n of m); by default logged at INFO.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._sleep = sleep
        self._clock = clock
        self._on_retry = on_retry or (lambda line: logger.info("%s", line))
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography
        self._deadline: float | None = None  # set on an operation's view
        self._credentials: list[Credential] = []
        self._proxy_secrets = proxy_credentials()
        # Never follow a redirect: it would carry a credential elsewhere (a 3xx is an error).
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
        return f"Session(timeout={self.timeout!r})"

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add_credential(self, credential: Credential) -> None:
        """Count ``credential``'s secrets among those redacted from whatever any server of
        this session says (a server may echo another service's key too)."""
        self._credentials.append(credential)

    def secrets(self) -> tuple[str, ...]:
        """Everything a server might echo that must not be shown: every credential's
        tokens and the proxies' credentials."""
        return (*(s for c in self._credentials for s in c.secrets()), *self._proxy_secrets)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def operation(self) -> Session:
        """A view of this session (same pool and credentials) whose calls share one retry
        deadline from now: the requests of one Pulumi operation, e.g. a create's upsert
        and permissions, take ``retry_policy.deadline`` seconds in all."""
        view = copy.copy(self)
        deadline = self.retry_policy.deadline
        view._deadline = None if deadline is None else self._clock() + deadline
        return view

    def time_left(self) -> float:
        """Seconds an operation of this session may still take: what is left of its retry
        deadline (from now, for a session that is no operation's view), or without a
        deadline the longest its retries can take (each attempt at its timeout, each wait
        at its cap). What a read waiting for another thread's answer is bounded by."""
        policy = self.retry_policy
        if policy.deadline is None:
            wait = max(policy.max_delay, policy.max_retry_after)
            return policy.max_attempts * self.timeout + policy.max_retries * wait
        now = self._clock()
        deadline = now + policy.deadline if self._deadline is None else self._deadline
        return max(0.0, deadline - now)

    def request(
        self,
        service: str,
        base_url: str,
        auth: Credential,
        method: str,
        path: str,
        payload: object = None,
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
                response, content = self._attempt(base_url, auth, method, path, payload, budget)
                if response.is_success:
                    return response, content, attempt
                failure = read_answer(response, content, self.secrets())
                retry = retried(failure)
                reason = f"answered {failure.status_code} {failure.status_name}"
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
                        f"{service}: {method} {path} {reason}; retrying in {delay:.1f} s "
                        f"(attempt {attempt + 1} of {policy.max_attempts})."
                    )
                    self._sleep(delay)
                    continue
                note = deadline_note(now - started, delay, policy.deadline)
            said = ""
            if isinstance(failure, Exception):  # its words may quote what the server sent
                said = f"{type(failure).__name__}: {failure}".removesuffix(": ")
                said = clean(said, 200, self.secrets())
            raise failure_error(
                failure,
                said,
                method=method,
                path=path,
                base_url=base_url,
                timeout=self.timeout,
                # An attempt cut short by the deadline blames the deadline, not the timeout.
                deadline=policy.deadline if budget < self.timeout else None,
                attempts=attempt,
                note=note,
                service=service,
            ) from None

    def _attempt(
        self,
        base_url: str,
        auth: Credential,
        method: str,
        path: str,
        payload: object,
        budget: float,
    ) -> tuple[httpx.Response, bytes]:
        if budget <= 0:
            raise httpx.ReadTimeout("no time left before the retry deadline")
        started = time.perf_counter()
        request = self._http.build_request(
            method,
            base_url + path,
            content=None if payload is None else json.dumps(payload).encode(),
            headers={} if payload is None else {"Content-Type": "application/json"},
            timeout=budget,
        )
        with attempt(budget):
            response = self._http.send(request, auth=auth, stream=True)
            try:
                content = response.read()
            finally:
                response.close()
        if logger.isEnabledFor(logging.DEBUG):
            request_id = clean(response.headers.get("X-Request-Id", "-"), 80, self.secrets())
            took = (time.perf_counter() - started) * 1000
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                *(method, path, response.status_code, took, request_id),
            )
        return response, content


class Face:
    """What a client of one service over a :class:`Session` shares."""

    _service = ""

    def __init__(self, base_url: str, auth: Credential, session: Session, owns: bool) -> None:
        # httpx would send it as Basic credentials, and errors quote the base URL.
        if "@" in urlsplit(base_url).netloc:
            if owns:
                session.close()
            raise ConfigurationError(
                f"The {self._service} API URL must not carry a user name or password "
                "(`user:password@`): the credential travels in a header."
            )
        self.base_url = base_url.rstrip("/")
        self.session = session
        self._auth = auth
        self._owns_session = owns
        session.add_credential(auth)

    def __enter__(self) -> Face:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, if this client made its own session."""
        if self._owns_session:
            self.session.close()

    def operation(self) -> Face:
        """A view of this client whose calls share one retry deadline from now (see
        :meth:`Session.operation`)."""
        view = copy.copy(self)
        view.session = self.session.operation()
        return view

    @property
    def timeout(self) -> float:
        """Seconds each attempt may take."""
        return self.session.timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy of the session."""
        return self.session.retry_policy

    def _request(
        self, method: str, path: str, payload: object = None
    ) -> tuple[httpx.Response, bytes, int]:
        return self.session.request(self._service, self.base_url, self._auth, method, path, payload)


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


def segment(value: str) -> str:
    """Percent-encode one path segment: ``/``, ``?``, ``#`` and ``%`` included, and a
    segment of only dots, which URL normalization would otherwise resolve (``..``)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
