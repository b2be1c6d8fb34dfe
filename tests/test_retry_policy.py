"""The retry policy alone: backoff, caps, jitter and Retry-After parsing."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from pulumi_karmo_roles._http.retry import RetryPolicy, parse_retry_after
from pulumi_karmo_roles.errors import ConfigurationError

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: ambiguous, ignored
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.0)
    assert [policy.backoff(n, 0.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]


def test_jitter_only_shortens_within_its_fraction() -> None:
    policy = RetryPolicy(initial_delay=1.0, jitter=0.25)
    assert policy.backoff(1, 0.0) == 1.0
    assert policy.backoff(1, 0.999) == pytest.approx(0.75025)


def test_retry_after_replaces_backoff_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.delay(1, retry_after="10", now=NOW, rand=0.5) == 10.0
    assert policy.delay(1, retry_after="3600", now=NOW, rand=0.5) == 60.0
    assert policy.delay(1, retry_after="nonsense", now=NOW, rand=0.0) == 0.5


def test_max_retries_must_not_be_negative() -> None:
    with pytest.raises(ConfigurationError, match="max_retries must be 0 or more"):
        RetryPolicy(max_retries=-1)
    assert RetryPolicy(max_retries=0).max_attempts == 1
