"""Karmo's organization-role endpoints, and WorkOS's role reads, over one HTTP session.

It knows HTTP and the two contracts, and nothing of Pulumi. A :class:`Session` holds the
one ``httpx.Client`` (a keep-alive pool that honours ``HTTP(S)_PROXY``, ``ALL_PROXY``,
``NO_PROXY`` and ``SSL_CERT_FILE``), the retry policy and deadline, the watchdog on
each attempt, the redaction of everything a server says and the one exception boundary.
:class:`KarmoClient` (writes) and :class:`WorkOSReader` (reads) are thin faces over it,
so both hold to the same bounds by construction. Safe to share between threads.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import math
import random
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from pydantic import ValidationError

from ._version import __version__
from ._watchdog import attempt, watch
from .credentials import BearerToken, Credential, token_problem
from .errors import (
    ConfigurationError,
    InputError,
    InvalidResponseError,
    NotFoundError,
    deadline_note,
    environment_error,
    failure_error,
    is_retried,
    status_error_class,
    status_name,
)
from .models import WorkOSRoleBody, WorkOSRoleList, parse_role_id
from .retry import DEFAULT_MAX_RETRIES, RetryPolicy
from .untrusted import ACCEPT_ENCODING, Answer, bound_answer, clean, excerpt, read_answer
from .validation import NAME_MAX_LENGTH

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_WORKOS_API_URL",
    "USER_AGENT",
    "KarmoClient",
    "Session",
    "UpsertedRole",
    "WorkOSReader",
    "WorkOSRole",
    "proxy_credentials",
]

logger = logging.getLogger("pulumi_karmo_roles")

USER_AGENT = f"pulumi-karmo-roles/{__version__} (+python-httpx/{httpx.__version__})"
"""The ``User-Agent`` every request carries."""

DEFAULT_TIMEOUT = 30.0
"""Seconds one attempt may take, from connecting to the last byte of the answer."""

DEFAULT_WORKOS_API_URL = "https://api.workos.com"
"""WorkOS's API, unless ``karmo:workosApiUrl`` says otherwise."""

_ROLE_PATH = "/organizations/{organization_id}/roles/{slug}"
_PERMISSIONS_PATH = _ROLE_PATH + "/permissions"
_WORKOS_ROLES_PATH = "/authorization/organizations/{organization_id}/roles"
# A role id is stored in state and shown in the CLI: printable ASCII, no spaces, and no
# longer than the other identifiers.
_ROLE_ID = re.compile(rf"[!-~]{{1,{NAME_MAX_LENGTH}}}")
_MAX_PERMISSIONS = 1000  # read from WorkOS into state; more is no real role


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


class _Face:
    """What a client of one service over a :class:`Session` shares."""

    _service = ""

    def __init__(self, base_url: str, auth: Credential, session: Session, owns: bool) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self._auth = auth
        self._owns_session = owns
        session.add_credential(auth)

    def __enter__(self) -> _Face:
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

    def operation(self) -> _Face:
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


@dataclass(frozen=True)
class UpsertedRole:
    """What Karmo answered to an upsert."""

    role_id: str
    """The access provider's role identifier, e.g. ``role_01HXYZ``."""
    created: bool
    """True if Karmo answered 201 (the role did not exist), False for 200 (updated)."""


class KarmoClient(_Face):
    """Calls Karmo's role endpoints with a credential, timeouts and retries.

    :param base_url: Karmo's API base URL; it may carry a path prefix
        (``https://api.example.com/auth-api``).
    :param auth: a bearer token, or a :class:`~.credentials.Credential` such as
        :class:`~.credentials.ServiceToken`. Sent in the ``Authorization`` header only;
        never in ``repr()``, logs or errors, and redacted from anything a server echoes.
    :param session: the :class:`Session` to send through (shared with a
        :class:`WorkOSReader`); by default a new one from the keyword arguments below,
        which are :class:`Session`'s.
    """

    _service = "Karmo"

    def __init__(
        self,
        base_url: str,
        auth: str | Credential,
        *,
        session: Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        credential = BearerToken(auth) if isinstance(auth, str) else auth
        owns = session is None
        if session is None:
            session = Session(
                timeout=timeout,
                max_retries=max_retries,
                retry_policy=retry_policy,
                transport=transport,
                sleep=sleep,
                clock=clock,
                on_retry=on_retry,
            )
        super().__init__(base_url, credential, session, owns)

    def __repr__(self) -> str:
        return f"KarmoClient(base_url={self.base_url!r}, auth='***')"

    def __enter__(self) -> KarmoClient:
        return self

    def operation(self) -> KarmoClient:
        """A view of this client whose calls share one retry deadline from now."""
        view = super().operation()
        assert isinstance(view, KarmoClient)
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
        secrets = self.session.secrets()
        raise InvalidResponseError(
            method="PUT",
            path=path,
            status_code=status,
            body_excerpt=excerpt(content, secrets=secrets),
            role_id=None if role_id is None else clean(role_id, 60, secrets),
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


@dataclass(frozen=True)
class WorkOSRole:
    """An organization role as WorkOS holds it, every text cleaned (a name WorkOS holds
    with control characters or beyond the length rule comes back escaped or cut, and so
    differs from any valid declared name)."""

    role_id: str
    """WorkOS's id of the role (``role_…``), the id Karmo returned on upsert."""
    slug: str
    """The role's slug, e.g. ``org-admin``."""
    name: str
    """The role's name."""
    permissions: tuple[str, ...]
    """Its permission slugs, sorted and unique."""


class _ApiKey(Credential):
    """A WorkOS API key, sent as a bearer token."""

    def __init__(self, key: str) -> None:
        if token_problem(key):
            raise ConfigurationError(
                "karmo:workosApiKey is not a usable WorkOS API key (it must be printable "
                "ASCII without spaces). Set it again with `pulumi config set --secret "
                "karmo:workosApiKey <key>`."
            )
        self._key = key

    def __repr__(self) -> str:
        return "WorkOSApiKey('***')"

    def secrets(self) -> tuple[str, ...]:
        """The key."""
        return (self._key,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send the key."""
        request.headers["Authorization"] = f"Bearer {self._key}"
        yield request


class WorkOSReader(_Face):
    """Reads organization roles from WorkOS (Karmo's WorkOS mode stores every role it
    upserts there), over a :class:`Session` shared with the :class:`KarmoClient`.

    Each organization's role list is read once per reader and shared by every read of
    its roles, from any thread: a refresh of hundreds of roles in a few organizations
    makes a few requests. A role missing from the list is asked for once more on its
    own before it counts as gone.

    :param base_url: WorkOS's API (``karmo:workosApiUrl``, default
        :data:`DEFAULT_WORKOS_API_URL`).
    :param api_key: the WorkOS API key (``karmo:workosApiKey``): sent in the
        ``Authorization`` header only, and redacted from anything a server echoes.
    """

    _service = "WorkOS"

    def __init__(self, base_url: str, api_key: str, *, session: Session) -> None:
        super().__init__(base_url, _ApiKey(api_key.strip()), session, owns=False)
        self._lock = threading.Lock()
        self._lists: dict[str, _Pending] = {}

    def __repr__(self) -> str:
        return f"WorkOSReader(base_url={self.base_url!r}, api_key='***')"

    def operation(self) -> WorkOSReader:
        """A view of this reader (sharing its list answers) whose calls share one retry
        deadline from now."""
        view = super().operation()
        assert isinstance(view, WorkOSReader)
        return view

    def role(self, organization_id: str, slug: str) -> WorkOSRole | None:
        """The organization role ``slug`` of ``organization_id`` as WorkOS holds it, or
        ``None`` if WorkOS has no such role (``GET .../roles/{slug}`` answered 404).

        :raises InputError: the slug names a WorkOS environment role, not an
            organization role.
        :raises KarmoError: the read failed (see :mod:`.errors`).
        """
        listed = self._list(organization_id)
        found = next((r for r in listed if r.slug == slug), None)
        if found is None:  # not in the list: ask for it alone before calling it gone
            path = _WORKOS_ROLES_PATH.format(organization_id=_segment(organization_id))
            path += "/" + _segment(slug)
            try:
                response, content, attempts = self._request("GET", path)
            except NotFoundError:
                return None
            found = self._parsed(WorkOSRoleBody, "GET", path, response, content, attempts)
        return self._checked(organization_id, found)

    def roles(self, organization_id: str) -> list[WorkOSRole]:
        """The organization roles of ``organization_id`` (environment roles left out), in
        WorkOS's order (``GET /authorization/organizations/{organizationId}/roles``)."""
        return [
            self._cleaned(r) for r in self._list(organization_id) if r.type == "OrganizationRole"
        ]

    def _list(self, organization_id: str) -> list[WorkOSRoleBody]:
        with self._lock:
            pending = self._lists.get(organization_id)
            fetch = pending is None
            if pending is None:
                pending = self._lists[organization_id] = _Pending()
        if fetch:
            path = _WORKOS_ROLES_PATH.format(organization_id=_segment(organization_id))
            try:
                response, content, attempts = self._request("GET", path)
                answer = self._parsed(WorkOSRoleList, "GET", path, response, content, attempts)
            except BaseException as exc:
                with self._lock:  # a later read asks again
                    del self._lists[organization_id]
                pending.fail(exc)
                raise
            pending.give(answer.data)
        return pending.wait()

    def _parsed(
        self,
        model: type[WorkOSRoleBody] | type[WorkOSRoleList],
        method: str,
        path: str,
        response: httpx.Response,
        content: bytes,
        attempts: int,
    ) -> Any:
        try:
            return model.model_validate_json(content)
        except (ValidationError, RecursionError):
            raise InvalidResponseError(
                method=method,
                path=path,
                status_code=response.status_code,
                body_excerpt=excerpt(content, secrets=self.session.secrets()),
                attempts=attempts,
                service="WorkOS",
                expected="a role" if model is WorkOSRoleBody else "a list of roles",
            ) from None

    def _checked(self, organization_id: str, role: WorkOSRoleBody) -> WorkOSRole:
        if role.type != "OrganizationRole":
            secrets = self.session.secrets()
            raise InputError(
                f"slug {clean(role.slug, 60, secrets)!r} names a WorkOS "
                f"{clean(role.type, 40, secrets)} in organization {organization_id!r}, not "
                "an organization role: Karmo's organization roles cannot use it. Choose "
                "another slug."
            )
        return self._cleaned(role)

    def _cleaned(self, role: WorkOSRoleBody) -> WorkOSRole:
        secrets = self.session.secrets()
        if len(role.permissions) > _MAX_PERMISSIONS or not _ROLE_ID.fullmatch(role.id):
            raise InvalidResponseError(
                method="GET",
                path=_WORKOS_ROLES_PATH,
                status_code=200,
                body_excerpt=clean(role.id, 60, secrets),
                service="WorkOS",
                expected=f"a role with an id and at most {_MAX_PERMISSIONS} permissions",
            )
        return WorkOSRole(
            role_id=role.id,
            slug=clean(role.slug, NAME_MAX_LENGTH + 1, secrets),
            name=clean(role.name, NAME_MAX_LENGTH + 1, secrets),
            permissions=tuple(sorted({clean(p, 200, secrets) for p in role.permissions})),
        )


class _Pending:
    """One answer that several threads wait for."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: list[WorkOSRoleBody] = []
        self._error: BaseException | None = None

    def give(self, value: list[WorkOSRoleBody]) -> None:
        self._value = value
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def wait(self) -> list[WorkOSRoleBody]:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


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
