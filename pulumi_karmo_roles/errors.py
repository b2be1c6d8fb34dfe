"""Errors raised by pulumi-karmo-roles, all rooted at :class:`KarmoError`.

::

    KarmoError
    ├── ConfigurationError            a setting is missing or malformed
    ├── UsageError (TypeError)        a resource called with arguments of the wrong kind
    ├── InputError (ValueError)       a role's properties break a rule
    │   ├── CatalogError              a role catalog (file or mapping) breaks a rule
    │   └── DuplicateRoleError        two resources in one program declare the same role
    ├── ServiceTokenError             Karmo would not issue a usable service token
    ├── PermissionsNotAppliedError    the role was written, its permissions were not
    ├── RequestNotSentError           a request could not be built or sent at all
    ├── ReviewInputError (ValueError) a file to review is not a preview's JSON or event log
    └── APIError                      talking to Karmo (or, to read back, WorkOS) failed
        ├── APIConnectionError        it could not be reached
        │   └── APITimeoutError       it did not answer within the timeout or deadline
        ├── InvalidResponseError      it said yes, but the body is unusable
        └── APIStatusError            it answered with a non-2xx status, one class each:
            RedirectError (3xx), BadRequestError (400), AuthenticationError (401),
            PermissionDeniedError (403), NotFoundError (404), ConflictError (409),
            UnprocessableEntityError (422), RateLimitError (429), InternalServerError
            (5xx), ProviderNotConfiguredError (503 with a Karmo error body)

``str(error)`` is what ``pulumi up`` shows: one line that says what failed and what to
do. Every message is composed here, from text the transport has already cleaned; none
holds a credential.
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
    "RedirectError",
    "RequestNotSentError",
    "ReviewInputError",
    "ServiceTokenError",
    "UnprocessableEntityError",
    "UsageError",
]


class KarmoError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(KarmoError):
    """The provider's settings (``karmo:*`` stack config or ``KARMO_*`` variables, the
    proxy variables) are missing or malformed. Raised before any request is sent."""


class UsageError(KarmoError, TypeError):
    """A resource or role set was called with arguments of the wrong kind: a required
    property missing, ``args`` and keyword arguments together, ``organization_ids`` that
    is not a list or a dict. Also a ``TypeError``, as Python raises for such calls."""


class InputError(KarmoError, ValueError):
    """A role's properties, or a resource id given to ``OrganizationRole.get``, break a
    rule. ``pulumi preview`` reports the same rules as check failures; this is raised
    when an invalid value reaches an operation some other way."""


class CatalogError(InputError):
    """A role catalog cannot be read or parsed, or an entry breaks a rule. The message
    names the file (or the set given the catalog) and the path of each problem, e.g.
    ``roles.org-admin.permissions[1]``."""


class DuplicateRoleError(InputError):
    """Two resources in one program declare the same role (organization id and slug):
    they would overwrite each other on every ``pulumi up``. The message names both and
    their URNs. Lookups with ``OrganizationRole.get`` are not declarations."""


class ReviewInputError(KarmoError, ValueError):
    """What ``karmo-roles review`` (or :func:`pulumi_karmo_roles.review.load_preview`) was
    given is not what ``pulumi preview --json`` or ``--event-log`` writes, or cannot be
    read: one line that says which and why."""


@dataclass(frozen=True)
class FieldError:
    """One entry of an error body's ``errors`` list."""

    pointer: str | None
    """JSON pointer to the offending value in the request body, e.g. ``/name``."""
    detail: str | None
    """The service's explanation for this field."""

    def __str__(self) -> str:
        if self.pointer and self.detail:
            return f"{self.pointer}: {self.detail}"
        return self.pointer or self.detail or "(no detail)"


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


class ServiceTokenError(KarmoError):
    """``POST /auth/token`` did not yield a usable service token (``karmo:auth`` is
    ``aws-sigv4``). ``retried`` says whether another attempt may succeed (Karmo failed
    or rate-limited the mint)."""

    retried: bool

    def __init__(self, message: str, *, retried: bool = False) -> None:
        super().__init__(message)
        self.retried = retried

    @classmethod
    def refused(
        cls, status_code: int, code: str | None, karmo_message: str | None, *, retried: bool
    ) -> ServiceTokenError:
        """Karmo answered the mint with a non-2xx status."""
        said = f" (code {code})" if code else ""
        said += f": {karmo_message}" if karmo_message else ""
        return cls(
            f"Karmo did not issue a service token: POST /auth/token answered "
            f"{status_code} {status_name(status_code)}{said}. Check that the AWS identity "
            "may invoke Karmo's /auth/token (execute-api:Invoke) and that karmo:awsRegion "
            "is the region of Karmo's API.",
            retried=retried,
        )

    @classmethod
    def unusable(cls, status_code: int, shape: str) -> ServiceTokenError:
        """Karmo answered the mint without a token this client can send."""
        return cls(
            f"Karmo's POST /auth/token answered {status_code} without a usable token "
            f"(expected JSON with access_token, printable ASCII without spaces, and a "
            f"positive expires_in; got {shape})."
        )


class PermissionsNotAppliedError(KarmoError):
    """The role was created or renamed, but setting its permissions failed; both calls
    are idempotent, so the next ``pulumi up`` converges. The failure is the
    ``__cause__``."""

    role_id: str
    """The role's id, which Karmo returned before the permissions failed."""

    def __init__(self, message: str, *, role_id: str) -> None:
        super().__init__(message)
        self.role_id = role_id


class RequestNotSentError(KarmoError):
    """The request could not be built or sent at all (an invalid header or body value).
    The message names the request and the kind of failure, never a header's value."""

    def __init__(self, *, method: str, path: str, cause: str) -> None:
        super().__init__(
            f"pulumi-karmo-roles could not send {method} {path} ({cause}). This is likely a "
            "bug in the provider or an invalid setting; please report it."
        )


URL_SETTINGS = {"Karmo": "karmo:apiUrl", "WorkOS": "karmo:workosApiUrl"}
"""The setting that points at each service this package calls."""


def _attempts(attempts: int, note: str | None) -> str:
    text = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    return f"{text}; {note}" if note else text


class APIError(KarmoError):
    """A request to Karmo (or, for read-back, to WorkOS) failed. ``method`` and ``path``
    name it (relative to the service's base URL); ``attempts`` is how often it was sent."""

    method: str
    path: str
    attempts: int
    service: str
    """``"Karmo"``, or ``"WorkOS"`` for the reads of ``karmo:workosApiKey``."""

    def __init__(
        self, message: str, *, method: str, path: str, attempts: int = 1, service: str = "Karmo"
    ) -> None:
        super().__init__(message)
        self.method, self.path, self.attempts, self.service = method, path, attempts, service


class APIConnectionError(APIError):
    """The service could not be reached (refused, reset, DNS, TLS, a failing proxy),
    after the retries ran out."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        base_url: str,
        cause: str,
        attempts: int = 1,
        note: str | None = None,
        service: str = "Karmo",
    ) -> None:
        super().__init__(
            f"Could not reach {service} at {base_url} for {method} {path} ({cause}; "
            f"{_attempts(attempts, note)}). Check `{URL_SETTINGS[service]}`, the network and "
            "any proxy settings (HTTPS_PROXY, NO_PROXY).",
            method=method,
            path=path,
            attempts=attempts,
            service=service,
        )


class APITimeoutError(APIConnectionError):
    """No complete answer within ``karmo:timeout`` on every attempt, or the operation ran
    out of ``karmo:retryDeadline`` (``deadline``)."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        base_url: str,
        timeout: float,
        deadline: float | None = None,
        attempts: int = 1,
        note: str | None = None,
        service: str = "Karmo",
    ) -> None:
        if deadline is not None:
            within = f"within the {deadline:g} s retry deadline ({_attempts(attempts, note)})"
            fix = "raise `karmo:retryDeadline`"
        else:
            within = f"in time (timed out after {timeout:g} s, {_attempts(attempts, note)})"
            fix = "raise `karmo:timeout`"
        APIError.__init__(
            self,
            f"{service} did not answer {method} {path} {within}. Check that {base_url} is "
            f"reachable, or {fix}.",
            method=method,
            path=path,
            attempts=attempts,
            service=service,
        )


class InvalidResponseError(APIError):
    """Karmo answered 200/201 without a usable role id (1-255 printable ASCII characters,
    no spaces), so the upsert may have happened and a rerun converges; or WorkOS answered
    a read with something other than what was asked (``expected``)."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status_code: int,
        body_excerpt: str,
        role_id: str | None = None,
        max_length: int = 255,
        attempts: int = 1,
        service: str = "Karmo",
        expected: str | None = None,
    ) -> None:
        if expected is not None:  # a read: nothing was written
            message = (
                f"{service} answered {method} {path} with {status_code} but not {expected}: "
                f"{body_excerpt!r}. Run the command again; if it persists, check "
                f"`{URL_SETTINGS[service]}`."
            )
        else:
            if status_code not in (200, 201):
                problem = f"an unexpected {status_code}: {body_excerpt!r}"
            elif role_id is None:
                problem = f"{status_code} but no role id (expected JSON with `id`): "
                problem += repr(body_excerpt)
            else:
                problem = (
                    f"{status_code} and a role id that is not 1-{max_length} printable ASCII "
                    f"characters without spaces: '{role_id}'"
                )
            message = (
                f"Karmo answered {method} {path} with {problem}. The role may have been "
                "written; running `pulumi up` again converges."
            )
        super().__init__(message, method=method, path=path, attempts=attempts, service=service)


class APIStatusError(APIError):
    """The service answered with a non-2xx status. The attributes carry everything it
    said; ``str()`` combines them into one line, e.g. ``Karmo rejected PUT
    /organizations/org_123/roles/org-admin: 422 UNPROCESSABLE_ENTITY (code 42200001):
    Request validation failed; /name: must not be blank. <what to do>``."""

    hint: ClassVar[str] = "Check the request and run `pulumi up` again."
    workos_hint: ClassVar[str] = "Check the request and run the command again."
    """What to do when the answer came from WorkOS."""
    retried: ClassVar[bool] = False
    """Whether this answer is worth another attempt (429 and 5xx outages)."""
    status_code: int
    """The HTTP status of the answer."""
    code: str | None
    """Karmo's 8-digit error code, e.g. ``42200001``, if the body carried one."""
    karmo_message: str | None
    """The service's own ``message``."""
    errors: tuple[FieldError, ...]
    """The field errors, each with a JSON pointer and a detail."""
    request_id: str | None
    """The request id (``meta.requestId`` or the ``X-Request-Id`` header): quote it to
    the service's operators."""
    meta: Mapping[str, Any]
    """The request id part of Karmo's ``meta`` object."""
    body_excerpt: str | None
    """For a body that is not a Karmo error (a proxy's HTML page), a short cleaned excerpt."""
    location: str | None
    """The ``Location`` a 3xx answer pointed to (never followed)."""

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
        location: str | None = None,
        attempts: int = 1,
        note: str | None = None,
        service: str = "Karmo",
    ) -> None:
        self.status_code, self.code, self.karmo_message = status_code, code, karmo_message
        self.errors, self.request_id, self.meta = tuple(errors), request_id, dict(meta or {})
        self.body_excerpt, self.location = body_excerpt, location
        super().__init__(
            self._format(service, method, path, attempts, note),
            method=method,
            path=path,
            attempts=attempts,
            service=service,
        )

    def _format(self, service: str, method: str, path: str, attempts: int, note: str | None) -> str:
        verb = "redirected" if self.status_code < 400 else "rejected"
        verb = "failed" if self.status_code >= 500 else verb
        text = f"{service} {verb} {method} {path}: {self.status_code} "
        text += status_name(self.status_code)
        if self.code:
            text += f" (code {self.code})"
        said = [self.karmo_message] if self.karmo_message else []
        said += [str(e) for e in self.errors]
        if self.location is not None:
            said.append(f"to {self.location}")
        elif not said and self.body_excerpt:
            said.append(f"response was not a {service} error: {self.body_excerpt!r}")
        text += ": " + "; ".join(said) if said else ""
        if attempts > 1 or note:
            text += f" (after {_attempts(attempts, note)})"
        text = text.rstrip(". ") + ". " + self._hint(service)
        return text + (f" [request id {self.request_id}]" if self.request_id else "")

    def _hint(self, service: str) -> str:
        return self.workos_hint if service == "WorkOS" else self.hint


class RedirectError(APIStatusError):
    """3xx: the API never redirects, so its URL setting is wrong (often http:// for
    https://). The redirect is not followed: no credential goes elsewhere."""

    hint = (
        "Karmo's API does not redirect: set `karmo:apiUrl` to the right URL (e.g. https:// "
        "instead of http://). The redirect was not followed."
    )
    workos_hint = (
        "WorkOS's API does not redirect: set `karmo:workosApiUrl` (or WORKOS_API_URL) to "
        "the right URL. The redirect was not followed."
    )


class BadRequestError(APIStatusError):
    """400: the service could not read the request."""

    hint = (
        "Karmo could not read the request pulumi-karmo-roles sent: this is likely a bug "
        "in the provider; please report it with the request id."
    )
    workos_hint = (
        "WorkOS could not read the request pulumi-karmo-roles sent: this is likely a bug "
        "in the provider; please report it with the request id."
    )


class AuthenticationError(APIStatusError):
    """401: the token (or WorkOS API key) was missing, malformed, expired or unknown."""

    hint = (
        "Karmo refused the token: check `karmo:token` (or KARMO_TOKEN) and that it has "
        "not expired. destroy and refresh use the config recorded at the last `pulumi up`."
    )
    workos_hint = (
        "WorkOS refused the API key: check `karmo:workosApiKey` (or WORKOS_API_KEY), and "
        "that it is a key of the WorkOS environment the organization belongs to."
    )


class PermissionDeniedError(APIStatusError):
    """403: the credential is valid but may not act on this organization."""

    hint = (
        "The token is valid but not allowed to manage roles here: use a token with access "
        "to this organization, or ask Karmo's operators to grant it."
    )
    workos_hint = (
        "The WorkOS API key may not read roles here: set `karmo:workosApiKey` (or "
        "WORKOS_API_KEY) to a key of this organization's WorkOS environment."
    )


class NotFoundError(APIStatusError):
    """404: the service (or its access provider) does not know the organization; from
    WorkOS, only with its ``entity_not_found`` code, else the URL setting is wrong."""

    hint = (
        "Karmo does not know this organization: check `organization_id` (in WorkOS mode "
        "the WorkOS organization id, e.g. org_123) and that `karmo:apiUrl` is the right "
        "environment."
    )
    workos_hint = (
        "WorkOS does not know this organization: check `organization_id` and that "
        "`karmo:workosApiKey` (or WORKOS_API_KEY) is a key of its WorkOS environment."
    )

    def _hint(self, service: str) -> str:
        if service == "WorkOS" and self.code != "entity_not_found":
            return (
                "This 404 is not WorkOS's answer about the organization (no "
                "`entity_not_found`): check that `karmo:workosApiUrl` (or WORKOS_API_URL) is "
                "WorkOS's API, "
                "e.g. https://api.workos.com, with no path."
            )
        return super()._hint(service)


class ConflictError(APIStatusError):
    """409: the role conflicts with another one or with a concurrent change."""

    hint = (
        "The role conflicts with an existing one or a concurrent change: resolve the "
        "conflict in Karmo (or choose another slug) and run `pulumi up` again."
    )


class UnprocessableEntityError(APIStatusError):
    """422: validation rejected a field; each pointer names it."""

    hint = "Correct the property each pointer names and run `pulumi up` again."


class RateLimitError(APIStatusError):
    """429: the requests kept being rate-limited."""

    retried = True
    hint = (
        "Karmo kept rate-limiting the requests: wait a minute and run `pulumi up` again, "
        "or lower its concurrency with `pulumi up --parallel N`."
    )
    workos_hint = (
        "WorkOS kept rate-limiting the requests (6,000 a minute per API key): wait a "
        "minute and run the command again."
    )


class InternalServerError(APIStatusError):
    """500 (or another 5xx, or a 503 without a Karmo body): the service, or a gateway in
    front of it, failed."""

    retried = True
    hint = (
        "Karmo failed on its side: try again later; the upsert is idempotent, so running "
        "`pulumi up` again converges."
    )
    workos_hint = "WorkOS failed on its side: try again later."


class ProviderNotConfiguredError(APIStatusError):
    """503 with a Karmo error body: the environment's access provider (WorkOS in WorkOS
    mode) is not configured. A configuration state, not an outage: never retried."""

    hint = (
        "Karmo's access-management provider (e.g. WorkOS) is not configured in this "
        "environment; not retried. Ask Karmo's operators to configure it, or point "
        "`karmo:apiUrl` at an environment that has one."
    )
