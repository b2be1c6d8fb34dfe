"""The bodies Karmo and WorkOS send back on success, parsed with pydantic: a role id
(``id`` or ``roleId``), a minted token (``access_token`` or ``accessToken``), WorkOS's
role objects and lists. Text parsed here is raw server text; the clients clean it before
it is shown, and keep from the state what must never reach it (see :mod:`.workos`).
Error bodies are read by :mod:`.untrusted`."""

from __future__ import annotations

import json
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError


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
    type: str
    """``OrganizationRole`` or ``EnvironmentRole`` (WorkOS always says which)."""
    permissions: list[str] = Field(default_factory=list)


class WorkOSRoleList(BaseModel):
    """A WorkOS list answer, ``{"object": "list", "data": [role, ...]}``."""

    model_config = ConfigDict(extra="ignore")

    data: list[WorkOSRoleBody]


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


def parse_role_id(content: bytes) -> str | None:
    """The role id of a 200/201 body (``id``, or ``roleId``); ``None`` if there is none."""
    try:
        return RoleIdResponse.model_validate_json(content).role_id
    except ValidationError:
        return None
