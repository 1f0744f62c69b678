"""A real HTTP server on 127.0.0.1 for tests of the HTTP edge: routes, scripted failures, hit counts.

Shared by tests/http, tests/fetch and tests/registry (the same failures must be retried
the same way by the index fetcher and the registry client). Import it as ``loopback``
(pytest's ``pythonpath`` names tests/).

Failures are consumed one per hit of a route:

- ``503``: Service Unavailable with ``Retry-After: 0``
- ``503-date``: the same with ``Retry-After`` as an HTTP date ``RETRY_DATE_AHEAD`` seconds ahead
- ``500``: Internal Server Error without ``Retry-After``
- ``429``: Too Many Requests with ``Retry-After: 1``
- ``404``: Not Found
- ``cut``: 200 with the full ``Content-Length``, half the body, then the connection closes
- ``hold``: 200 with the full ``Content-Length``, half the body, then nothing until
  ``server.resume`` is set (a server that stalls mid-body)

``LoopbackServer(listening=False)`` holds its port without accepting, so connections are
refused until ``listen()``: call it from a retry policy's ``sleep`` to test a refused
connection that a retry gets past.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["RETRY_DATE_AHEAD", "LoopbackServer", "Route", "running"]

RETRY_DATE_AHEAD = 5


@dataclass
class Route:
    body: bytes
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    """Consumed one per hit (see the module docstring)."""


def _failure_headers(failure: str) -> tuple[int, dict[str, str]] | None:
    if failure == "503":
        return 503, {"Retry-After": "0"}
    if failure == "503-date":
        return 503, {"Retry-After": formatdate(time.time() + RETRY_DATE_AHEAD, usegmt=True)}
    if failure == "500":
        return 500, {}
    if failure == "429":
        return 429, {"Retry-After": "1"}
    if failure == "404":
        return 404, {}
    return None


class LoopbackServer:
    """Serves registered routes on 127.0.0.1 (GET and HEAD) and counts hits per path."""

    def __init__(self, *, listening: bool = True) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        """(method, path, headers) of every request, in order."""
        self.lock = threading.Lock()
        self.resume = threading.Event()
        """Lets ``hold`` responses finish."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server.lock:
                    server.hits[path] += 1
                    server.seen.append((self.command, path, dict(self.headers.items())))
                    route = server.routes.get(path)
                    failure = route.failures.pop(0) if route and route.failures else None
                scripted = _failure_headers(failure) if failure else None
                if route is None or scripted is not None:
                    status, headers = scripted or (404, {})
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if failure == "hold":
                    self.wfile.write(route.body[: len(route.body) // 2])
                    self.wfile.flush()
                    server.resume.wait(60)
                    self.wfile.write(route.body[len(route.body) // 2 :])
                    return
                if failure == "cut":
                    self.wfile.write(route.body[: len(route.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(route.body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up early (a download stopped midway) are expected

        self.httpd = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.httpd.server_bind()  # the port is ours, but refuses connections until listen()
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.address}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        if listening:
            self.listen()

    def listen(self, *_: object) -> None:
        """Start accepting connections (idempotent; takes and ignores a ``sleep`` argument)."""
        if not self.thread.is_alive():
            self.httpd.server_activate()
            self.thread.start()

    def close(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
        failures: list[str] | None = None,
    ) -> str:
        """Serve ``body`` at ``path``; return its URL."""
        self.routes[path] = Route(body, content_type, dict(headers or {}), list(failures or []))
        return self.url + path


@contextmanager
def running(*, listening: bool = True) -> Iterator[LoopbackServer]:
    """A ``LoopbackServer`` for the length of the block."""
    server = LoopbackServer(listening=listening)
    try:
        yield server
    finally:
        server.close()
