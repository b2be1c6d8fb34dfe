"""Small servers on 127.0.0.1 that misbehave on purpose, and proxies users sit behind.

* :class:`HostileServer`: answers each request with whatever a function returns, any
  status, headers and body, optionally dripped one byte at a time.
* :class:`WireServer`: hands the socket to a function that writes any bytes at any pace
  (interim answers, trickled headers, early closes).
* :class:`Proxy`: a forward proxy (absolute-form requests, for ``HTTP_PROXY``) that also
  tunnels ``CONNECT`` (for ``HTTPS_PROXY``); it records what it was asked.
"""

from __future__ import annotations

import contextlib
import gzip
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Seen:
    """A request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """An answer: ``drip`` > 0 sends the body one byte every ``drip`` seconds."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    drip: float = 0.0


def read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Seen(method, target, headers, body)


class LoopbackServer:
    """A TCP listener on 127.0.0.1 that hands each connection, on a thread of its own, to
    :meth:`serve`; a context manager that stops accepting on exit."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop = True
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            pass
        self._thread.join(timeout=5)
        self._sock.close()

    def _accept(self) -> None:
        while True:
            conn, _ = self._sock.accept()
            if self._stop:
                conn.close()
                return
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()

    def _serve_safely(self, conn: socket.socket) -> None:
        # OSError: the client gave up, which is the point of several tests.
        with conn, contextlib.suppress(OSError):
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class Proxy(LoopbackServer):
    """A forward proxy and CONNECT tunnel to 127.0.0.1. ``seen`` holds each request line
    it was asked (``GET http://127.0.0.1:5/x``, ``CONNECT 127.0.0.1:5``)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __enter__(self) -> Proxy:
        super().__enter__()
        return self

    def serve(self, conn: socket.socket) -> None:
        while True:
            request = read_request(conn)
            if request is None:
                return
            self.seen.append(f"{request.method} {request.target}")
            if request.method == "CONNECT":
                host, _, port = request.target.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=10)
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _tunnel(conn, upstream)
                return
            _forward(conn, request)


def _forward(conn: socket.socket, request: Seen) -> None:
    rest = request.target.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    headers = {
        k: v for k, v in request.headers.items() if k not in ("connection", "proxy-connection")
    }
    headers["connection"] = "close"
    head = [f"{request.method} /{path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as upstream:
        upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body)
        while chunk := upstream.recv(65536):
            conn.sendall(chunk)


def _tunnel(a: socket.socket, b: socket.socket) -> None:
    with b:
        while True:
            readable, _, _ = select.select([a, b], [], [], 10)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)


class WireServer(LoopbackServer):
    """Reads each request, then hands the socket to ``play(request, conn)``, which writes
    whatever bytes, at whatever pace, it likes (one request per connection)."""

    def __init__(self, play: Callable[[Seen, socket.socket], None]) -> None:
        super().__init__()
        self.play = play
        self.seen: list[Seen] = []

    def __enter__(self) -> WireServer:
        super().__enter__()
        return self

    def serve(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if request is None:
            return
        self.seen.append(request)
        self.play(request, conn)


class HostileServer(WireServer):
    """Answers every request with ``answer(request)``, a :class:`Reply`: any status,
    headers and body, the body dripped a byte at a time if asked."""

    def __init__(self, answer: Callable[[Seen], Reply]) -> None:
        super().__init__(self._reply)
        self.answer = answer

    def __enter__(self) -> HostileServer:
        super().__enter__()
        return self

    def _reply(self, request: Seen, conn: socket.socket) -> None:
        reply = self.answer(request)
        conn.sendall(head(reply.status, reply.headers, len(reply.body)))
        if not reply.drip:
            conn.sendall(reply.body)
            return
        for i in range(len(reply.body)):
            conn.sendall(reply.body[i : i + 1])
            time.sleep(reply.drip)


def head(status: int, headers: dict[str, str] | list[tuple[str, str]], length: int) -> bytes:
    """A status line and headers with ``Content-Length`` and ``Connection: close``."""
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
    lines = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {length}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in pairs]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def gzipped(data: bytes, times: int = 1) -> bytes:
    """``data`` gzip-compressed ``times`` over (a bomb, for large repetitive data)."""
    for _ in range(times):
        data = gzip.compress(data, compresslevel=9)
    return data


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
