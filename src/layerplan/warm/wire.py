"""The build daemon's messages: one JSON object per line over a Unix socket. A command:
the client sends ``run``, the server answers ``ready`` (or ``stale``), the client sends
``streams`` carrying its standard streams as file descriptors (``SCM_RIGHTS``), the
command's process answers ``pid`` and, when it ends, ``exit``.

Hand-written because it is twenty lines of the standard library (``socket.send_fds``);
no messaging library would be lighter to import on every command.
"""

from __future__ import annotations

import json
import socket

TYPE_CHECKING = False  # typing's own flag, without importing typing (the client's start)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MAX_MESSAGE", "ProtocolError", "Reader", "send"]

MAX_MESSAGE = 4 * 1024 * 1024
"""A command's arguments and environment fit many times over; more is not a client of ours."""


class ProtocolError(Exception):
    """The peer closed the connection mid-message or sent something that is not a message."""


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one message; with ``fds``, pass those descriptors along with its first byte."""
    data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


class Reader:
    """Messages from one connection, in order; descriptors passed with them are collected."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        self.fds: list[int] = []

    def receive(self) -> dict[str, Any] | None:
        """The next message, or ``None`` when the peer closed the connection between messages."""
        while b"\n" not in self._buffer:
            data, fds, _flags, _address = socket.recv_fds(self._sock, 65536, 3)
            self.fds.extend(fds)
            if not data:
                if self._buffer:
                    raise ProtocolError("the connection closed in the middle of a message")
                return None
            self._buffer += data
            if len(self._buffer) > MAX_MESSAGE:
                raise ProtocolError(f"a message longer than {MAX_MESSAGE} bytes")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise ProtocolError(f"not a JSON message: {exc}") from None
        if not isinstance(message, dict):
            raise ProtocolError("a message that is not a JSON object")
        return message

