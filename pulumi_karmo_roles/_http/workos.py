"""WorkOS's organization-role reads: where Karmo's WorkOS mode stores every role, read
back for refresh, ``get`` and discovery.

The reader checks what it is given (a single-role answer is the role asked for, a list
holds each slug once, every role has a known type) and keeps WorkOS's text as it is: it
reaches the state and discovery's output exactly, and is cleaned only where it is shown
(errors, logs, the terminal)."""

from __future__ import annotations

import re
import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from .._rules import NAME_MAX_LENGTH, organization_id_problem, slug_problem, token_problem
from ..errors import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    InputError,
    InvalidResponseError,
    KarmoError,
    NotFoundError,
)
from .credentials import Credential
from .karmo import ROLE_ID
from .models import WorkOSRoleBody, WorkOSRoleList
from .session import Face, Session, segment
from .untrusted import clean, excerpt, redact_secrets

_ROLES_PATH = "/authorization/organizations/{organization_id}/roles"
_MAX_PERMISSIONS = 1000  # read from WorkOS into state; more is no real role
_ROLE_TYPES = ("OrganizationRole", "EnvironmentRole")
NOT_FOUND_CODE = "entity_not_found"
"""The ``code`` of WorkOS's 404 for an organization or role it does not have; any other
404 (a route miss, a proxy's page) is no answer about the organization."""
# C0 and C1 controls: no rule accepts them, and the Pulumi CLI prints a value holding a
# line break raw, line by line, so they are escaped even in state.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class WorkOSRole:
    """An organization role as WorkOS holds it, its text exactly WorkOS's, so a valid
    name read back equals the declared one byte for byte. Two things only text that no
    rule accepts can hold are changed, and ``altered`` then says so: a credential in use
    (the WorkOS key, the Karmo token), in any encoding a server may echo it, becomes
    ``***`` (it never reaches state), and control characters are escaped (``\\n``,
    ``\\x1b``). A name is cut after 256 characters (it breaks the 255 rule either way)."""

    role_id: str
    """WorkOS's id of the role (``role_…``), the id Karmo returned on upsert."""
    slug: str
    """The role's slug, e.g. ``org-admin``."""
    name: str
    """The role's name."""
    permissions: tuple[str, ...]
    """Its permission slugs, sorted and unique."""
    altered: str | None = None
    """Why the text is not exactly WorkOS's (e.g. ``name holds control character
    U+001B``), or ``None`` when it is."""


class _ApiKey(Credential):
    """A WorkOS API key, sent as a bearer token."""

    def __init__(self, key: str) -> None:
        if token_problem(key):
            raise ConfigurationError(
                "karmo:workosApiKey (or WORKOS_API_KEY) is not a usable WorkOS API key (it "
                "must be printable ASCII without spaces). Set it again with `pulumi config "
                "set --secret karmo:workosApiKey <key>` (or in WORKOS_API_KEY)."
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


class WorkOSReader(Face):
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
        ``None`` if WorkOS has no such role (``GET .../roles/{slug}`` answered WorkOS's
        404, ``entity_not_found``).

        :raises InputError: the organization id or slug breaks its rule, or the slug names
            a WorkOS environment role, not an organization role.
        :raises InvalidResponseError: the answer is not the role asked for (another slug,
            no known ``type``), or the list holds a slug twice.
        :raises NotFoundError: a 404 that is not WorkOS's ``entity_not_found``.
        :raises KarmoError: the read failed (see :mod:`pulumi_karmo_roles.errors`).
        """
        _held_to_rules(organization_id, slug)
        listed = self._list(organization_id)
        found = next((r for r in listed if r.slug == slug), None)
        if found is None:  # not in the list: ask for it alone before calling it gone
            path = _ROLES_PATH.format(organization_id=segment(organization_id))
            path += "/" + segment(slug)
            try:
                response, content, attempts = self._request("GET", path)
            except NotFoundError as exc:
                if exc.code == NOT_FOUND_CODE:
                    return None
                raise
            found = self._parsed(WorkOSRoleBody, "GET", path, response, content, attempts)
            if found.slug != slug or found.type not in _ROLE_TYPES:
                raise InvalidResponseError(
                    method="GET",
                    path=path,
                    status_code=response.status_code,
                    body_excerpt=excerpt(content, secrets=self.session.secrets()),
                    attempts=attempts,
                    service="WorkOS",
                    expected=f"the role {slug!r} (type OrganizationRole)",
                )
        return self._checked(organization_id, found)

    def roles(self, organization_id: str) -> list[WorkOSRole]:
        """The organization roles of ``organization_id`` (environment roles left out), in
        WorkOS's order (``GET /authorization/organizations/{organizationId}/roles``).

        :raises InputError: the organization id breaks its rule.
        :raises InvalidResponseError: the list holds a slug twice, or a role of no known
            type.
        """
        _held_to_rules(organization_id)
        return [self._role(r) for r in self._list(organization_id) if r.type == "OrganizationRole"]

    def _list(self, organization_id: str) -> list[WorkOSRoleBody]:
        """The organization's role list: read by the first caller, waited for by the
        others (each for at most what is left of its own operation's deadline)."""
        path = _ROLES_PATH.format(organization_id=segment(organization_id))
        with self._lock:
            pending = self._lists.get(organization_id)
            fetch = pending is None
            if pending is None:
                pending = self._lists[organization_id] = _Pending()
        if not fetch:
            return pending.wait(self, path)
        try:
            response, content, attempts = self._request("GET", path)
            answer: WorkOSRoleList = self._parsed(
                WorkOSRoleList, "GET", path, response, content, attempts
            )
            _checked_list(answer.data, path, content, attempts, self.session.secrets())
        except BaseException as exc:  # an interrupt too: never leave the entry behind
            with self._lock:  # a later read asks again
                if self._lists.get(organization_id) is pending:
                    del self._lists[organization_id]
            pending.fail(exc)
            raise
        pending.give(answer.data)
        return answer.data

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
        return self._role(role)

    def _role(self, role: WorkOSRoleBody) -> WorkOSRole:
        secrets = self.session.secrets()
        if len(role.permissions) > _MAX_PERMISSIONS or not ROLE_ID.fullmatch(role.id):
            raise InvalidResponseError(
                method="GET",
                path=_ROLES_PATH,
                status_code=200,
                body_excerpt=clean(role.id, 60, secrets),
                service="WorkOS",
                expected=f"a role with an id and at most {_MAX_PERMISSIONS} permissions",
            )
        altered: list[str] = []
        slug = _kept("slug", role.slug, secrets, altered)
        name = _kept("name", role.name, secrets, altered)[: NAME_MAX_LENGTH + 1]
        permissions = {_kept("a permission", p, secrets, altered) for p in role.permissions}
        return WorkOSRole(
            role_id=role.id,
            slug=slug,
            name=name,
            permissions=tuple(sorted(permissions)),
            altered=altered[0] if altered else None,
        )


def _held_to_rules(organization_id: str, slug: str | None = None) -> None:
    """Refuse an organization id or slug no request may carry (one that cannot even be
    encoded, such as a command line's undecodable bytes), before anything is sent."""
    problem = organization_id_problem(organization_id)
    if problem is None and slug is not None:
        problem = slug_problem(slug, "generic")
    if problem:
        raise InputError(f"cannot read roles from WorkOS: {problem}")


def _checked_list(
    roles: list[WorkOSRoleBody], path: str, content: bytes, attempts: int, secrets: Iterable[str]
) -> None:
    """Refuse a list that holds a slug twice (which of the two is the role?) or a role
    of no known type."""
    seen: set[str] = set()
    for role in roles:
        problem = None
        if role.type not in _ROLE_TYPES:
            problem = f"a role of unknown type {clean(role.type, 40, secrets)!r}"
        elif role.slug in seen:
            problem = f"the slug {clean(role.slug, 60, secrets)!r} twice"
        if problem:
            raise InvalidResponseError(
                method="GET",
                path=path,
                status_code=200,
                body_excerpt=excerpt(content, secrets=secrets),
                attempts=attempts,
                service="WorkOS",
                expected=f"a list of roles (it holds {problem})",
            )
        seen.add(role.slug)


def _kept(what: str, text: str, secrets: Iterable[str], altered: list[str]) -> str:
    """``text`` as WorkOS holds it, but for a credential in use and control characters;
    what was changed is appended to ``altered``."""
    kept = redact_secrets(text, secrets)
    if kept != text:
        altered.append(f"{what} holds a credential in use (shown as ***)")
    control = _CONTROL.search(kept)
    if control is not None:
        altered.append(f"{what} holds control character U+{ord(control.group()):04X}")
        kept = _CONTROL.sub(lambda m: repr(m.group())[1:-1], kept)
    return kept


class _Pending:
    """One list answer that several threads wait for."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: list[WorkOSRoleBody] = []
        self._error: BaseException | None = None
        self._count = threading.Lock()
        self.waiting = 0  # threads in wait(), for tests to know they are there

    def give(self, value: list[WorkOSRoleBody]) -> None:
        self._value = value
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def wait(self, reader: WorkOSReader, path: str) -> list[WorkOSRoleBody]:
        """The answer, once the reading thread has it, within what is left of
        ``reader``'s operation. Its failure, if a :class:`KarmoError`; anything else
        (an interrupt, a bug) stays in the thread it happened in, and a waiter gets an
        :class:`APIError`."""
        with self._count:
            self.waiting += 1
        try:
            done = self._done.wait(reader.session.time_left())
        finally:
            with self._count:
                self.waiting -= 1
        if not done:
            policy = reader.retry_policy
            raise APITimeoutError(
                method="GET",
                path=path,
                base_url=reader.base_url,
                timeout=reader.timeout,
                deadline=policy.deadline,
                attempts=0,
                note="waited for the same read, made for another operation",
                service="WorkOS",
            )
        error = self._error
        if isinstance(error, KarmoError):
            raise error
        if error is not None:
            raise APIError(
                f"WorkOS's answer to GET {path} was being read for another operation, "
                f"which stopped ({type(error).__name__}) before it had it. Run the command "
                "again.",
                method="GET",
                path=path,
                attempts=0,
                service="WorkOS",
            )
        return self._value
