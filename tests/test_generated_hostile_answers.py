"""Generated hostile answers: whatever a server sends, in whatever time, every call ends
within ``karmo:retryDeadline`` plus a small fixed slack, in success or a ``KarmoError``
whose text holds no secret (in any encoding), no control character and a bounded number
of characters, while the process's memory stays bounded. Through the client, through
the service-token mint, through the WorkOS reader (whose roles reach the state as WorkOS
holds them, but never with a secret or a control character), and through
``python -m pulumi.dynamic``.

Deterministic by default (the ``deterministic`` hypothesis profile); with
``HYPOTHESIS_PROFILE=explore`` it searches ten times as many answers anew.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pulumi_karmo_roles._http.credentials import ServiceToken
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles._http.session import Session
from pulumi_karmo_roles._http.workos import WorkOSReader, WorkOSRole
from pulumi_karmo_roles.errors import KarmoError, RequestNotSentError
from tests.support.harness import EngineError, ProviderProcess
from tests.support.secrets import ENCODINGS
from tests.support.servers import Seen, WireServer, gzipped, head

SECRET = "kr_live/Q7mZp+Xv2Ls9"  # "/" and "+": characters servers escape
MINTED = "kst_minted/0123456789+abc"
TIMEOUT, DEADLINE, RETRIES = 0.25, 0.6, 2
SLACK = 3.0  # thread scheduling on a loaded 2-core machine; a hang takes far longer
MAX_TEXT = 5000  # a message, ten field errors, the request and the advice
MAX_PEAK = 48 << 20  # Python allocations during one call
BOMB_BYTES = 256 << 20
EXAMPLES = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else 1

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@functools.cache
def bomb() -> bytes:
    return gzipped(b"\0" * BOMB_BYTES, times=2)


@dataclass(frozen=True)
class Play:
    """One generated answer: what is sent, and at what pace."""

    status: int
    body: str  # a kind, built at answer time (it may echo the request's token)
    text: str  # server text placed in the body
    echo: str | None  # the encoding in which the token is echoed, if it is
    coding: str | None  # Content-Encoding
    headers: tuple[tuple[str, str], ...]
    stall: float  # before the first byte
    interim: int  # "102 Processing" answers before the final one, 0.1 s apart
    drip: float  # seconds between 64-byte pieces of the answer
    close_after: int | None  # close the connection after this many bytes


def build(play: Play, token: str) -> bytes:
    """The answer's bytes for a request that carried ``token``."""
    said = play.text + (" " + ENCODINGS[play.echo](token) if play.echo else "")
    kind = play.body
    if kind == "role":
        body = json.dumps({"id": "role_01GENERATED"}).encode()
    elif kind == "workos-list":
        role = {"id": "role_1", "slug": "org-a", "name": said, "type": "OrganizationRole"}
        body = json.dumps({"object": "list", "data": [{**role, "permissions": [said]}]}).encode()
        if play.echo == "json-slash":
            body = body.replace(b"/", b"\\/")
    elif kind == "token":
        body = json.dumps({"access_token": MINTED, "expires_in": 900}).encode()
    elif kind == "karmo":
        errors = [{"pointer": f"/{said[:20]}", "detail": said} for _ in range(12)]
        body = json.dumps(
            {"code": "50000001", "message": said, "errors": errors, "meta": {"requestId": said}}
        ).encode()
        if play.echo == "json-slash":  # as an encoder that escapes "/" writes it
            body = body.replace(b"/", b"\\/")
    elif kind == "html":
        body = f"<html><title>{said}</title><script>{said}</script><p>{said}</p>".encode()
    elif kind == "nested":
        body = b"[" * 100_000 + b"]" * 100_000
    elif kind == "invalid-utf8":
        body = b"\xff\xfe\xc3(" + said.encode("utf-8", "surrogatepass") + b"\xed\xa0\x80"
    elif kind == "huge":
        body = json.dumps({"code": "50000001", "message": said * 20 + "x" * 3_000_000}).encode()
    elif kind == "pathological":
        body = json.dumps({"code": "50000001", "message": "eyJ" * 60_000 + said}).encode()
    else:
        body = b""
    headers = list(play.headers)
    if play.echo:
        headers += [("X-Request-Id", ENCODINGS[play.echo](token))]
        if 300 <= play.status < 400:
            headers += [("Location", f"https://elsewhere.example/?t={ENCODINGS[play.echo](token)}")]
    if kind == "bomb":
        body, headers = bomb(), [*headers, ("Content-Encoding", "gzip, gzip")]
    elif play.coding:
        if play.coding in ("gzip", "gzip, gzip"):
            body = gzipped(body, times=play.coding.count("gzip"))
        elif play.coding == "deflate":
            body = zlib.compress(body)
        headers += [("Content-Encoding", play.coding)]
    return head(play.status, headers, len(body)) + body


def perform(play: Play, seen: Seen, conn: socket.socket) -> None:
    """Send ``play``'s answer to the request ``seen`` on ``conn``."""
    token = seen.headers.get("authorization", "").removeprefix("Bearer ")
    answer = build(play, token)
    if play.close_after is not None:
        answer = answer[: play.close_after]
    time.sleep(play.stall)
    for _ in range(play.interim):
        conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
        time.sleep(0.1)
    if not play.drip:
        conn.sendall(answer)
        return
    for i in range(0, len(answer), 64):
        conn.sendall(answer[i : i + 64])
        time.sleep(play.drip)


BODIES = ["role", "token", "karmo", "html", "nested", "invalid-utf8", "huge", "pathological"]
BODIES += ["empty", "bomb", "workos-list"]

hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(["\x1b[2J\x1b[31mPWNED", "line\nbreak\r\nhere", "\u202eevil\u202c", ""]),
)
retry_after = st.sampled_from(
    [
        "0",
        "0.01",
        "5",
        "-1",
        "1e400",
        "nan",
        "soon",
        "9" * 500,
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ]
)
header = st.one_of(
    st.tuples(st.just("Retry-After"), retry_after),
    st.tuples(st.just("X-Request-Id"), st.text(st.characters(min_codepoint=32, max_codepoint=255))),
    st.tuples(st.just("Location"), st.sampled_from(["/x", "https://e.example/\x7f", ""])),
    st.tuples(st.just("X-Big"), st.sampled_from(["a" * 70_000, "b" * 1000])),
    st.tuples(st.just("Content-Type"), st.sampled_from(["text/html", "application/json"])),
)
plays = st.builds(
    Play,
    status=st.sampled_from([200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 422, 429])
    | st.sampled_from([500, 502, 503, 504, 599, 418, 299, 150]),
    body=st.sampled_from(BODIES),
    text=hostile_text,
    echo=st.none() | st.sampled_from(sorted(ENCODINGS)),
    coding=st.sampled_from([None, None, "gzip", "deflate", "gzip, gzip", "br", "identity"]),
    headers=st.lists(header, max_size=4).map(tuple),
    stall=st.sampled_from([0.0, 0.0, 0.0, 0.05, 2.0]),
    interim=st.sampled_from([0, 0, 0, 1, 3, 1000]),
    drip=st.sampled_from([0.0, 0.0, 0.0, 0.01, 0.2]),
    close_after=st.none() | st.integers(0, 400),
)

# The items a round of attacks found, each one an example whatever the search finds.
FOUND = [
    Play(502, "bomb", "", None, None, (), 0.0, 0, 0.0, None),  # a compression bomb
    Play(500, "pathological", "", None, None, (), 0.0, 0, 0.0, None),  # quadratic redaction
    Play(201, "role", "", None, None, (), 0.0, 1000, 0.0, None),  # interim answers for ever
    Play(
        429,
        "karmo",
        "slow down",
        None,
        None,
        (("Retry-After", "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"),),
        0.0,
        0,
        0.0,
        None,
    ),  # a Retry-After no calendar holds
    Play(500, "karmo", "bad token", "json-slash", None, (), 0.0, 0, 0.0, None),  # "\/"
    Play(302, "empty", "", "percent", None, (), 0.0, 0, 0.0, None),  # a percent-encoded echo
    Play(500, "nested", "", None, None, (), 0.0, 0, 0.0, None),  # nested 100,000 deep
]


def with_found(test: Callable[..., None]) -> Callable[..., None]:
    for play in FOUND:
        test = example(play=play)(test)
    return test


class Stage:
    """A server on 127.0.0.1 that answers every request with the current play."""

    def __init__(self) -> None:
        self.play: Play | None = None
        self.server = WireServer(self._perform)

    def _perform(self, seen: Seen, conn: socket.socket) -> None:
        assert self.play is not None
        perform(self.play, seen, conn)


@pytest.fixture(scope="module")
def stage() -> Iterator[Stage]:
    bomb()  # built once, before any allocation is measured
    staged = Stage()
    with staged.server:
        yield staged


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    return [name for s in secrets for name, enc in ENCODINGS.items() if enc(s) in text]


def check_outcome(outcome: object, elapsed: float, secrets: tuple[str, ...]) -> None:
    """The property, for one call."""
    assert elapsed <= DEADLINE + SLACK, f"took {elapsed:.1f} s"
    if not isinstance(outcome, BaseException):
        return
    assert isinstance(outcome, KarmoError), f"{type(outcome).__name__}: {outcome}"
    # Every generated answer reached the client: the request was sent.
    assert not isinstance(outcome, RequestNotSentError), str(outcome)
    text = str(outcome)
    assert not leaks(text, secrets), text
    assert text.isprintable(), repr(text)
    assert len(text) <= MAX_TEXT
    # What code may inspect or log besides the message: cleaned as the message is.
    for value in getattr(outcome, "meta", {}).values():
        assert isinstance(value, str), repr(value)
        assert not leaks(value, secrets), value
        assert value.isprintable(), repr(value)
        assert len(value) <= 80


def measured(call: Callable[[], object]) -> tuple[object, float, int]:
    """What ``call`` returned or raised, how long it took, and the peak of Python's
    allocations meanwhile. It runs on a thread, so a hang fails instead of blocking."""
    outcome: list[object] = [TimeoutError("no outcome")]

    def run() -> None:
        try:
            outcome[0] = call()
        except BaseException as exc:
            outcome[0] = exc

    tracemalloc.start()
    started = time.monotonic()
    try:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(DEADLINE + SLACK + 30)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return outcome[0], elapsed, peak


def policy() -> RetryPolicy:
    return RetryPolicy(max_retries=RETRIES, deadline=DEADLINE, initial_delay=0.05)


def generated(examples: int) -> settings:
    """The current profile's settings (deterministic in CI), with ``examples`` answers
    (ten times as many under ``explore``)."""
    return settings(
        max_examples=examples * EXAMPLES,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        deadline=None,
    )


@generated(30)
@given(play=plays)
@with_found
def test_any_answer_to_the_client_ends_in_bounds(stage: Stage, play: Play) -> None:
    stage.play = play
    with KarmoClient(stage.server.url, SECRET, timeout=TIMEOUT, retry_policy=policy()) as client:
        outcome, elapsed, peak = measured(lambda: client.upsert_role("org_1", "org-a", "A"))
    check_outcome(outcome, elapsed, (SECRET,))
    assert peak <= MAX_PEAK, f"{peak >> 20} MiB"


@generated(20)
@given(play=plays)
@with_found
def test_any_answer_to_the_mint_ends_in_bounds(stage: Stage, play: Play) -> None:
    stage.play = play
    # The mint is the first request: the generated answer is the mint's. The "token"
    # body mints MINTED, which the next (same) answer may echo.
    source = ServiceToken(stage.server.url, lambda url, body, headers: dict(headers))
    with KarmoClient(stage.server.url, source, timeout=TIMEOUT, retry_policy=policy()) as client:
        outcome, elapsed, peak = measured(lambda: client.upsert_role("org_1", "org-a", "A"))
    check_outcome(outcome, elapsed, (MINTED,))
    assert peak <= MAX_PEAK, f"{peak >> 20} MiB"


@generated(15)
@given(play=plays)
@with_found
def test_any_answer_to_the_workos_reader_ends_in_bounds(stage: Stage, play: Play) -> None:
    stage.play = play
    with Session(timeout=TIMEOUT, retry_policy=policy()) as session:
        reader = WorkOSReader(stage.server.url, SECRET, session=session)
        outcome, elapsed, peak = measured(lambda: reader.role("org_1", "org-a"))
    check_outcome(outcome, elapsed, (SECRET,))
    assert peak <= MAX_PEAK, f"{peak >> 20} MiB"
    if outcome is not None and not isinstance(outcome, BaseException):
        assert isinstance(outcome, WorkOSRole)
        assert not CONTROL.search(outcome.name + "".join(outcome.permissions))
        assert not leaks(outcome.name + "".join(outcome.permissions), (SECRET,))


@pytest.fixture(scope="module")
def engine(stage: Stage) -> Iterator[ProviderProcess]:
    process = ProviderProcess()
    process.configure(
        {
            "karmo:apiUrl": stage.server.url,
            "karmo:token": SECRET,
            "karmo:timeout": str(TIMEOUT),
            "karmo:retryDeadline": str(DEADLINE),
            "karmo:maxRetries": str(RETRIES),
        }
    )
    yield process
    try:
        assert not leaks(process.stderr(), (SECRET,))
        assert peak_rss_kib(process.pid) < 400 * 1024  # a bomb inflated would be > 512 MiB
    finally:
        process.close()


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


@generated(12)
@given(play=plays)
@with_found
def test_any_answer_through_the_engine_ends_in_bounds(
    stage: Stage, engine: ProviderProcess, play: Play
) -> None:
    stage.play = play
    outcome: Any
    started = time.monotonic()
    try:
        outcome = engine.create({"organization_id": "org_1", "slug": "org-a", "name": "A"})
    except EngineError as exc:
        outcome = exc
    elapsed = time.monotonic() - started
    assert elapsed <= DEADLINE + SLACK, f"took {elapsed:.1f} s"
    if isinstance(outcome, EngineError):
        # A KarmoError reaches the CLI as its one line; anything else as a traceback.
        assert "Traceback" not in outcome.details, outcome.details
        assert outcome.details.startswith("pulumi_karmo_roles.errors.")
        assert not leaks(outcome.details, (SECRET,))
        assert outcome.details.isprintable()
        assert len(outcome.details) <= MAX_TEXT + 100
