"""The watchdog on each attempt: whatever phase an exchange is in (resolving the host,
connecting, the TLS handshake, sending, waiting for the status line through any number
of ``102 Processing`` answers, the headers, the body), it ends at the attempt's limit.

httpx bounds each socket operation by its timeout, but not their sum: a server that
sends a little before each timeout keeps an attempt open for ever. So every socket
operation of the client's connections is given the time left of the attempt running on
that thread (:func:`attempt`) as its timeout, and a connection whose time is up is
closed. httpx has no public hook for this; its transports hold an httpcore connection
pool, whose ``network_backend`` (public in httpcore) :func:`watch` wraps.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterator

import httpcore
import httpx

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "pulumi_karmo_roles_attempt_deadline", default=None
)


@contextlib.contextmanager
def attempt(seconds: float) -> Iterator[None]:
    """Everything this thread sends or receives inside the block ends within
    ``seconds`` from now (monotonic clock)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left of this thread's attempt (never negative); ``None`` outside one."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise expired("the attempt's time is up")
    return left if timeout is None else min(timeout, left)


class _WatchedStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the attempt's limit; once one runs out
    of time the connection is closed, so it is never reused half-read."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def _run(
        self,
        expired: type[Exception],
        call: typing.Callable[[float | None], typing.Any],
        timeout: float | None,
    ) -> typing.Any:
        try:
            return call(_bounded(timeout, expired))
        except (httpcore.TimeoutException, TimeoutError):
            self._stream.close()
            raise

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        result: bytes = self._run(
            httpcore.ReadTimeout, lambda t: self._stream.read(max_bytes, t), timeout
        )
        return result

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._run(httpcore.WriteTimeout, lambda t: self._stream.write(buffer, t), timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls: httpcore.NetworkStream = self._run(
            httpcore.ConnectTimeout,
            lambda t: self._stream.start_tls(ssl_context, server_hostname, t),
            timeout,
        )
        return _WatchedStream(tls)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class WatchedBackend(httpcore.NetworkBackend):
    """An httpcore network backend whose connections keep to the attempt's limit; name
    resolution too, which the standard library cannot time out by itself."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _resolve(host, port, _bounded(timeout, httpcore.ConnectTimeout))
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._backend.connect_tcp(
                    address,
                    port,
                    _bounded(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except httpcore.ConnectError as exc:  # the next address may answer
                failure = exc
                continue
            return _WatchedStream(stream)
        raise failure or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _WatchedStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The host's addresses, looked up on a thread of its own so that a resolver that
    never answers costs the attempt no more than its time."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    found: list[str] = []
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
                if str(sockaddr[0]) not in found:
                    found.append(str(sockaddr[0]))
        except OSError as exc:
            failure.append(exc)

    thread = threading.Thread(target=lookup, name="karmo-resolve", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise httpcore.ConnectTimeout(f"looking up {host} took longer than the attempt's time")
    if failure or not found:
        raise httpcore.ConnectError(f"could not look up {host}: {failure[0] if failure else ''}")
    return found


def watch(client: httpx.Client) -> int:
    """Put the watchdog on every connection pool of ``client`` (the direct one and each
    proxy's); returns how many it watches. A transport without an httpcore pool (a test
    transport) is left as it is."""
    transports = [client._transport, *client._mounts.values()]
    watched = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            continue
        if not isinstance(backend, WatchedBackend):
            pool._network_backend = WatchedBackend(backend)  # type: ignore[union-attr]
        watched += 1
    return watched
