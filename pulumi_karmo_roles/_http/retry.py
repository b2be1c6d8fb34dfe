"""The one retry policy, and the defaults of the bounds: how many attempts, how long to
wait, how long an attempt and an operation may take. Pure (delays from the attempt
number, ``Retry-After``, the time and a random number), so tests need not patch time.
Which failures are retried is :mod:`.failures`'s to say."""

from __future__ import annotations

import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ..errors import ConfigurationError

DEFAULT_TIMEOUT = 30.0
"""Seconds one attempt may take, unless ``karmo:timeout`` says otherwise."""

DEFAULT_MAX_RETRIES = 4
"""Retries after the first attempt, unless ``karmo:maxRetries`` says otherwise."""

DEFAULT_RETRY_DEADLINE = 120.0
"""Seconds one operation may take in all, unless ``karmo:retryDeadline`` says otherwise."""


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, honouring ``Retry-After``.

    The n-th retry (n = 1, 2, ...) waits ``min(initial_delay * 2**(n-1), max_delay)``,
    shortened by up to ``jitter`` (a fraction) at random so that parallel operations
    spread out. A usable ``Retry-After`` (seconds or an HTTP date) replaces that delay,
    capped at ``max_retry_after``; negative, non-finite or unparsable values are ignored.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    """Retries after the first attempt (``karmo:maxRetries``); 0 disables retrying."""
    initial_delay: float = 0.5
    """Seconds before the first retry."""
    max_delay: float = 8.0
    """Upper bound of a computed backoff delay, in seconds."""
    max_retry_after: float = 60.0
    """Upper bound of a server-requested ``Retry-After`` wait, in seconds."""
    jitter: float = 0.25
    """Fraction of a computed delay removed at random (0 = no jitter)."""
    deadline: float | None = DEFAULT_RETRY_DEADLINE
    """Seconds one operation may spend in all (``karmo:retryDeadline``): attempts,
    waits, a token mint, the resend after a 401. No wait is started that would end past
    it, and an attempt's timeout is cut to what is left. ``None``: no deadline."""

    def __post_init__(self) -> None:
        numbers = {
            "initial_delay": self.initial_delay,
            "max_delay": self.max_delay,
            "max_retry_after": self.max_retry_after,
        }
        problems = [
            f"{k} must be a finite number of 0 or more"
            for k, v in numbers.items()
            if not (math.isfinite(v) and v >= 0)
        ]
        if self.max_retries < 0:
            problems.append("max_retries must be 0 or more")
        if not 0 <= self.jitter <= 1:
            problems.append("jitter must be from 0 to 1")
        if self.deadline is not None and not (math.isfinite(self.deadline) and self.deadline > 0):
            problems.append("deadline must be a positive number of seconds, or None")
        if problems:
            raise ConfigurationError("RetryPolicy: " + "; ".join(problems) + ".")

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first one plus ``max_retries``."""
        return self.max_retries + 1

    def backoff(self, retry: int, rand: float) -> float:
        """Delay before retry number ``retry`` (1-based); ``rand`` is in [0, 1)."""
        base = min(self.initial_delay * 2.0 ** (retry - 1), self.max_delay)
        return base * (1.0 - self.jitter * rand)

    def delay(self, retry: int, *, retry_after: str | None, now: float, rand: float) -> float:
        """Delay before retry number ``retry``: the server's ``Retry-After`` if usable
        (capped), else the backoff. ``now`` is the Unix time, for HTTP-date values."""
        requested = parse_retry_after(retry_after, now)
        if requested is not None:
            return min(requested, self.max_retry_after)
        return self.backoff(retry, rand)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date),
    or ``None`` when absent or meaningless (negative, NaN, infinite, unparsable, a date
    too far off to represent). Never raises: the header is whatever a server sent."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 64:  # no valid value is longer
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:
                return None
            # A date in the past means "now".
            seconds = max(0.0, when.timestamp() - now)
        except (TypeError, ValueError, IndexError, OverflowError, OSError):
            return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
