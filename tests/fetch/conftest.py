"""Fixtures for the fetch tests: a real loopback HTTP server and real PyPI files."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from layerplan.fetch import Fetcher, HttpClient, RetryPolicy, SimpleIndex

PYPI = "https://pypi.org/simple/"


@dataclass
class Route:
    body: bytes
    content_type: str = "application/octet-stream"
    failures: list[str] = field(default_factory=list)
    """Consumed one per hit: ``503``, ``404``, ``cut`` (half the body, then close)."""


class LoopbackServer:
    """An HTTP server on 127.0.0.1 that serves registered routes and counts hits."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server.lock:
                    server.hits[path] += 1
                    route = server.routes.get(path)
                    failure = route.failures.pop(0) if route and route.failures else None
                if route is None or failure == "404":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if failure == "503":
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if failure == "cut":
                    self.wfile.write(route.body[: len(route.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(route.body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up early (the fetcher stopping a download) are expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve_file(self, path: str, body: bytes, *, failures: list[str] | None = None) -> str:
        self.routes[path] = Route(body, failures=list(failures or []))
        return self.url + path

    def serve_project(self, name: str, files: dict[str, bytes], *, html: bool = False) -> str:
        """Serve ``/simple/<name>/`` listing ``files`` (served under ``/files/``); return the index URL."""
        entries = []
        for filename, body in files.items():
            self.serve_file(f"/files/{filename}", body)
            digest = hashlib.sha256(body).hexdigest()
            entries.append({"filename": filename, "url": f"../../files/{filename}", "hashes": {"sha256": digest},
                            "size": len(body)})  # fmt: skip
        if html:
            links = "".join(f'<a href="{e["url"]}#sha256={e["hashes"]["sha256"]}">{e["filename"]}</a>' for e in entries)
            self.routes[f"/simple/{name}/"] = Route(f"<html><body>{links}</body></html>".encode(), "text/html")
        else:
            page = {"meta": {"api-version": "1.1"}, "name": name, "files": entries}
            self.routes[f"/simple/{name}/"] = Route(json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json")
        return self.url + "/simple/"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_fetcher(tmp_path, sleeps):  # type: ignore[no-untyped-def]
    """A Fetcher with a fast retry policy whose waits are recorded, not slept."""

    def make(**kwargs):  # type: ignore[no-untyped-def]
        http = HttpClient(retry=RetryPolicy(attempts=kwargs.pop("attempts", 4), backoff=0.01), sleep=sleeps.append)
        kwargs.setdefault("quiet", True)
        return Fetcher(kwargs.pop("cache_dir", tmp_path / "cache"), http=http, **kwargs)

    return make


@pytest.fixture(scope="session")
def pypi_files():  # type: ignore[no-untyped-def]
    """``name -> tuple[IndexFile, ...]`` from the real PyPI, read once per session."""
    index = SimpleIndex(HttpClient())
    cache: dict[str, object] = {}

    def files(name: str):  # type: ignore[no-untyped-def]
        if name not in cache:
            cache[name] = index.files(PYPI, name)
        return cache[name]

    return files
