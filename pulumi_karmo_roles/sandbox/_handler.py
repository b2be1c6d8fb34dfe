"""The sandbox's HTTP side: the threading server that accepts connections (TLS too),
and the handler that reads each request, routes it to a face or the admin endpoints
through the fault injector, and writes the answer out."""

from __future__ import annotations

import socket
import ssl
import struct
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import _admin as admin
from . import _karmo as karmo
from . import _workos as workos
from ._answers import Answer, karmo_error, workos_error
from ._faults import play
from ._state import State

_MAX_BODY = 1 << 20


class Handler(BaseHTTPRequestHandler):
    """One connection's requests, each answered by a face, a fault or the admin
    endpoints."""

    protocol_version = "HTTP/1.1"
    # Without this, each keep-alive request stalls ~40 ms on delayed ACKs.
    disable_nagle_algorithm = True
    server: Listener
    face = "karmo"
    """The face the request being answered is for (its answers are counted so)."""
    arrived_before = 0
    """The sandbox's reset count when the request being answered arrived."""

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()
        with self.server.state.lock:
            self.server.state.stats["connections"] += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the demo read their own output

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def _route(self, method: str) -> None:
        self.arrived_before = self.server.state.resets
        raw = urlsplit(self.path).path
        prefix = self.server.prefix
        under_prefix = bool(prefix) and raw.startswith(prefix + "/")
        # WorkOS's own paths, at the root; known before the body, for a 400's shape.
        self.face = "workos" if workos.serves(raw) and not under_prefix else "karmo"
        body = self._read_body()
        if body is None:
            return
        # Karmo's API answers only under its prefix, as the real service; WorkOS's face
        # is at the root.
        path, outside = (raw, False) if self.face == "workos" else _under_prefix(raw, prefix)
        state = self.server.state
        if path.startswith("/_sandbox/"):
            self.face = "admin"  # not counted: the counters are the API's requests
            self._send(admin.answer(state, method, path.removeprefix("/_sandbox/"), body))
            return
        self._record(method, raw, body)
        if outside:  # the real service has nothing there: no script, no faults
            self._send(karmo.no_route(method, raw))
            return
        with state.lock:
            draw = state.injector.draw(self.face)
        if draw.faults.latency_ms:
            time.sleep(draw.faults.latency_ms / 1000)
        if draw.scripted is not None:
            played = play(draw.scripted, self.face)
            if isinstance(played, Answer):
                self._send(played)
                return
            if played != "pass":
                self._break(played)
                return
        if self._stale():
            return
        answer = draw.fault_answer()
        if answer is None:
            authorization = self.headers.get("Authorization", "")
            if self.face == "workos":
                answer = workos.answer(
                    state, method, path, body, authorization, self.headers.get("Idempotency-Key")
                )
            else:
                answer = karmo.answer(
                    state,
                    method,
                    path,
                    body,
                    authorization=authorization,
                    amz_date=self.headers.get("X-Amz-Date", ""),
                    lose_answer=draw.lose_answer,
                    answer_delay=draw.faults.answer_delay_ms / 1000,
                )
        self._send(answer)

    def _record(self, method: str, raw: str, body: bytes) -> None:
        """Count an API request and keep it (never its ``Authorization`` header)."""
        state = self.server.state
        with state.lock:
            state.stats["requests" if self.face == "karmo" else "workos_requests"] += 1
            state.seen.append(
                {
                    "face": self.face,
                    "method": method,
                    "path": raw,
                    "user_agent": self.headers.get("User-Agent", ""),
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": body.decode("utf-8", errors="replace"),
                }
            )

    def _stale(self) -> bool:
        """Whether the sandbox was reset since this API request arrived (while it was
        held by latency, a hang or an answer delay): then it belongs to a sandbox that is
        gone, e.g. to the test before, and must neither write into the one that replaced
        it nor be counted there. It is closed unanswered."""
        if self.face == "admin" or self.server.state.resets == self.arrived_before:
            return False
        self.close_connection = True
        return True

    def _read_body(self) -> bytes | None:
        """The request body; ``None`` if ``Content-Length`` is unusable (answered 400)."""
        raw = self.headers.get("Content-Length") or "0"
        if not (raw.isascii() and raw.isdigit()) or int(raw) > _MAX_BODY:
            # Where this body ends is unknowable: answer, then close the connection.
            self.close_connection = True
            message = f"Content-Length must be a whole number of bytes up to {_MAX_BODY}"
            if self.face == "workos":
                self._send(workos_error(400, "invalid_request", message))
            else:
                self._send(karmo_error(400, "40000002", message))
            return None
        length = int(raw)
        return self.rfile.read(length) if length else b""

    def _break(self, action: str) -> None:
        """Carry out a scripted ``drop``, ``reset`` or ``truncate``; ``silence`` sends
        nothing."""
        if action == "drop":  # close without answering (FIN)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif action == "reset":  # abort without answering (RST)
            self._reset()
        elif action == "truncate":  # half an answer, then RST
            self.wfile.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                b'Content-Length: 64\r\n\r\n{"id": "role_'
            )
            self._reset()

    def _reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send(self, answer: Answer) -> None:
        if self._stale():
            return
        # One write per answer: status line, headers and body leave in one segment.
        lines = [
            f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}",
            f"Content-Type: {answer.content_type}",
            f"Content-Length: {len(answer.content)}",
            "Server: karmo-sandbox",
        ]
        lines += [f"{k}: {v}" for k, v in answer.headers.items()]
        if self.close_connection:
            lines.append("Connection: close")
        # Counted before it is sent: a client that has the answer finds it counted.
        status = answer.status
        counter = f"status_{status}" if self.face == "karmo" else f"{self.face}_status_{status}"
        if self.face != "admin":
            with self.server.state.lock:
                self.server.state.stats[counter] += 1
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.content)


def _under_prefix(path: str, prefix: str) -> tuple[str, bool]:
    """The path below ``prefix``, and whether it lies outside it (an admin path is
    never outside: ``/_sandbox/`` answers with or without the prefix)."""
    if not prefix:
        return path, False
    if path.startswith(prefix + "/"):
        return path[len(prefix) :], False
    return path, not path.startswith("/_sandbox/")


class Listener(ThreadingHTTPServer):
    """The socket server: one thread per connection, TLS if given a context."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        state: State,
        prefix: str,
        tls: ssl.SSLContext | None,
    ) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.prefix = prefix
        self.tls = tls

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake runs in the connection's own thread (setup), not in accept.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a timeout, a capped read) is expected here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
