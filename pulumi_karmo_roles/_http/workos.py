"""WorkOS's organization-role reads: where Karmo's WorkOS mode stores every role, read
back for refresh, ``get`` and discovery."""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from .._rules import NAME_MAX_LENGTH, token_problem
from ..errors import ConfigurationError, InputError, InvalidResponseError, NotFoundError
from .credentials import Credential
from .karmo import ROLE_ID
from .models import WorkOSRoleBody, WorkOSRoleList
from .session import Face, Session, segment
from .untrusted import clean, excerpt

_ROLES_PATH = "/authorization/organizations/{organization_id}/roles"
_MAX_PERMISSIONS = 1000  # read from WorkOS into state; more is no real role


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
        ``None`` if WorkOS has no such role (``GET .../roles/{slug}`` answered 404).

        :raises InputError: the slug names a WorkOS environment role, not an
            organization role.
        :raises KarmoError: the read failed (see :mod:`pulumi_karmo_roles.errors`).
        """
        listed = self._list(organization_id)
        found = next((r for r in listed if r.slug == slug), None)
        if found is None:  # not in the list: ask for it alone before calling it gone
            path = _ROLES_PATH.format(organization_id=segment(organization_id))
            path += "/" + segment(slug)
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
            path = _ROLES_PATH.format(organization_id=segment(organization_id))
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
        if len(role.permissions) > _MAX_PERMISSIONS or not ROLE_ID.fullmatch(role.id):
            raise InvalidResponseError(
                method="GET",
                path=_ROLES_PATH,
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
