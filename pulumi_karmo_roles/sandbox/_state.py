"""What the sandbox's rooms share: its settings, the role store, the fault injector, the
counters and the requests seen, all under one lock."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field

from .._rules import DEFAULT_ACCESS_PROVIDER
from ._faults import Injector
from ._replays import Replays
from ._store import RoleStore


@dataclass
class State:
    """One sandbox's state. Hold ``lock`` to read or change anything mutable."""

    token: str
    organizations: frozenset[str] | None
    """The organizations that exist, or ``None``: every one."""
    token_lifetime: int | None = None
    """Service-token mode: minted tokens live this many seconds (``None``: ``token``)."""
    access_provider: str = DEFAULT_ACCESS_PROVIDER
    workos_api_key: str | None = None
    minted: dict[str, float] = field(default_factory=dict)
    """Minted tokens and when they expire (``time.time()`` seconds)."""
    roles: RoleStore = field(default_factory=RoleStore)
    injector: Injector = field(default_factory=Injector)
    stats: Counter[str] = field(default_factory=Counter)
    seen: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=1000))
    """The last API requests, of both faces."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    replays: Replays = field(default_factory=Replays)
    """The WorkOS face's first answers by ``Idempotency-Key`` (it has its own lock)."""
    resets: int = 0
    """How many times it was reset: a request that arrived before the last reset is
    stale, and neither changes nor counts anything when it wakes up (see the handler)."""

    def reset(self) -> None:
        """Forget roles, faults, scripted answers, counters, requests and tokens."""
        self.roles.clear()
        self.stats.clear()
        self.seen.clear()
        self.minted.clear()
        self.injector.reset()
        self.replays.clear()
        self.resets += 1
