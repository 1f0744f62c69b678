"""A fault-injecting HTTP proxy on 127.0.0.1, in front of a real registry (or any HTTP server).

``FaultProxy(upstream)`` listens on an ephemeral loopback port and forwards every request
to ``upstream`` (``127.0.0.1:5000``), the ``Host`` header kept, so the registry writes
upload ``Location``\\ s that point back at the proxy. A ``Rule`` names a method (``*`` for
any), a regex searched in the request target (path and query), how many times it fires
(``times=None``: every time) and what happens instead of a plain forward:

- ``reset``: the request is read, then the connection is reset (RST, no answer);
- ``cut``: the real answer, its headers (full ``Content-Length``) and only ``keep`` bytes
  of its body, then the connection closes; with ``framed=False`` the answer has no
  ``Content-Length`` (a body that ends when the connection does), so only the content
  itself can tell the client it is short;
- ``stall``: wait ``seconds``, then forward;
- ``status``: answer ``status`` with ``body`` and ``headers`` without asking upstream
  (``registry_error`` makes a distribution-spec error body).

The first rule that matches and has firings left wins. ``log`` records each request as
(method, target, what was done). Used by tests/registry/test_registry_faults.py; a
client sees exactly what it would from a registry behind a failing network.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from memregistry import serve_on_a_new_port  # one set of used ports: a new server never takes an old one's

__all__ = ["FaultProxy", "Rule", "proxy", "registry_error"]

Action = Literal["reset", "cut", "stall", "status", "forward"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
               "proxy-authenticate", "proxy-authorization", "content-length", "date", "server"}  # fmt: skip


def registry_error(code: str, message: str = "injected") -> bytes:
    """A distribution-spec error body: ``{"errors": [{"code", "message", "detail"}]}``."""
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()


@dataclass
class Rule:
    """What to do with requests matching ``method`` and ``path`` (a regex searched in the target)."""

    method: str
    path: str
    action: Action
    times: int | None = 1
    """Firings left; ``None``: every matching request."""
    status: int = 503
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    keep: int = 0
    """``cut``: body bytes sent before the connection closes."""
    framed: bool = True
    """``cut``: send the real ``Content-Length`` (else none: the body ends with the connection)."""
    seconds: float = 0.0
    """``stall``: the wait before forwarding."""
    fired: int = 0

    def matches(self, method: str, target: str) -> bool:
        left = self.times is None or self.fired < self.times
        return left and self.method in ("*", method) and re.search(self.path, target) is not None


class FaultProxy:
    """The proxy; ``with FaultProxy("127.0.0.1:5000") as p:`` serves on ``p.address``."""

    def __init__(self, upstream: str, rules: list[Rule] | None = None) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = list(rules or [])
        self.log: list[tuple[str, str, Action]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(_Handler):
            proxy = owner

        server = serve_on_a_new_port(Handler, _Server)
        self._server = server
        self.address = f"127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="faultproxy", daemon=True)
        self._thread.start()

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forward everything from now on."""
        with self._lock:
            self.rules.clear()

    def done(self, method: str, pattern: str, action: Action | None = None) -> list[tuple[str, str, Action]]:
        """Logged requests of ``method`` whose target matches ``pattern`` (and, if given, ``action``)."""
        with self._lock:
            return [e for e in self.log if e[0] == method and re.search(pattern, e[1]) and action in (None, e[2])]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _decide(self, method: str, target: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, target):
                    rule.fired += 1
                    self.log.append((method, target, rule.action))
                    return rule
            self.log.append((method, target, "forward"))
            return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on a cut or reset connection: that is the point


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
                out.extend(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(out)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        rule = self.proxy._decide(self.command, self.path)
        action = rule.action if rule else "forward"
        if rule is not None and action == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # with a zero linger: RST, not FIN
            return
        if rule is not None and action == "status":
            self._answer(rule.status, list(rule.headers.items()), rule.body, keep=None, framed=True)
            return
        if rule is not None and action == "stall":
            time.sleep(rule.seconds)
        status, headers, payload = self._forward(body)
        cut = rule is not None and action == "cut"
        self._answer(status, headers, payload, keep=rule.keep if cut else None, framed=not cut or rule.framed)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        host, port = self.proxy.upstream.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST", "PATCH") else None,
                               headers=headers)  # fmt: skip
            response = connection.getresponse()
            payload = response.read() if self.command != "HEAD" else b""
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            if self.command == "HEAD" and response.getheader("Content-Length") is not None:
                kept.append(("Content-Length", response.getheader("Content-Length", "0")))
            return response.status, kept, payload
        finally:
            connection.close()

    def _answer(
        self, status: int, headers: list[tuple[str, str]], payload: bytes, *, keep: int | None, framed: bool
    ) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if framed and (self.command != "HEAD" or not any(k.lower() == "content-length" for k, _ in headers)):
            self.send_header("Content-Length", str(len(payload)))
        if keep is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        with suppress(OSError):
            self.wfile.write(payload if keep is None else payload[:keep])
            self.wfile.flush()
            if keep is not None:
                self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def proxy(upstream: str, *rules: Rule) -> Iterator[FaultProxy]:
    """A ``FaultProxy`` in front of ``upstream`` for the length of the block."""
    with FaultProxy(upstream, list(rules)) as running:
        yield running
