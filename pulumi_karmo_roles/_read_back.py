"""The provider's read-back: ``refresh`` and ``OrganizationRole.get`` read each role from
WorkOS (Karmo's WorkOS mode stores every role there) when ``karmo:workosApiKey`` is set.

:class:`ReadBack` builds the WorkOS reader once per configuration and turns what it reads
into the engine's :class:`ReadResult`. What WorkOS holds reaches the state exactly as the
reader gives it (see :class:`~._http.workos.WorkOSRole`), so a valid name settles and an
invalid one differs from every declared name, which the next ``pulumi up`` corrects."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import ReadResult

from ._announce import announce
from ._config import Settings, read_settings
from ._http.session import Session
from ._http.workos import WorkOSReader, WorkOSRole
from ._properties import CLEAR, OUTPUT_PROPERTIES
from ._rules import split_resource_id
from .errors import InputError

_NO_READ_BACK = (
    "Karmo has no read endpoint: refresh keeps what the state recorded, so a role renamed, "
    "changed or deleted in WorkOS is not visible; set `karmo:workosApiKey` (as a secret) "
    "to read roles back from WorkOS."
)


class ReadBack:
    """What the provider holds to read roles back, in a provider process; never pickled.

    :param lock: the provider's lock (reentrant), also held while the shared session is
        built, so the two never wait for each other.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._reader: WorkOSReader | None = None
        self._known = False  # whether `_reader` reflects the settings yet
        self._said_no_read_back = False

    def forget(self) -> None:
        """Drop the reader: the next read reads the settings again (a new configuration)."""
        with self._lock:
            self._reader, self._known = None, False

    def reader(
        self, stack_config: Mapping[str, str | None], session: Callable[[Settings], Session]
    ) -> WorkOSReader | None:
        """The shared WorkOS reader (its list answers shared by every read), or ``None``
        without ``karmo:workosApiKey``; as a view with one retry deadline. The settings
        are read once per configuration, not for every role a refresh reads."""
        with self._lock:
            if not self._known:
                settings = read_settings(dict(stack_config), os.environ)
                if settings.workos_api_key is not None:
                    self._reader = WorkOSReader(
                        settings.workos_api_url,
                        settings.workos_api_key.get_secret_value(),
                        session=session(settings),
                    )
                self._known = True
            reader = self._reader
        return None if reader is None else reader.operation()

    def read(self, reader: WorkOSReader | None, id_: str, props: dict[str, Any]) -> ReadResult:
        """The provider's ``read`` (see :meth:`OrganizationRoleProvider.read`), with
        ``reader`` from :meth:`reader`."""
        if "role_id" in props:
            recorded = {key: props.get(key) for key in OUTPUT_PROPERTIES}
            if reader is None:
                self._say_no_read_back()
                return ReadResult(id_, recorded)
            role = reader.role(str(recorded["organization_id"]), str(recorded["slug"]))
            if role is None:
                return ReadResult("", {})  # WorkOS no longer has it: gone from the state
            return _read_back(id_, recorded, role)
        organization_id, slug = split_resource_id(id_)
        for key, from_id in (("organization_id", organization_id), ("slug", slug)):
            given = props.get(key)
            if isinstance(given, str) and given != from_id:
                raise InputError(
                    f"OrganizationRole id {id_!r} names {key} {from_id!r}, but the "
                    f"resource was declared with {key} {given!r}"
                )
        outs: dict[str, Any] = dict.fromkeys(OUTPUT_PROPERTIES)
        outs.update(organization_id=organization_id, slug=slug)
        if reader is None:
            name = props.get("name")
            outs["name"] = name if isinstance(name, str) else None
            return ReadResult(id_, outs)
        found = reader.role(organization_id, slug)
        if found is None:
            raise InputError(
                f"OrganizationRole.get: WorkOS has no organization role {slug!r} in "
                f"organization {organization_id!r}"
            )
        outs.update(name=found.name, role_id=found.role_id, permissions=list(found.permissions))
        outs[CLEAR] = False
        return ReadResult(id_, outs)

    def _say_no_read_back(self) -> None:
        with self._lock:
            said, self._said_no_read_back = self._said_no_read_back, True
        if not said:
            announce(_NO_READ_BACK, level="info")


def _read_back(id_: str, recorded: dict[str, Any], role: WorkOSRole) -> ReadResult:
    """The recorded outputs with what WorkOS holds, and the inputs later diffs compare."""
    outs = {**recorded, "name": role.name, "role_id": role.role_id}
    if recorded["permissions"] is not None:  # managed: compare what WorkOS holds
        outs["permissions"] = list(role.permissions)
    inputs = {k: outs[k] for k in ("organization_id", "slug", "name")}
    if outs["permissions"] is not None:
        inputs["permissions"] = outs["permissions"]
    if outs.get(CLEAR) is True:
        inputs[CLEAR] = True
    return ReadResult(id_, outs, inputs)
