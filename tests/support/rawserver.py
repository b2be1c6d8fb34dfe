"""A raw TCP server on 127.0.0.1 for faults an HTTP server cannot produce: each
connection plays the next behaviour from a list, then the last one forever."""

from __future__ import annotations

import socket
import struct

from tests.support.servers import LoopbackServer, read_request

_OK_BODY = b'{"id": "role_RAW"}'
OK_ANSWER = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_OK_BODY)}\r\n\r\n".encode()
    + _OK_BODY
)


class RawServer(LoopbackServer):
    """Behaviours: ``reset_mid_request`` (read a few bytes of the request, then RST),
    ``garbage`` (read the request, answer bytes that are not HTTP, close), ``ok`` (read
    the request, answer 201 with a role id)."""

    def __init__(self, *behaviours: str) -> None:
        super().__init__()
        self.behaviours = list(behaviours)
        self.connections = 0

    def __enter__(self) -> RawServer:
        super().__enter__()
        return self

    def serve(self, conn: socket.socket) -> None:
        # The client's attempts come one after another: one connection at a time.
        self.connections += 1
        behaviour = self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]
        if behaviour == "reset_mid_request":
            conn.recv(16)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        read_request(conn)
        if behaviour == "garbage":
            conn.sendall(b"\x00\x01 this is not HTTP \xff\r\n\r\n")
        elif behaviour == "ok":
            conn.sendall(OK_ANSWER)
        else:
            raise ValueError(behaviour)
