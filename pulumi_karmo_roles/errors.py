"""Errors raised by pulumi-karmo-roles, all rooted at :class:`KarmoError`.

::

    KarmoError
    ├── ConfigurationError            apiUrl / token / timeout / maxRetries missing or invalid
    ├── InputError                    a role's properties break a rule (or a malformed id)
    │   ├── CatalogError              a role catalog (file or mapping) breaks a rule
    │   └── DuplicateRoleError        two resources in one program declare the same role
    ├── ServiceTokenError             Karmo would not issue a service token (aws-sigv4 auth)
    ├── PermissionsNotAppliedError    the role was written, its permissions were not
    └── APIError                      something went wrong talking to Karmo
        ├── APIConnectionError        Karmo could not be reached (refused, reset, DNS)
        │   └── APITimeoutError       Karmo did not answer within the timeout
        ├── InvalidResponseError      Karmo said yes, but the body is unusable
        └── APIStatusError            Karmo answered with a non-2xx status
            ├── BadRequestError             400
            ├── AuthenticationError         401
            ├── PermissionDeniedError       403
            ├── NotFoundError               404
            ├── ConflictError               409
            ├── UnprocessableEntityError    422
            ├── RateLimitError              429
            ├── InternalServerError         500, 502, 504 and other 5xx
            └── ProviderNotConfiguredError  503 with a Karmo error body

``str(error)`` is what ``pulumi up`` shows the user: one line that says what
failed and what to do next. It never contains the API token: errors keep the
method and path of the request, never its headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CatalogError",
    "ConfigurationError",
    "ConflictError",
    "DuplicateRoleError",
    "FieldError",
    "InputError",
    "InternalServerError",
    "InvalidResponseError",
    "KarmoError",
    "NotFoundError",
    "PermissionDeniedError",
    "PermissionsNotAppliedError",
    "ProviderNotConfiguredError",
    "RateLimitError",
    "ServiceTokenError",
    "UnprocessableEntityError",
    "status_error",
]


class KarmoError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(KarmoError):
    """The provider's settings (``karmo:*`` stack config or ``KARMO_*`` variables) are
    missing or invalid. Raised before any request is sent."""


class InputError(KarmoError, ValueError):
    """A role's properties, or a resource id given to ``OrganizationRole.get``, break a rule.

    ``pulumi preview`` reports the same rules as check failures; this is raised when an
    invalid value reaches an operation some other way.
    """


class CatalogError(InputError):
    """A role catalog breaks a rule: the file cannot be read or parsed, or an entry breaks
    the same rules ``pulumi preview`` checks. The message names the file (or the
    :class:`~pulumi_karmo_roles.OrganizationRoleSet` given the catalog) and, for each
    problem, the path inside it, e.g. ``roles.org-admin.permissions[1]``."""


class DuplicateRoleError(InputError):
    """Two resources in one program declare the same role (the same organization id and
    slug): they would overwrite each other on every ``pulumi up``. The message names both
    resources and their URNs. Lookups with ``OrganizationRole.get`` are not declarations."""


@dataclass(frozen=True)
class FieldError:
    """One entry of a Karmo error's ``errors`` list."""

    pointer: str | None
    """JSON pointer to the offending value in the request body, e.g. ``/name``."""
    detail: str | None
    """Karmo's explanation for this field."""

    def __str__(self) -> str:
        if self.pointer and self.detail:
            return f"{self.pointer}: {self.detail}"
        return self.pointer or self.detail or "(no detail)"


class ServiceTokenError(KarmoError):
    """``POST /auth/token`` did not yield a service token (``karmo:auth`` is
    ``aws-sigv4``): the AWS identity may not call it, or the answer was unusable."""


class PermissionsNotAppliedError(KarmoError):
    """The role was created or renamed, but setting its permissions failed. The role
    exists in Karmo with its previous permissions; both calls are idempotent, so the next
    ``pulumi up`` converges. The failure itself is the ``__cause__``."""

    role_id: str
    """The role's id, which Karmo returned before the permissions failed."""

    def __init__(self, message: str, *, role_id: str) -> None:
        super().__init__(message)
        self.role_id = role_id


class APIError(KarmoError):
    """A request to Karmo failed. ``method`` and ``path`` name the request (the path is
    relative to ``karmo:apiUrl``); ``attempts`` is how many times it was sent."""

    method: str
    path: str
    attempts: int

    def __init__(self, message: str, *, method: str, path: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.attempts = attempts


class APIConnectionError(APIError):
    """Karmo could not be reached: connection refused or reset, DNS failure, TLS error.
    Raised after the retries ran out."""


class APITimeoutError(APIConnectionError):
    """Karmo did not answer within ``karmo:timeout`` seconds, on every attempt."""


class InvalidResponseError(APIError):
    """Karmo answered 200/201 but the body is not the role id it should be.

    The upsert may have happened; running ``pulumi up`` again converges.
    """


class APIStatusError(APIError):
    """Karmo answered with a non-2xx status.

    The attributes carry everything Karmo said; ``str()`` combines them into one line:
    ``Karmo rejected PUT /organizations/org_123/roles/org-admin: 422 UNPROCESSABLE_ENTITY
    (code 42200001): Request validation failed; /name: must not be blank. <what to do>``
    """

    hint: ClassVar[str] = "Check the request and run `pulumi up` again."
    status_code: int
    """The HTTP status of Karmo's answer."""
    code: str | None
    """Karmo's 8-digit error code, e.g. ``42200001``, if the body carried one."""
    karmo_message: str | None
    """Karmo's own ``message``."""
    errors: tuple[FieldError, ...]
    """Karmo's field errors, each with a JSON pointer and a detail."""
    request_id: str | None
    """Karmo's request id (``meta.requestId`` or the ``X-Request-Id`` header): quote it to
    Karmo's operators."""
    meta: Mapping[str, Any]
    """Karmo's ``meta`` object, as sent."""
    body_excerpt: str | None
    """For a body that is not a Karmo error (a proxy's HTML page), a short cleaned excerpt."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status_code: int,
        code: str | None = None,
        karmo_message: str | None = None,
        errors: Sequence[FieldError] = (),
        request_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        body_excerpt: str | None = None,
        attempts: int = 1,
        note: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.karmo_message = karmo_message
        self.errors = tuple(errors)
        self.request_id = request_id
        self.meta = dict(meta or {})
        self.body_excerpt = body_excerpt
        super().__init__(
            self._format(method, path, attempts, note),
            method=method,
            path=path,
            attempts=attempts,
        )

    def _format(self, method: str, path: str, attempts: int, note: str | None) -> str:
        verb = "rejected" if self.status_code < 500 else "failed"
        head = f"Karmo {verb} {method} {path}: {self.status_code} {status_name(self.status_code)}"
        if self.code:
            head += f" (code {self.code})"
        said = [self.karmo_message] if self.karmo_message else []
        said += [str(e) for e in self.errors]
        if not said and self.body_excerpt:
            said.append(f"response was not a Karmo error: {self.body_excerpt!r}")
        text = head + (": " + "; ".join(said) if said else "")
        if attempts > 1 or note:
            text += f" (after {attempts} attempt{'s' if attempts != 1 else ''}"
            text += f"; {note})" if note else ")"
        text = text.rstrip(". ") + ". " + self.hint
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text


class BadRequestError(APIStatusError):
    """400: Karmo could not read the request."""

    hint = (
        "Karmo could not read the request pulumi-karmo-roles sent: this is likely a bug "
        "in the provider; please report it with the request id."
    )


class AuthenticationError(APIStatusError):
    """401: the bearer token was missing, malformed, expired or unknown."""

    hint = (
        "Karmo refused the token: check `karmo:token` (or KARMO_TOKEN) and that it has "
        "not expired. destroy and refresh use the config recorded at the last `pulumi up`."
    )


class PermissionDeniedError(APIStatusError):
    """403: the token is valid but may not manage roles in this organization."""

    hint = (
        "The token is valid but not allowed to manage roles here: use a token with access "
        "to this organization, or ask Karmo's operators to grant it."
    )


class NotFoundError(APIStatusError):
    """404: Karmo (or its access provider) does not know the organization."""

    hint = (
        "Karmo does not know this organization: check `organization_id` (in WorkOS mode "
        "the WorkOS organization id, e.g. org_123) and that `karmo:apiUrl` is the right "
        "environment."
    )


class ConflictError(APIStatusError):
    """409: the role conflicts with another one or with a concurrent change."""

    hint = (
        "The role conflicts with an existing one or a concurrent change: resolve the "
        "conflict in Karmo (or choose another slug) and run `pulumi up` again."
    )


class UnprocessableEntityError(APIStatusError):
    """422: Karmo's validation rejected a field; each pointer names it."""

    hint = "Correct the property each pointer names and run `pulumi up` again."


class RateLimitError(APIStatusError):
    """429: Karmo or its access provider kept rate-limiting the requests."""

    hint = (
        "Karmo kept rate-limiting the requests: wait a minute and run `pulumi up` again, "
        "or lower its concurrency with `pulumi up --parallel N`."
    )


class InternalServerError(APIStatusError):
    """500 (or 502/504, or a 503 without a Karmo body): Karmo failed on its side."""

    hint = (
        "Karmo failed on its side: try again later; the upsert is idempotent, so running "
        "`pulumi up` again converges."
    )


class ProviderNotConfiguredError(APIStatusError):
    """503 with a Karmo error body: the environment's access-management provider (WorkOS in
    WorkOS mode) is not configured. A configuration state, not an outage: never retried."""

    hint = (
        "Karmo's access-management provider (e.g. WorkOS) is not configured in this "
        "environment; not retried. Ask Karmo's operators to configure it, or point "
        "`karmo:apiUrl` at an environment that has one."
    )


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: ProviderNotConfiguredError,
}

# Python 3.13 renamed HTTPStatus 422/413; Karmo's docs use these names.
_STATUS_NAMES = {422: "UNPROCESSABLE_ENTITY", 413: "REQUEST_ENTITY_TOO_LARGE"}


def status_name(status_code: int) -> str:
    """The status's name as Karmo's docs spell it, e.g. ``UNPROCESSABLE_ENTITY``."""
    if status_code in _STATUS_NAMES:
        return _STATUS_NAMES[status_code]
    try:
        return HTTPStatus(status_code).name
    except ValueError:
        return "UNKNOWN_STATUS"


def status_error(status_code: int, *, karmo_body: bool, **fields: Any) -> APIStatusError:
    """Build the error class that fits ``status_code``.

    ``karmo_body`` says whether the body was a Karmo error: a 503 is
    :class:`ProviderNotConfiguredError` only then, otherwise an outage.
    """
    cls = _STATUS_CLASSES.get(status_code)
    if status_code == 503 and not karmo_body:
        cls = InternalServerError
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(status_code=status_code, **fields)
