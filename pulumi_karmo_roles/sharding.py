"""Which shard (stack) each organization's roles belong to, when one stack is too big.

::

    from pulumi_karmo_roles import OrganizationRoleSet, Sharding, shard_of

    shard_of("org_acme", 8)  # 0..7, the same on every machine and in every process

    sharding = Sharding.from_file("shards.yaml", shards=8)  # pinned organizations win
    OrganizationRoleSet.from_file(
        "roles.yaml", "customer-roles", organization_ids=sharding.select(customers, shard=3)
    )

The hash is rendezvous (highest random weight) hashing over BLAKE2b: each organization goes
to the shard whose weight for it is highest. It spreads organizations evenly, and going
from k to k+1 shards moves only the organizations whose new highest weight is the new
shard's, about 1/(k+1) of them (``hash % k`` would move about k/(k+1)).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from .errors import InputError, UsageError

__all__ = ["Sharding", "shard_of"]

MAX_SHARDS = 10_000
"""The largest number of shards accepted (one stack each; far beyond any real fleet)."""
MAX_ASSIGNMENT_BYTES = 16 * 1024 * 1024
"""The largest assignment file read."""

_Ids = TypeVar("_Ids", bound="Sequence[str] | Mapping[str, Any]")


def _checked_shards(shards: Any) -> int:
    if isinstance(shards, bool) or not isinstance(shards, int):
        raise UsageError(f"shards must be an int, got {type(shards).__name__}")
    if not 1 <= shards <= MAX_SHARDS:
        raise InputError(f"shards must be 1 to {MAX_SHARDS}, got {shards}")
    return shards


def _checked_organization(organization_id: Any) -> str:
    if not isinstance(organization_id, str):
        raise UsageError(
            f"an organization id to shard must be a str, got {type(organization_id).__name__} "
            "(an Output cannot be sharded: its value is not known when the program runs)"
        )
    if not organization_id:
        raise InputError("an organization id to shard must not be empty")
    return organization_id


def _weight(organization_id: str, shard: int) -> int:
    # A cryptographic hash, not hash(): str hashes are salted per process (PYTHONHASHSEED).
    digest = hashlib.blake2b(
        organization_id.encode("utf-8", "surrogatepass"),
        digest_size=8,
        person=b"karmo-shard",
        salt=shard.to_bytes(16, "big"),
    ).digest()
    return int.from_bytes(digest, "big")


def _hashed(organization_id: str, shards: int) -> int:
    # Highest weight wins; a tie (2**-64) goes to the lower shard, so the answer is total.
    return max(range(shards), key=lambda shard: (_weight(organization_id, shard), -shard))


class Sharding:
    """``shards`` shards, numbered 0 to ``shards - 1``, with optional pinned organizations.

    An organization listed in ``assignments`` goes to its listed shard; every other one to
    its rendezvous hash (:func:`shard_of`). Pin an organization to move it on purpose, or to
    keep it where it is when the number of shards changes.
    """

    shards: int
    """How many shards there are."""
    assignments: Mapping[str, int]
    """``{organization_id: shard}``: the pinned organizations."""

    def __init__(self, shards: int, assignments: Mapping[str, int] | None = None) -> None:
        """:raises InputError: ``shards`` is not 1 to :data:`MAX_SHARDS`, or a pinned shard
        is out of range. :raises UsageError: a value of the wrong type."""
        self.shards = _checked_shards(shards)
        if assignments is None:
            assignments = {}
        if not isinstance(assignments, Mapping):
            raise UsageError(
                "assignments must be a mapping {organization_id: shard}, got "
                f"{type(assignments).__name__}"
            )
        checked: dict[str, int] = {}
        for organization_id, shard in assignments.items():
            where = f"assignments[{organization_id!r}]"
            _checked_organization(organization_id)
            if isinstance(shard, bool) or not isinstance(shard, int):
                raise InputError(f"{where}: a shard must be an integer, got {shard!r}")
            if not 0 <= shard < self.shards:
                raise InputError(
                    f"{where}: shard {shard} is out of range: there are {self.shards} shards, "
                    f"0 to {self.shards - 1}"
                )
            checked[organization_id] = shard
        self.assignments = checked

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], shards: int) -> Sharding:
        """Read the pinned organizations from a committed file: ``.json``, or
        ``.yaml``/``.yml`` (needs the ``yaml`` extra), holding one mapping
        ``{organization_id: shard}``, e.g. ``org_acme: 3``. An empty YAML file pins none.
        A relative path is relative to the working directory (under ``pulumi``, the
        project directory).

        :raises InputError: the file cannot be read or parsed, or an entry breaks a rule;
            the message names the file.
        """
        # Imported here: the catalog's readers load pydantic, and the package's top level
        # (which exports shard_of) stays light for the sandbox and the fan-out.
        from .catalog import read_data_file

        shown, data = read_data_file(path, "shard assignment file", MAX_ASSIGNMENT_BYTES)
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InputError(
                f"{shown}: must hold one mapping {{organization_id: shard}}, "
                f"got {type(data).__name__}"
            )
        try:
            return cls(shards, data)
        except (InputError, UsageError) as exc:
            raise InputError(f"{shown}: {exc}") from None

    def shard_of(self, organization_id: str) -> int:
        """The shard of ``organization_id``: its pinned one, or its rendezvous hash.

        :raises InputError: an empty id. :raises UsageError: not a str."""
        pinned = self.assignments.get(_checked_organization(organization_id))
        return pinned if pinned is not None else _hashed(organization_id, self.shards)

    def select(self, organization_ids: _Ids, shard: int) -> _Ids:
        """The organizations of ``organization_ids`` that belong to ``shard``, in the same
        form: a list stays a list (in its order); a dict ``{key: organization_id}`` stays a
        dict, sharded by its plain-string ids. Pass the result to
        ``OrganizationRoleSet(organization_ids=...)``.

        :raises InputError: ``shard`` is out of range. :raises UsageError: an id is not a
            str (an Output cannot be sharded), or ``organization_ids`` is neither form.
        """
        if isinstance(shard, bool) or not isinstance(shard, int):
            raise UsageError(f"shard must be an int, got {type(shard).__name__}")
        if not 0 <= shard < self.shards:
            raise InputError(
                f"shard {shard} is out of range: there are {self.shards} shards, "
                f"0 to {self.shards - 1}"
            )
        if isinstance(organization_ids, Mapping):
            picked = {k: v for k, v in organization_ids.items() if self.shard_of(v) == shard}
            return picked  # type: ignore[return-value]
        if isinstance(organization_ids, str | bytes) or not isinstance(organization_ids, Sequence):
            raise UsageError(
                "organization_ids must be a list of organization ids or a dict "
                f"{{key: organization_id}}, got {type(organization_ids).__name__}"
            )
        return [o for o in organization_ids if self.shard_of(o) == shard]  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Sharding(shards={self.shards}, {len(self.assignments)} pinned)"


def shard_of(
    organization_id: str, shards: int, *, assignments: Mapping[str, int] | None = None
) -> int:
    """The shard, 0 to ``shards - 1``, that ``organization_id``'s roles belong to: its
    entry in ``assignments`` if it has one, else its rendezvous hash, the same in every
    process, on every machine and under every Python version.

    ``OrganizationRoleSet(..., organization_ids=[o for o in orgs if shard_of(o, 8) == 3])``
    declares shard 3's organizations. For many calls with pinned organizations, build one
    :class:`Sharding` (its ``select`` keeps the dict form too).

    :raises InputError: ``shards`` is not 1 to :data:`MAX_SHARDS`, a pinned shard is out
        of range, or the id is empty. :raises UsageError: a value of the wrong type.
    """
    organization_id, shards = _checked_organization(organization_id), _checked_shards(shards)
    # Only this id's entry is checked, so a comprehension over many ids stays linear.
    pinned = assignments.get(organization_id) if assignments else None
    if pinned is None:
        return _hashed(organization_id, shards)
    return Sharding(shards, {organization_id: pinned}).assignments[organization_id]
