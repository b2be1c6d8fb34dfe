"""Karmo's organization-role endpoints: the upsert and the permission set."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from .._rules import NAME_MAX_LENGTH
from ..errors import InvalidResponseError
from .credentials import BearerToken, Credential
from .models import parse_role_id
from .retry import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, RetryPolicy
from .session import Face, Session, segment
from .untrusted import clean, excerpt

_ROLE_PATH = "/organizations/{organization_id}/roles/{slug}"
_PERMISSIONS_PATH = _ROLE_PATH + "/permissions"
# A role id is stored in state and shown in the CLI: printable ASCII, no spaces, and no
# longer than the other identifiers.
ROLE_ID = re.compile(rf"[!-~]{{1,{NAME_MAX_LENGTH}}}")


@dataclass(frozen=True)
class UpsertedRole:
    """What Karmo answered to an upsert."""

    role_id: str
    """The access provider's role identifier, e.g. ``role_01HXYZ``."""
    created: bool
    """True if Karmo answered 201 (the role did not exist), False for 200 (updated)."""


class KarmoClient(Face):
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

        :raises KarmoError: a subclass that says what went wrong.
        """
        path = _ROLE_PATH.format(organization_id=segment(organization_id), slug=segment(slug))
        response, content, attempts = self._request("PUT", path, {"name": name})
        status, role_id = response.status_code, parse_role_id(content)
        if status in (200, 201) and role_id is not None and ROLE_ID.fullmatch(role_id):
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
        :raises KarmoError: a subclass that says what went wrong.
        """
        path = _PERMISSIONS_PATH.format(
            organization_id=segment(organization_id), slug=segment(slug)
        )
        wanted = sorted(set(permissions))
        self._request("PUT", path, {"permissions": wanted})
        return wanted
