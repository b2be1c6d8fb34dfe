"""A raw TCP server on 127.0.0.1 for faults an HTTP server cannot produce: each
connection plays the next behaviour from a list, then the last one forever."""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType

_OK_BODY = b'{"id": "role_RAW"}'
OK_ANSWER = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_OK_BODY)}\r\n\r\n".encode()
    + _OK_BODY
)


class RawServer:
    """Behaviours: ``reset_mid_request`` (read a few bytes of the request, then RST),
    ``garbage`` (read the request, answer bytes that are not HTTP, close), ``ok`` (read
    the request, answer 201 with a role id)."""

    def __init__(self, *behaviours: str) -> None:
        self.behaviours = list(behaviours)
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop = True
        # Wake the accept() with one last connection, then close.
        with socket.create_connection(self._sock.getsockname(), timeout=1):
            pass
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while True:
            conn, _ = self._sock.accept()
            if self._stop:
                conn.close()
                return
            self.connections += 1
            behaviour = self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]
            with conn:
                self._play(conn, behaviour)

    def _play(self, conn: socket.socket, behaviour: str) -> None:
        if behaviour == "reset_mid_request":
            conn.recv(16)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        _read_request(conn)
        if behaviour == "garbage":
            conn.sendall(b"\x00\x01 this is not HTTP \xff\r\n\r\n")
        elif behaviour == "ok":
            conn.sendall(OK_ANSWER)
        else:
            raise ValueError(behaviour)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body
