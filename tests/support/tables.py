"""Tables more than one test module checks, each written once."""

from __future__ import annotations

from pulumi_karmo_roles.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    ProviderNotConfiguredError,
    RateLimitError,
    RedirectError,
    UnprocessableEntityError,
)

# One row per documented status (a Karmo error body each): the class, words of the
# advice the user gets, and whether another attempt is made.
STATUS_TABLE: list[tuple[int, type[APIStatusError], str, bool]] = [
    (301, RedirectError, "set `karmo:apiUrl`", False),
    (400, BadRequestError, "report it", False),
    (401, AuthenticationError, "check `karmo:token`", False),
    (403, PermissionDeniedError, "not allowed to manage roles", False),
    (404, NotFoundError, "check `organization_id`", False),
    (409, ConflictError, "resolve the conflict", False),
    (422, UnprocessableEntityError, "Correct the property", False),
    (429, RateLimitError, "--parallel", True),
    (500, InternalServerError, "try again later", True),
    (503, ProviderNotConfiguredError, "not configured", False),
]


def verb(status: int) -> str:
    """How an error's text opens: ``Karmo <verb> PUT ...``."""
    return "redirected" if status < 400 else "rejected" if status < 500 else "failed"
