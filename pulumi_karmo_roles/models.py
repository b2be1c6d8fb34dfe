"""The bodies Karmo sends back, parsed with pydantic.

pydantic is here for tolerant parsing only, where the contract says parsing must be
tolerant (``openapi.yaml``, ``KarmoError``): an error may be wrapped as
``{"error": {...}}``, a field error's pointer may sit at ``source.pointer``, the code
may be a number, any field may be missing, and the body may not be JSON at all (a
proxy's HTML page); a token answer may spell its fields in camelCase. Request bodies
are plain ``json.dumps`` in the client: nothing to validate, nothing to escape.

Text parsed here is raw server text: :mod:`.untrusted` cleans it before it is shown.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "KarmoErrorBody",
    "KarmoFieldError",
    "RoleIdResponse",
    "ServiceTokenResponse",
    "WorkOSRoleBody",
    "WorkOSRoleList",
    "is_json",
    "load_json",
    "parse_error_body",
    "parse_role_id",
]

_KARMO_CODE = re.compile(r"[0-9]{8}")


class ServiceTokenResponse(BaseModel):
    """Body of ``POST /auth/token``: a short-lived service JWT and its lifetime."""

    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(
        min_length=1, validation_alias=AliasChoices("access_token", "accessToken")
    )
    expires_in: float = Field(
        default=900, gt=0, validation_alias=AliasChoices("expires_in", "expiresIn")
    )

    def __repr__(self) -> str:
        return f"ServiceTokenResponse(access_token='***', expires_in={self.expires_in})"


class RoleIdResponse(BaseModel):
    """Body of a 200/201 answer: the access provider's role id."""

    model_config = ConfigDict(extra="ignore")

    role_id: str = Field(min_length=1, validation_alias=AliasChoices("id", "roleId"))
    """The role's identifier in the access provider, e.g. ``role_01HXYZ``."""


class WorkOSRoleBody(BaseModel):
    """A WorkOS role object, as read (``GET .../roles/{slug}``, or an entry of the list)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    slug: str
    name: str
    type: str = "OrganizationRole"
    permissions: list[str] = Field(default_factory=list)


class WorkOSRoleList(BaseModel):
    """A WorkOS list answer, ``{"object": "list", "data": [role, ...]}``."""

    model_config = ConfigDict(extra="ignore")

    data: list[WorkOSRoleBody]


class KarmoFieldError(BaseModel):
    """One field error: where (a JSON pointer) and why."""

    model_config = ConfigDict(extra="ignore")

    pointer: str | None = None
    detail: str | None = None

    @classmethod
    def from_raw(cls, raw: Any) -> KarmoFieldError:
        """Accept ``{"pointer", "detail"}``, JSON:API's ``{"source": {"pointer"}}``,
        ``message``/``title`` for the detail, or a bare string."""
        if isinstance(raw, str):
            return cls(detail=raw)
        if not isinstance(raw, dict):
            return cls(detail=_text_or_none(raw))
        pointer = raw.get("pointer") or raw.get("field") or raw.get("param")
        source = raw.get("source")
        if pointer is None and isinstance(source, dict):
            pointer = source.get("pointer") or source.get("parameter")
        detail = raw.get("detail") or raw.get("message") or raw.get("title") or raw.get("code")
        return cls(pointer=_text_or_none(pointer), detail=_text_or_none(detail))


class KarmoErrorBody(BaseModel):
    """Karmo's error envelope: an 8-digit ``code``, a ``message``, ``meta`` and ``errors``;
    also read for WorkOS's errors (``message`` or ``error_description``, ``code``,
    ``errors`` with ``field``)."""

    model_config = ConfigDict(extra="ignore")

    code: str | None = None
    message: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    errors: list[KarmoFieldError] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _message_from_other_names(cls, data: Any) -> Any:
        # WorkOS (and OAuth-style gateways) say it as `error_description` or `error`.
        if isinstance(data, dict) and data.get("message") is None:
            said = data.get("error_description") or data.get("error")
            if said is not None:
                data = {**data, "message": said}
        return data

    @field_validator("code", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> str | None:
        # Some gateways send the code as a JSON number.
        return None if value is None else str(value)

    @field_validator("message", mode="before")
    @classmethod
    def _message_as_text(cls, value: Any) -> str | None:
        return _text_or_none(value)

    @field_validator("meta", mode="before")
    @classmethod
    def _meta_as_dict(cls, value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    @field_validator("errors", mode="before")
    @classmethod
    def _errors_as_list(cls, value: Any) -> list[KarmoFieldError]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        # Error text ends up in one line of `pulumi up` output: keep it bounded.
        return [KarmoFieldError.from_raw(item) for item in items[:_MAX_FIELD_ERRORS]]

    @property
    def is_karmo_error(self) -> bool:
        """True when the body carries Karmo's 8-digit code: it came from Karmo itself,
        not from a proxy or gateway in front of it."""
        return self.code is not None and _KARMO_CODE.fullmatch(self.code) is not None

    @property
    def request_id(self) -> str | None:
        """``meta.requestId`` (or ``request_id``), if Karmo sent one."""
        value = self.meta.get("requestId") or self.meta.get("request_id")
        return _text_or_none(value)


_NOT_JSON = object()


def load_json(content: bytes) -> Any:
    """``content`` parsed as JSON, or :data:`_NOT_JSON` for anything that is not: invalid
    text, or nesting too deep to parse (a server's answer must never become a
    ``RecursionError``)."""
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOT_JSON


def is_json(value: Any) -> bool:
    """Whether :func:`load_json` parsed something."""
    return value is not _NOT_JSON


def parse_error_body(content: bytes) -> KarmoErrorBody | None:
    """Parse an error response's body; ``None`` if it is not a JSON object at all."""
    data = load_json(content)
    if not isinstance(data, dict):
        return None
    wrapped = data.get("error")
    if isinstance(wrapped, dict):
        data = wrapped
    try:
        return KarmoErrorBody.model_validate(data)
    except (ValidationError, RecursionError):
        return None


def parse_role_id(content: bytes) -> str | None:
    """The role id of a 200/201 body (``id``, or ``roleId``); ``None`` if there is none."""
    try:
        return RoleIdResponse.model_validate_json(content).role_id
    except ValidationError:
        return None


_MAX_FIELD_ERRORS = 10


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)
