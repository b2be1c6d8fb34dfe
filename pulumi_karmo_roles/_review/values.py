"""Reading one role's properties out of a state resource of a preview or an event,
whatever the document holds: unknowns and secrets recognised (and never decoded), any
value of the wrong kind taken as unknown, so nothing a document holds can raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROLE_TYPE = "pulumi-python:dynamic/karmo:OrganizationRole"
"""The type of an ``OrganizationRole`` resource (a role set's children included)."""

UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine writes a value known only after apply."""

SECRET_TEXT = "[secret]"  # noqa: S105 (a marker, no credential)
"""How ``pulumi preview --json`` writes a secret."""

SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # noqa: S105
"""The key that marks a secret object in engine events and exports (its other keys,
``ciphertext`` or ``plaintext``, are never read)."""


@dataclass(frozen=True)
class Urn:
    """The parts of ``urn:pulumi:<stack>::<project>::<type>::<name>``."""

    stack: str
    project: str
    type: str
    name: str


def parse_urn(value: object) -> Urn | None:
    """The URN's parts, or ``None`` when ``value`` is not a Pulumi URN."""
    if not isinstance(value, str) or not value.startswith("urn:pulumi:"):
        return None
    parts = value[len("urn:pulumi:") :].split("::", 3)
    if len(parts) != 4 or not all(parts[:3]):
        return None
    return Urn(*parts)


def is_role_type(type_: object) -> bool:
    """Whether a resource type (parents joined by ``$``) is an ``OrganizationRole``."""
    return isinstance(type_, str) and type_.rsplit("$", 1)[-1] == ROLE_TYPE


def is_secret(value: object) -> bool:
    """Whether a value is a secret as the preview or an event writes it."""
    return value == SECRET_TEXT or (isinstance(value, Mapping) and SECRET_SIGNATURE in value)


@dataclass(frozen=True)
class Text:
    """A string property: its value, or ``None`` with the reason."""

    value: str | None
    unknown: bool = False
    secret: bool = False


@dataclass(frozen=True)
class Permissions:
    """The ``permissions`` property. ``managed`` is ``None`` when it cannot be known."""

    values: frozenset[str] | None
    managed: bool | None
    unknown: bool = False
    secret: bool = False

    def sorted(self) -> tuple[str, ...] | None:
        """The set, sorted; ``None`` when unmanaged or unknown."""
        return None if self.values is None else tuple(sorted(self.values))


@dataclass(frozen=True)
class RoleState:
    """What one state resource says of a role."""

    organization_id: Text
    slug: Text
    name: Text
    permissions: Permissions
    clear_permissions_on_delete: bool | None

    def flagged(self, flag: str) -> tuple[str, ...]:
        """The properties that are ``unknown`` or ``secret``."""
        found = [
            key
            for key in ("organization_id", "slug", "name", "permissions")
            if getattr(getattr(self, key), flag)
        ]
        return tuple(found)

    def view(self) -> tuple[object, ...]:
        """What read-back compares: the name and the permissions."""
        return (self.name, self.permissions)


def _text(value: object) -> Text:
    if isinstance(value, str) and value not in (UNKNOWN_VALUE, SECRET_TEXT):
        return Text(value)
    if is_secret(value):
        return Text(None, secret=True)
    return Text(None, unknown=True)


def _permissions(props: Mapping[str, Any]) -> Permissions:
    if "permissions" not in props or props["permissions"] is None:
        return Permissions(None, managed=False)
    value = props["permissions"]
    if is_secret(value):
        return Permissions(None, managed=None, secret=True)
    if not isinstance(value, list):  # unknown at preview, or nonsense
        return Permissions(None, managed=None, unknown=True)
    if any(is_secret(item) for item in value):
        return Permissions(None, managed=True, secret=True)
    if not all(isinstance(item, str) and item != UNKNOWN_VALUE for item in value):
        return Permissions(None, managed=True, unknown=True)
    return Permissions(frozenset(value), managed=True)


def role_state(state: object, prefer: str = "inputs") -> RoleState | None:
    """A state resource's role properties (its ``inputs``, or ``outputs`` with
    ``prefer="outputs"``, falling back to the other), or ``None`` for no state."""
    if not isinstance(state, Mapping):
        return None
    other = "outputs" if prefer == "inputs" else "inputs"
    props = state.get(prefer)
    if not isinstance(props, Mapping):
        props = state.get(other)
    if not isinstance(props, Mapping):
        props = {}
    clear = props.get("clear_permissions_on_delete")
    return RoleState(
        organization_id=_text(props.get("organization_id")),
        slug=_text(props.get("slug")),
        name=_text(props.get("name")),
        permissions=_permissions(props),
        clear_permissions_on_delete=clear if isinstance(clear, bool) else None,
    )


def state_type(state: object) -> object:
    """A state resource's ``type``, or ``None``."""
    return state.get("type") if isinstance(state, Mapping) else None
