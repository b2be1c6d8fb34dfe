"""From what the transport met to the error the user reads: which status is which
class, which failures another attempt may cure, and the one translation of whatever
sending raised (httpx, h11, codecs, json), as httpx and openai-python map their
transports' failures in one place."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from .._setting_rules import without_userinfo
from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    KarmoError,
    NotFoundError,
    PermissionDeniedError,
    ProviderNotConfiguredError,
    RateLimitError,
    RedirectError,
    RequestNotSentError,
    ServiceTokenError,
    UnprocessableEntityError,
)
from .untrusted import Answer, clean

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

# Failures another attempt may cure; anything else raised while sending is final.
_RETRIED_FAILURES = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


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


def retried(answer: Answer) -> bool:
    """Whether a non-2xx answer is worth another attempt (429 and 5xx outages)."""
    return status_error_class(answer.status_code, karmo_body=answer.karmo_body).retried


def is_retried(exc: Exception) -> bool:
    """Whether an exception raised while sending is worth another attempt: a network
    failure or timeout, or a mint Karmo failed or rate-limited."""
    if isinstance(exc, ServiceTokenError):
        return exc.retried
    return isinstance(exc, _RETRIED_FAILURES)


def status_error(
    answer: Answer,
    *,
    method: str,
    path: str,
    attempts: int = 1,
    note: str | None = None,
    service: str = "Karmo",
) -> APIStatusError:
    """The error for a non-2xx ``answer`` (already cleaned), of the class
    :func:`status_error_class` picks."""
    return status_error_class(answer.status_code, karmo_body=answer.karmo_body)(
        method=method,
        path=path,
        status_code=answer.status_code,
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
    """The error for the last failed attempt: a non-2xx answer, or whatever sending
    raised. ``said`` is the exception's own text, already cleaned; it is quoted only for
    transport failures, whose text never holds a request header. ``deadline``: the
    attempt was cut short by the retry deadline, which a timeout then blames."""
    if not isinstance(failure, Exception):
        return status_error(
            failure, method=method, path=path, attempts=attempts, note=note, service=service
        )
    if isinstance(failure, KarmoError):  # raised by a credential (a refused mint, no AWS keys)
        return failure
    where = {"method": method, "path": path, "base_url": shown_url(base_url), "service": service}
    if isinstance(failure, httpx.TimeoutException):
        return APITimeoutError(
            **where, timeout=timeout, deadline=deadline, attempts=attempts, note=note
        )
    if isinstance(failure, httpx.TransportError) and not isinstance(
        failure, httpx.LocalProtocolError
    ):
        return APIConnectionError(**where, cause=said, attempts=attempts, note=note)
    # An invalid header (a token that slipped past the checks), an unencodable value:
    # their text may quote the header, so only their kind is named.
    return RequestNotSentError(method=method, path=path, cause=type(failure).__name__)


def shown_url(url: str) -> str:
    """A base URL as an error quotes it: without ``user:password@``, escaped, bounded."""
    return clean(without_userinfo(url), 200)


def deadline_note(elapsed: float, delay: float, deadline: float | None) -> str:
    """Why the retries stopped before ``max_retries``: the next wait would pass the
    retry deadline."""
    return (
        f"stopped after {elapsed:.1f} s: the next wait of {delay:.1f} s would pass the "
        f"{deadline:g} s retry deadline"
    )


def environment_error(exc: Exception, secrets: Sequence[str] = ()) -> ConfigurationError:
    """The proxy or certificate variables cannot be used (httpx could not build its
    client from them); the exception's text cleaned of ``secrets``."""
    said = clean(f"{type(exc).__name__}: {exc}", 200, secrets)
    return ConfigurationError(
        f"The network settings in the environment cannot be used ({said}). Check "
        "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY and SSL_CERT_FILE."
    )
