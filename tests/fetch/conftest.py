"""Fixtures for the fetch tests: a real loopback HTTP server (tests/loopback.py) and real PyPI files."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from loopback import LoopbackServer, Route

from layerplan.fetch import Fetcher, HttpClient, SimpleIndex
from layerplan.http import RetryPolicy

PYPI = "https://pypi.org/simple/"


class IndexServer(LoopbackServer):
    """A ``LoopbackServer`` that also serves simple-repository project pages."""

    def serve_file(self, path: str, body: bytes, *, failures: list[str] | None = None) -> str:
        return self.serve(path, body, failures=failures)

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
def server() -> Iterator[IndexServer]:
    srv = IndexServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_fetcher(tmp_path, sleeps):  # type: ignore[no-untyped-def]
    """A Fetcher with a fast retry policy whose waits are recorded, not slept."""

    def make(**kwargs):  # type: ignore[no-untyped-def]
        retry = RetryPolicy(attempts=kwargs.pop("attempts", 4), backoff=0.01, sleep=kwargs.pop("sleep", sleeps.append))
        http = HttpClient(retry=retry)
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
