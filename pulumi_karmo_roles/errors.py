"""Errors raised by pulumi-karmo-roles, all rooted at :class:`KarmoError`.

::

    KarmoError
    ├── ConfigurationError            apiUrl / token / timeout / maxRetries missing or invalid
    ├── UsageError (also TypeError)   a resource called with arguments of the wrong kind
    ├── InputError                    a role's properties break a rule (or a malformed id)
    │   ├── CatalogError              a role catalog (file or mapping) breaks a rule
    │   └── DuplicateRoleError        two resources in one program declare the same role
    ├── ServiceTokenError             Karmo would not issue a usable service token (aws-sigv4)
    ├── PermissionsNotAppliedError    the role was written, its permissions were not
    ├── RequestNotSentError           a request could not be built or sent at all
    └── APIError                      something went wrong talking to Karmo
        ├── APIConnectionError        Karmo could not be reached (refused, reset, DNS, proxy)
        │   └── APITimeoutError       Karmo did not answer within the timeout or deadline
        ├── InvalidResponseError      Karmo said yes, but the body (or the role id) is unusable
        └── APIStatusError            Karmo answered with a non-2xx status
            ├── RedirectError               3xx: karmo:apiUrl points at the wrong place
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
failed and what to do next. Every message is composed here. It never contains the
API token: errors keep the method and path of the request, never its headers, and
whatever the server said was cleaned first (:mod:`.untrusted`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .untrusted import Answer

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
    "ServiceTokenError",
    "UnprocessableEntityError",
    "UsageError",
    "deadline_note",
    "environment_error",
    "failure_error",
    "is_retried",
    "status_error",
    "status_error_class",
]


class KarmoError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(KarmoError):
    """The provider's settings (``karmo:*`` stack config or ``KARMO_*`` variables) are
    missing or invalid. Raised before any request is sent."""


class UsageError(KarmoError, TypeError):
    """A resource or role set was called with arguments of the wrong kind: a required
    property missing, ``args`` and keyword arguments together, ``organization_ids`` that
    is not a list or a dict. Also a ``TypeError``, as Python raises for such calls."""


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
    """``POST /auth/token`` did not yield a usable service token (``karmo:auth`` is
    ``aws-sigv4``): the AWS identity may not call it, or the answer was unusable.
    ``retried`` says whether another attempt may succeed (Karmo failed or rate-limited
    the mint)."""

    retried: bool

    def __init__(self, message: str, *, retried: bool = False) -> None:
        super().__init__(message)
        self.retried = retried

    @classmethod
    def refused(
        cls, status_code: int, code: str | None, karmo_message: str | None, *, karmo_body: bool
    ) -> ServiceTokenError:
        """Karmo answered the mint with a non-2xx status."""
        said = f" (code {code})" if code else ""
        said += f": {karmo_message}" if karmo_message else ""
        return cls(
            f"Karmo did not issue a service token: POST /auth/token answered "
            f"{status_code} {status_name(status_code)}{said}. Check that the AWS identity "
            "may invoke Karmo's /auth/token (execute-api:Invoke) and that karmo:awsRegion "
            "is the region of Karmo's API.",
            retried=status_error_class(status_code, karmo_body=karmo_body).retried,
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
    """The role was created or renamed, but setting its permissions failed. The role
    exists in Karmo with its previous permissions; both calls are idempotent, so the next
    ``pulumi up`` converges. The failure itself is the ``__cause__``."""

    role_id: str
    """The role's id, which Karmo returned before the permissions failed."""

    def __init__(self, message: str, *, role_id: str) -> None:
        super().__init__(message)
        self.role_id = role_id


URL_SETTINGS = {"Karmo": "karmo:apiUrl", "WorkOS": "karmo:workosApiUrl"}
"""The setting that points at each service this package calls."""


class APIError(KarmoError):
    """A request to Karmo (or, for read-back, to WorkOS: see ``service``) failed.
    ``method`` and ``path`` name the request (the path is relative to the service's base
    URL); ``attempts`` is how many times it was sent."""

    method: str
    path: str
    attempts: int
    service: str
    """``"Karmo"``, or ``"WorkOS"`` for the reads of ``karmo:workosApiKey``."""

    def __init__(
        self, message: str, *, method: str, path: str, attempts: int = 1, service: str = "Karmo"
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.attempts = attempts
        self.service = service


def environment_error(exc: Exception, secrets: Sequence[str] = ()) -> ConfigurationError:
    """The proxy or certificate variables cannot be used (httpx could not build its
    client from them). The exception's text is shown cleaned of ``secrets`` (the
    proxies' credentials)."""
    from .untrusted import clean  # see is_retried

    said = clean(f"{type(exc).__name__}: {exc}", 200, secrets)
    return ConfigurationError(
        f"The network settings in the environment cannot be used ({said}). Check "
        "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY and SSL_CERT_FILE."
    )


def deadline_note(elapsed: float, delay: float, deadline: float | None) -> str:
    """Why the retries stopped before ``max_retries``: the next wait would pass the
    retry deadline."""
    return (
        f"stopped after {elapsed:.1f} s: the next wait of {delay:.1f} s would pass the "
        f"{deadline:g} s retry deadline"
    )


def _attempts(attempts: int, note: str | None) -> str:
    text = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    return f"{text}; {note}" if note else text


class APIConnectionError(APIError):
    """Karmo could not be reached: connection refused or reset, DNS failure, TLS error,
    a proxy that failed. Raised after the retries ran out."""

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
    """Karmo did not answer completely within ``karmo:timeout`` seconds on every
    attempt, or the operation ran out of ``karmo:retryDeadline``."""

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
        APIError.__init__(
            self,
            (
                f"{service} did not answer {method} {path} within the {deadline:g} s retry "
                f"deadline ({_attempts(attempts, note)}). Check that {base_url} is "
                "reachable, or raise `karmo:retryDeadline`."
            )
            if deadline is not None
            else (
                f"{service} did not answer {method} {path} in time (timed out after "
                f"{timeout:g} s, {_attempts(attempts, note)}). Check that {base_url} is "
                "reachable, or raise `karmo:timeout`."
            ),
            method=method,
            path=path,
            attempts=attempts,
            service=service,
        )


class RequestNotSentError(KarmoError):
    """The request could not be built or sent at all (an invalid header or body value).
    The message names the request and the kind of failure, never a header's value."""

    def __init__(self, *, method: str, path: str, cause: str) -> None:
        super().__init__(
            f"pulumi-karmo-roles could not send {method} {path} ({cause}). This is likely a "
            "bug in the provider or an invalid setting; please report it."
        )


class InvalidResponseError(APIError):
    """Karmo answered 200/201 but the body is not the role id it should be, or the id
    breaks the rule for ids (1-255 printable ASCII characters, no spaces); or WorkOS
    answered a read with something other than what was asked (``expected``).

    The upsert may have happened; running ``pulumi up`` again converges.
    """

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
            super().__init__(
                f"{service} answered {method} {path} with {status_code} but not {expected}: "
                f"{body_excerpt!r}. Run the command again; if it persists, check "
                f"`{URL_SETTINGS[service]}`.",
                method=method,
                path=path,
                attempts=attempts,
                service=service,
            )
            return
        if status_code not in (200, 201):
            problem = f"an unexpected {status_code}: {body_excerpt!r}"
        elif role_id is None:
            problem = f"{status_code} but no role id (expected JSON with `id`): {body_excerpt!r}"
        else:
            problem = (
                f"{status_code} and a role id that is not 1-{max_length} printable ASCII "
                f"characters without spaces: '{role_id}'"
            )
        super().__init__(
            f"Karmo answered {method} {path} with {problem}. The role may have been written; "
            "running `pulumi up` again converges.",
            method=method,
            path=path,
            attempts=attempts,
        )


class APIStatusError(APIError):
    """Karmo answered with a non-2xx status.

    The attributes carry everything Karmo said; ``str()`` combines them into one line:
    ``Karmo rejected PUT /organizations/org_123/roles/org-admin: 422 UNPROCESSABLE_ENTITY
    (code 42200001): Request validation failed; /name: must not be blank. <what to do>``
    """

    hint: ClassVar[str] = "Check the request and run `pulumi up` again."
    workos_hint: ClassVar[str] = "Check the request and run the command again."
    """What to do when the answer came from WorkOS (read-back with ``karmo:workosApiKey``)."""
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
    location: str | None
    """The ``Location`` a 3xx answer pointed to (never followed)."""
    retried: ClassVar[bool] = False
    """Whether this answer is worth another attempt (429 and 5xx outages)."""

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
        self.status_code = status_code
        self.location = location
        self.code = code
        self.karmo_message = karmo_message
        self.errors = tuple(errors)
        self.request_id = request_id
        self.meta = dict(meta or {})
        self.body_excerpt = body_excerpt
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
        status = f"{self.status_code} {status_name(self.status_code)}"
        head = f"{service} {verb} {method} {path}: {status}"
        if self.code:
            head += f" (code {self.code})"
        said = [self.karmo_message] if self.karmo_message else []
        said += [str(e) for e in self.errors]
        if self.location is not None:
            said.append(f"to {self.location}")
        elif not said and self.body_excerpt:
            said.append(f"response was not a {service} error: {self.body_excerpt!r}")
        text = head + (": " + "; ".join(said) if said else "")
        if attempts > 1 or note:
            text += f" (after {_attempts(attempts, note)})"
        text = text.rstrip(". ") + ". " + (self.workos_hint if service == "WorkOS" else self.hint)
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text


class RedirectError(APIStatusError):
    """3xx: Karmo's API never redirects, so ``karmo:apiUrl`` is wrong (often http://
    where https:// is needed). The redirect is not followed: the token goes nowhere
    else."""

    hint = (
        "Karmo's API does not redirect: set `karmo:apiUrl` to the right URL (e.g. https:// "
        "instead of http://). The redirect was not followed."
    )
    workos_hint = (
        "WorkOS's API does not redirect: set `karmo:workosApiUrl` to the right URL. The "
        "redirect was not followed."
    )


class BadRequestError(APIStatusError):
    """400: Karmo could not read the request."""

    hint = (
        "Karmo could not read the request pulumi-karmo-roles sent: this is likely a bug "
        "in the provider; please report it with the request id."
    )
    workos_hint = (
        "WorkOS could not read the request pulumi-karmo-roles sent: this is likely a bug "
        "in the provider; please report it with the request id."
    )


class AuthenticationError(APIStatusError):
    """401: the bearer token was missing, malformed, expired or unknown."""

    hint = (
        "Karmo refused the token: check `karmo:token` (or KARMO_TOKEN) and that it has "
        "not expired. destroy and refresh use the config recorded at the last `pulumi up`."
    )
    workos_hint = (
        "WorkOS refused the API key: check `karmo:workosApiKey` (or WORKOS_API_KEY), and "
        "that it is a key of the WorkOS environment the organization belongs to."
    )


class PermissionDeniedError(APIStatusError):
    """403: the token is valid but may not manage roles in this organization."""

    hint = (
        "The token is valid but not allowed to manage roles here: use a token with access "
        "to this organization, or ask Karmo's operators to grant it."
    )
    workos_hint = (
        "The WorkOS API key may not read roles here: set `karmo:workosApiKey` to a key of "
        "this organization's WorkOS environment."
    )


class NotFoundError(APIStatusError):
    """404: Karmo (or its access provider) does not know the organization."""

    hint = (
        "Karmo does not know this organization: check `organization_id` (in WorkOS mode "
        "the WorkOS organization id, e.g. org_123) and that `karmo:apiUrl` is the right "
        "environment."
    )
    workos_hint = (
        "WorkOS does not know this organization: check `organization_id` and that "
        "`karmo:workosApiKey` is a key of its WorkOS environment."
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
    """500 (or 502/504 and other 5xx, or a 503 without a Karmo body): Karmo failed on
    its side, or a gateway in front of it did."""

    retried = True
    hint = (
        "Karmo failed on its side: try again later; the upsert is idempotent, so running "
        "`pulumi up` again converges."
    )
    workos_hint = "WorkOS failed on its side: try again later."


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


def status_error_class(status_code: int, *, karmo_body: bool) -> type[APIStatusError]:
    """The class for a non-2xx answer. The one place that decides that a 503 carrying
    Karmo's error body is :class:`ProviderNotConfiguredError` (a configuration state,
    never retried) while any other 503 is an outage (:class:`InternalServerError`)."""
    if status_code == 503 and not karmo_body:
        return InternalServerError
    cls = _STATUS_CLASSES.get(status_code)
    if cls is not None:
        return cls
    if 300 <= status_code < 400:
        return RedirectError
    return InternalServerError if status_code >= 500 else APIStatusError


def status_error(
    answer: Answer,
    *,
    method: str,
    path: str,
    attempts: int = 1,
    note: str | None = None,
    service: str = "Karmo",
) -> APIStatusError:
    """The error for a non-2xx ``answer`` (already cleaned; see
    :func:`~.untrusted.read_answer`), of the class :func:`status_error_class` picks."""
    status = answer.status_code
    return status_error_class(status, karmo_body=answer.karmo_body)(
        method=method,
        path=path,
        status_code=status,
        code=answer.code,
        karmo_message=answer.message,
        errors=answer.errors,
        request_id=answer.request_id,
        meta=answer.meta,
        body_excerpt=answer.body_excerpt,
        location=answer.location,
        attempts=attempts,
        note=note,
        service=service,
    )


def is_retried(exc: Exception) -> bool:
    """Whether an exception raised while sending is worth another attempt: a network
    failure or timeout, or a mint Karmo failed or rate-limited."""
    # httpx is imported where a failure is translated, not with this module: the package's
    # top level and the sandbox import the errors and need no HTTP client.
    import httpx

    if isinstance(exc, ServiceTokenError):
        return exc.retried
    # Failures another attempt may cure; anything else raised while sending is final.
    retried = (
        httpx.TimeoutException,
        httpx.NetworkError,
        httpx.RemoteProtocolError,
        httpx.ProxyError,
    )
    return isinstance(exc, retried)


def failure_error(
    failure: Answer | Exception,
    said: str,
    *,
    method: str,
    path: str,
    base_url: str,
    timeout: float,
    deadline: float | None,
    attempts: int,
    note: str | None,
    service: str = "Karmo",
) -> KarmoError:
    """The error for the last failed attempt: a non-2xx :class:`~.untrusted.Answer`, or
    whatever sending raised (httpx, h11, codecs, json), translated in this one place as
    httpx and openai-python map their transports' failures. ``said`` is the exception's
    own text, already cleaned; it is quoted only for transport failures, whose text never
    holds a request header. ``deadline``: the attempt was cut short by the retry
    deadline, which a timeout then blames."""
    import httpx  # see is_retried

    if not isinstance(failure, Exception):
        return status_error(
            failure, method=method, path=path, attempts=attempts, note=note, service=service
        )
    exc = failure
    if isinstance(exc, KarmoError):  # raised by a credential (a refused mint, no AWS keys)
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            method=method,
            path=path,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            attempts=attempts,
            note=note,
            service=service,
        )
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.LocalProtocolError):
        return APIConnectionError(
            method=method,
            path=path,
            base_url=base_url,
            cause=said,
            attempts=attempts,
            note=note,
            service=service,
        )
    # An invalid header (a token that slipped past the checks), an unencodable value:
    # their text may quote the header, so only their kind is named.
    return RequestNotSentError(method=method, path=path, cause=type(exc).__name__)
