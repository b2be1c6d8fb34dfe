"""Fault injection: the settings (:class:`Faults`), the dice and scripted answers that
decide one request's fate, and the answers they give instead of a face's. The handler
carries out what is decided here; docs/sandbox.md lists every fault."""

from __future__ import annotations

import json
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from http import HTTPStatus
from typing import Any

from ._answers import Answer, karmo_error, proxy_page, workos_error

FACES = ("karmo", "workos")
"""The sandbox's faces: each has its own error bodies, counters and rate window."""


@dataclass
class Faults:
    """Faults the sandbox injects into API answers (admin endpoints are exempt)."""

    latency_ms: float = 0.0
    """Milliseconds to wait before every API answer."""
    rate_limit_share: float = 0.0
    """Share (0..1) of requests answered 429."""
    retry_after: str | None = "1"
    """``Retry-After`` header of those 429s (``None``: no header)."""
    error_share: float = 0.0
    """Share (0..1) of requests answered ``error_status`` with a proxy's HTML page."""
    error_status: int = 502
    """Status of those errors (500, 502, 503 or 504)."""
    not_configured: bool = False
    """Answer every request 503 with a Karmo body: access provider not configured."""
    lost_answer_share: float = 0.0
    """Share (0..1) of valid upserts that are applied but answered 502, as when a proxy
    loses Karmo's answer: the client cannot know the write happened."""
    answer_delay_ms: float = 0.0
    """Milliseconds to wait after applying an upsert, before answering it."""
    rate_limit_rps: float = 0.0
    """If positive, at most this many API requests in any one-second window, counted per
    face; beyond it, 429 with ``Retry-After`` set to when a request would next fit
    (decimal seconds)."""
    face: str | None = None
    """The face these faults apply to: ``karmo``, ``workos``, or ``None`` for both."""

    def update(self, changes: dict[str, Any], also_known: tuple[str, ...] = ()) -> None:
        """Apply changes named as the command line's options (``latency-ms``) or as the
        fields (``latency_ms``); an unknown name or a value of the wrong type is an error
        and changes nothing. ``also_known``: names the caller handles itself, listed
        among the known ones when a name is unknown."""
        types = {f.name: f.type for f in fields(self)}
        checked = {}
        for key, value in changes.items():
            name = key.replace("-", "_")
            if name not in types:
                names = [*(n.replace("_", "-") for n in types), *also_known]
                known = ", ".join(sorted(names))
                raise ValueError(f"unknown fault {key!r} (known: {known})")
            if not _fits(value, str(types[name])):
                raise ValueError(f"fault {key!r} must be {types[name]}, got {value!r}")
            checked[name] = value
        if checked.get("face") not in (None, *FACES):
            raise ValueError(f"face must be one of {FACES} or None, got {checked['face']!r}")
        for name, value in checked.items():
            setattr(self, name, value)

    def named(self) -> dict[str, Any]:
        """The settings, named as the command line's options (``latency-ms``)."""
        return {name.replace("_", "-"): value for name, value in asdict(self).items()}


def _fits(value: Any, declared: str) -> bool:
    """Whether a JSON value fits a field declared as ``float``, ``int``, ``bool`` or
    ``str | None`` (bool is not a number here, though Python counts it as one)."""
    if isinstance(value, bool):
        return declared == "bool"
    if declared == "float":
        return isinstance(value, (int, float))
    if declared == "int":
        return isinstance(value, int)
    return isinstance(value, str) or (value is None and "None" in declared)


@dataclass(frozen=True)
class Draw:
    """What the faults hold for one request: taken under the sandbox's lock, played
    outside it."""

    face: str
    scripted: dict[str, Any] | None
    """The scripted answer this request takes, if any."""
    faults: Faults
    """A copy of the faults that apply to this request's face."""
    roll: float
    """The dice: one roll decides the rate-limit, error and lost-answer shares."""
    wait: float
    """Seconds until the ``rate_limit_rps`` window has room (0: it has room now)."""

    def fault_answer(self) -> Answer | None:
        """The answer a fault gives instead of the face's, or ``None``."""
        faults = self.faults
        if self.wait:
            # WorkOS's SDKs read whole seconds (or a date) only: round the wait up there.
            seconds = (
                math.ceil(self.wait) if self.face == "workos" else f"{max(self.wait, 0.001):.3f}"
            )
            return _rate_limited(self.face, str(seconds), window=True)
        if faults.not_configured and self.face == "karmo":
            return karmo_error(
                503,
                "50300001",
                "Access-management provider is not configured for this environment.",
            )
        if self.roll < faults.rate_limit_share:
            return _rate_limited(self.face, faults.retry_after)
        if self.roll < faults.rate_limit_share + faults.error_share:
            return proxy_page(faults.error_status)
        return None

    @property
    def lose_answer(self) -> bool:
        """Whether an upsert is applied but its answer lost (Karmo's face only)."""
        return self.roll >= 1.0 - self.faults.lost_answer_share


@dataclass
class Injector:
    """The faults in force, the scripted answers waiting, the dice and each face's rate
    window. Not thread-safe: callers hold the sandbox's lock."""

    faults: Faults = field(default_factory=Faults)
    script: list[dict[str, Any]] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.monotonic
    """Monotonic seconds for the ``rate_limit_rps`` window."""
    windows: dict[str, deque[float]] = field(default_factory=dict)
    seed: int | None = None
    """The dice's last seed (``None``: never seeded)."""

    def reseed(self, seed: int) -> None:
        """Seed the dice, for repeatable runs."""
        self.seed = seed
        self.rng.seed(seed)

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply fault settings and ``seed``, named as the command line's options; an
        unknown name or a value of the wrong type is a ``ValueError`` and changes nothing.
        Returns every setting, ``seed`` included."""
        faults = dict(changes)
        seed = faults.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be a whole number, got {seed!r}")
        self.faults.update(faults, also_known=("seed",))
        if seed is not None:
            self.reseed(seed)
        return self.settings()

    def settings(self) -> dict[str, Any]:
        """Every setting, named as the command line's options, and ``seed``."""
        return {**self.faults.named(), "seed": self.seed}

    def draw(self, face: str) -> Draw:
        """Take one request's scripted answer, roll and place in its face's window."""
        scripted = self._next_scripted(face)
        faults = Faults(**asdict(self.faults))
        if faults.face not in (None, face):
            faults = Faults()
        roll = self.rng.random()
        rps = faults.rate_limit_rps
        wait = self._admit(rps, self.clock(), face) if rps else 0
        return Draw(face, scripted, faults, roll, wait)

    def reset(self) -> None:
        """Forget the faults, the script and the windows (the dice keep their seed)."""
        self.script.clear()
        self.windows.clear()
        self.faults = Faults()

    def _admit(self, rps: float, now: float, face: str) -> float:
        """Sliding one-second window of one face: 0 if a request fits now, else seconds
        to wait."""
        window = self.windows.setdefault(face, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) < rps:
            window.append(now)
            return 0.0
        return window[int(len(window) - rps)] + 1.0 - now

    def _next_scripted(self, face: str) -> dict[str, Any] | None:
        """Take the first scripted answer meant for ``face`` (or for either face)."""
        for i, answer in enumerate(self.script):
            if answer.get("face") in (None, face):
                return self.script.pop(i)
        return None


def play(answer: dict[str, Any], face: str) -> Answer | str:
    """Play one scripted answer: the answer to send, or what to do instead: ``pass``
    (answer as usual), ``drop``, ``reset``, ``truncate`` or ``silence`` (send nothing)."""
    action = answer.get("action")
    if action in ("pass", "drop", "reset", "truncate"):
        return str(action)
    if action == "hang":
        time.sleep(float(answer.get("seconds", 5)))
        return "pass" if answer.get("then") == "answer" else "silence"
    status = int(answer.get("status", 500))
    headers = {}
    if answer.get("retry_after") is not None:
        headers["Retry-After"] = str(answer["retry_after"])
    kind = answer.get("body", face)
    if kind == "workos":
        return workos_error(
            status,
            str(answer.get("code", HTTPStatus(status).phrase.lower().replace(" ", "_"))),
            answer.get("message", HTTPStatus(status).phrase),
            headers,
            errors=answer.get("errors"),
        )
    if kind == "karmo":
        return karmo_error(
            status,
            str(answer.get("code", f"{status}00001")),
            answer.get("message", HTTPStatus(status).phrase),
            headers,
            errors=answer.get("errors", []),
        )
    if kind == "html":
        return proxy_page(status, headers)
    raw = kind if isinstance(kind, str) else json.dumps(kind)
    return Answer(status, raw.encode(), answer.get("content_type", "text/plain"), headers)


def _rate_limited(face: str, retry_after: str | None, *, window: bool = False) -> Answer:
    """429 in the face's own shape: the ``rate_limit_rps`` window, or the share."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    if face == "workos":
        return workos_error(429, "rate_limit_exceeded", "Too many requests.", headers)
    if window:
        return karmo_error(429, "42900002", "Rate limit exceeded.", headers)
    return karmo_error(
        429, "42900001", "Configured access provider rate limited the request.", headers
    )
