"""Whatever a server answers ends in bounds: decoded size, time in every phase of an
exchange, and a clean ``KarmoError`` (never a traceback), directly and through
``python -m pulumi.dynamic``."""

from __future__ import annotations

import functools
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pulumi_karmo_roles._http.body import MAX_BODY_BYTES
from pulumi_karmo_roles._http.credentials import ServiceToken
from pulumi_karmo_roles._http.karmo import KarmoClient
from pulumi_karmo_roles._http.retry import RetryPolicy
from pulumi_karmo_roles.errors import (
    APITimeoutError,
    InternalServerError,
    InvalidResponseError,
    KarmoError,
    RateLimitError,
    ServiceTokenError,
)
from tests.support.harness import EngineError, ProviderProcess
from tests.support.secrets import TOKEN
from tests.support.servers import HostileServer, Reply, Seen, WireServer, gzipped, head

VALID = {"organization_id": "org_1", "slug": "org-a", "name": "A"}
BOMB_BYTES = 64 << 20  # decoded; on the wire a few hundred bytes


@functools.cache
def bomb() -> bytes:
    """Zeros, gzip-compressed twice: about 300 bytes that inflate to 64 MiB."""
    return gzipped(b"\0" * BOMB_BYTES, times=2)


def peak_memory(call: Callable[[], Any]) -> tuple[int, BaseException | None]:
    """The peak of memory Python allocated while ``call`` ran, and what it raised."""
    tracemalloc.start()
    try:
        call()
        raised = None
    except BaseException as exc:
        raised = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


def within(seconds: float, call: Callable[[], Any]) -> BaseException | None:
    """Run ``call`` on a thread; fail the test if it is still running after ``seconds``
    (so only a real hang fails it). Returns what it raised."""
    raised: list[BaseException | None] = [None]

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised[0] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return raised[0]


# Size: a compression bomb is inflated only up to the bound --------------------------------


def bombing(status: int, **headers: str) -> HostileServer:
    return HostileServer(
        lambda seen: Reply(status, {"Content-Encoding": "gzip, gzip", **headers}, bomb())
    )


@pytest.mark.parametrize(("status", "error"), [(502, InternalServerError), (201, None)])
def test_a_compression_bomb_is_inflated_only_to_the_bound(
    status: int, error: type[KarmoError] | None
) -> None:
    assert len(bomb()) < 1000
    with bombing(status) as server, KarmoClient(server.url, TOKEN, max_retries=0) as client:
        peak, raised = peak_memory(lambda: client.upsert_role("org_1", "org-a", "A"))
    assert isinstance(raised, error or InvalidResponseError)
    assert peak < 8 * MAX_BODY_BYTES  # not the 64 MiB it inflates to
    assert len(str(raised)) < 1000


def test_a_compression_bomb_from_the_mint_is_bounded() -> None:
    def answer(seen: Seen) -> Reply:
        return Reply(200, {"Content-Encoding": "gzip, gzip"}, bomb())

    with HostileServer(answer) as server:
        source = ServiceToken(server.url, lambda url, body, headers: dict(headers))
        with KarmoClient(server.url, source, max_retries=0) as client:
            peak, raised = peak_memory(lambda: client.upsert_role("org_1", "org-a", "A"))
    assert isinstance(raised, ServiceTokenError)
    assert "without a usable token" in str(raised)
    assert peak < 8 * MAX_BODY_BYTES


def test_a_compression_bomb_in_a_401_to_a_minted_token_is_bounded() -> None:
    # httpx reads this answer itself, inside the credential's flow, before it resends.
    def answer(seen: Seen) -> Reply:
        if seen.target.endswith("/auth/token"):
            return Reply(200, {}, b'{"access_token": "kst_fresh_0123456789", "expires_in": 900}')
        return Reply(401, {"Content-Encoding": "gzip, gzip"}, bomb())

    with HostileServer(answer) as server:
        source = ServiceToken(server.url, lambda url, body, headers: dict(headers))
        with KarmoClient(server.url, source, max_retries=0) as client:
            peak, raised = peak_memory(lambda: client.upsert_role("org_1", "org-a", "A"))
    assert isinstance(raised, KarmoError)
    assert peak < 8 * MAX_BODY_BYTES


@pytest.mark.parametrize("coding", ["gzip", "deflate", "x-gzip", "identity, gzip"])
def test_compressed_answers_are_read(coding: str) -> None:
    import zlib

    body = b'{"id": "role_compressed_0123"}'
    encoded = zlib.compress(body) if coding == "deflate" else gzipped(body)
    with (
        HostileServer(lambda seen: Reply(201, {"Content-Encoding": coding}, encoded)) as server,
        KarmoClient(server.url, TOKEN, max_retries=0) as client,
    ):
        assert client.upsert_role("org_1", "org-a", "A").role_id == "role_compressed_0123"
    assert server.seen[0].headers["accept-encoding"] == "gzip, deflate"


def test_an_answer_in_an_unknown_coding_is_classified_by_its_status() -> None:
    reply = Reply(500, {"Content-Encoding": "br"}, b"\x1b\x00\xff garbage")
    with (
        HostileServer(lambda seen: reply) as server,
        KarmoClient(server.url, TOKEN, max_retries=0) as client,
        pytest.raises(InternalServerError, match="500"),
    ):
        client.upsert_role("org_1", "org-a", "A")


def test_a_compression_bomb_through_the_engine() -> None:
    with bombing(502) as server:
        with ProviderProcess() as process:
            process.configure(
                {"karmo:apiUrl": server.url, "karmo:token": TOKEN, "karmo:maxRetries": "0"}
            )
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            assert caught.value.message.startswith(
                "pulumi_karmo_roles.errors.InternalServerError: Karmo failed PUT"
            )
            assert _peak_rss_kib(process.pid) < 200 * 1024  # far from 64 MiB x layers


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


# Time: the watchdog ends an attempt whatever phase it is in -------------------------------


def interim_forever(gap: float) -> Callable[[Seen, socket.socket], None]:
    """Answers ``102 Processing`` every ``gap`` seconds, never a final answer."""

    def play(seen: Seen, conn: socket.socket) -> None:
        for _ in range(int(60 / gap)):
            conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
            time.sleep(gap)

    return play


def trickled_headers(gap: float) -> Callable[[Seen, socket.socket], None]:
    """Sends a valid answer's head one byte every ``gap`` seconds."""

    def play(seen: Seen, conn: socket.socket) -> None:
        answer = head(201, {}, 15) + b'{"id": "role_1"}'
        for i in range(len(answer)):
            conn.sendall(answer[i : i + 1])
            time.sleep(gap)

    return play


def test_interim_answers_for_ever_end_at_the_attempt_timeout() -> None:
    with (
        WireServer(interim_forever(0.1)) as server,
        KarmoClient(server.url, TOKEN, timeout=0.5, max_retries=0) as client,
    ):
        raised = within(30, lambda: client.upsert_role("org_1", "org-a", "A"))
    assert isinstance(raised, APITimeoutError)
    assert "timed out after 0.5 s" in str(raised)


def test_interim_answers_for_ever_end_at_the_retry_deadline() -> None:
    policy = RetryPolicy(max_retries=10, deadline=1.0)
    with (
        WireServer(interim_forever(0.1)) as server,
        KarmoClient(server.url, TOKEN, timeout=0.4, retry_policy=policy) as client,
    ):
        raised = within(30, lambda: client.upsert_role("org_1", "org-a", "A"))
    assert isinstance(raised, APITimeoutError)
    # Each attempt was cut at its timeout, so several fit in the deadline; not 11.
    assert 2 <= len(server.seen) <= 4


def test_headers_trickled_just_under_the_read_timeout_end_at_the_attempt_timeout() -> None:
    # Each byte comes within the read timeout: only the attempt's own limit ends it, after
    # about 0.5 s, so the server sees only the first few bytes requested.
    sent: list[int] = []

    def play(seen: Seen, conn: socket.socket) -> None:
        answer = head(201, {}, 15) + b'{"id": "role_1"}'
        for i in range(len(answer)):
            conn.sendall(answer[i : i + 1])
            sent.append(i)
            time.sleep(0.2)

    with (
        WireServer(play) as server,
        KarmoClient(server.url, TOKEN, timeout=0.5, max_retries=0) as client,
    ):
        raised = within(30, lambda: client.upsert_role("org_1", "org-a", "A"))
    assert isinstance(raised, APITimeoutError)
    assert len(server.seen) == 1


def test_interim_answers_through_the_engine() -> None:
    with WireServer(interim_forever(0.1)) as server:
        with ProviderProcess() as process:
            process.configure(
                {
                    "karmo:apiUrl": server.url,
                    "karmo:token": TOKEN,
                    "karmo:timeout": "2",
                    "karmo:retryDeadline": "1",
                }
            )
            raised = within(30, lambda: process.create(VALID))
            assert isinstance(raised, EngineError)
            assert "APITimeoutError" in raised.message
            assert "1 s retry deadline" in raised.message


def test_a_connection_that_reads_nothing_is_bounded() -> None:
    # A server that accepts and never reads: the request may still fit in the socket's
    # buffer, so the wait for an answer is what has to end.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with KarmoClient(url, TOKEN, timeout=0.5, max_retries=0) as client:
            raised = within(30, lambda: client.upsert_role("org_1", "org-a", "A"))
        assert isinstance(raised, APITimeoutError)
    finally:
        listener.close()


def test_every_connection_pool_is_watched(monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi_karmo_roles._http.watchdog import WatchedBackend, watch

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "localhost")
    with KarmoClient("https://karmo.invalid", TOKEN) as client:
        pools = [client.session._http._transport, *client.session._http._mounts.values()]
        backends = [
            getattr(getattr(t, "_pool", None), "_network_backend", None) for t in pools if t
        ]
        assert len(backends) >= 2  # the direct pool and the proxy's
        assert all(isinstance(b, WatchedBackend) for b in backends)
        assert watch(client.session._http) == len(backends)


# A Retry-After no calendar holds, a body nested too deep ---------------------------------


@pytest.mark.parametrize(
    "retry_after",
    [
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "1e400",
        "9" * 5000,
        "-5",
    ],
)
def test_any_retry_after_is_clamped_or_ignored(retry_after: str) -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_retries=1, max_retry_after=2.0)
    with (
        HostileServer(lambda seen: Reply(429, {"Retry-After": retry_after}, b"{}")) as server,
        KarmoClient(server.url, TOKEN, retry_policy=policy, sleep=waits.append) as client,
        pytest.raises(RateLimitError),
    ):
        client.upsert_role("org_1", "org-a", "A")
    assert len(waits) == 1
    assert 0 <= waits[0] <= 2.0


def test_a_retry_after_far_in_the_future_through_the_engine() -> None:
    reply = Reply(429, {"Retry-After": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"}, b"{}")
    with HostileServer(lambda seen: reply) as server:
        with ProviderProcess() as process:
            process.configure(
                {"karmo:apiUrl": server.url, "karmo:token": TOKEN, "karmo:maxRetries": "0"}
            )
            with pytest.raises(EngineError) as caught:
                process.create(VALID)
            assert "Traceback" not in caught.value.details
            assert caught.value.message.startswith("pulumi_karmo_roles.errors.RateLimitError")


@pytest.mark.parametrize("status", [500, 422, 201])
def test_a_body_nested_too_deep_is_classified_by_its_status(status: int) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    expected: type[KarmoError] = InvalidResponseError if status == 201 else KarmoError
    with (
        HostileServer(lambda seen: Reply(status, {}, body)) as server,
        KarmoClient(server.url, TOKEN, max_retries=0) as client,
        pytest.raises(expected) as caught,
    ):
        client.upsert_role("org_1", "org-a", "A")
    text = str(caught.value)
    assert f" {status}" in text
    assert "RecursionError" not in text
    assert "likely a bug" not in text


def test_a_minted_token_nested_too_deep_is_refused_cleanly() -> None:
    body = b'{"access_token": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with HostileServer(lambda seen: Reply(200, {}, body)) as server:
        source = ServiceToken(server.url, lambda url, body, headers: dict(headers))
        with (
            KarmoClient(server.url, source, max_retries=0) as client,
            pytest.raises(ServiceTokenError, match="without a usable token"),
        ):
            client.upsert_role("org_1", "org-a", "A")


def test_a_transport_failure_is_never_a_lower_library_exception() -> None:
    # The one exception boundary holds for anything a transport raises.
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection")

    transport = httpx.MockTransport(broken)
    with KarmoClient("https://karmo.invalid", TOKEN, transport=transport, max_retries=0) as c:
        with pytest.raises(KarmoError):
            c.upsert_role("org_1", "org-a", "A")
