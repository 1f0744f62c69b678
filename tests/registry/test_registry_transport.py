"""Retries, bearer tokens and connection errors, against small loopback HTTP servers.

The real test registry neither fails on purpose nor speaks token auth, so these use a
stub on 127.0.0.1 that answers what each test scripts. No engine needed.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from layerplan.http import RetryPolicy
from layerplan.oci import Digest
from layerplan.oci.descriptor import MediaType
from layerplan.registry import (
    Credentials,
    RegistryAuthError,
    RegistryClient,
    RegistryConnectionError,
    RegistryError,
)

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST, "config": {}, "layers": []}).encode()


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Stub:
    address: str
    seen: list[Seen]
    answer: Callable[[Seen], Reply] = lambda seen: Reply(404)


@pytest.fixture
def stub() -> Iterator[Stub]:
    holder: dict[str, Stub] = {}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()))
            holder["stub"].seen.append(seen)
            reply = holder["stub"].answer(seen)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["stub"] = Stub(address=f"127.0.0.1:{server.server_address[1]}", seen=[])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["stub"]
    finally:
        server.shutdown()
        server.server_close()


def _manifest_reply() -> Reply:
    return Reply(200, MANIFEST, {"Content-Type": MediaType.OCI_MANIFEST})


def test_temporary_failures_are_retried(stub: Stub) -> None:
    replies = iter([Reply(503), Reply(429, headers={"Retry-After": "0"}), _manifest_reply()])
    stub.answer = lambda seen: next(replies)

    fetched = RegistryClient(stub.address, retry=FAST).get_manifest("app", "v1")

    assert fetched.data == MANIFEST and fetched.digest == Digest.of_bytes(MANIFEST)
    assert len(stub.seen) == 3


def test_retries_are_bounded_and_the_error_is_structured(stub: Stub) -> None:
    body = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "service unavailable", "detail": {"x": 1}}]})
    stub.answer = lambda seen: Reply(503, body.encode(), {"Content-Type": "application/json"})

    with pytest.raises(RegistryError) as caught:
        RegistryClient(stub.address, retry=FAST).get_manifest("app", "v1")

    error = caught.value
    assert len(stub.seen) == FAST.attempts
    assert (error.status, error.code, error.detail) == (503, "UNAVAILABLE", {"x": 1})
    assert error.temporary and "try again later" in (error.hint or "")
    assert "UNAVAILABLE: service unavailable" in str(error)


def test_client_errors_are_not_retried(stub: Stub) -> None:
    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}).encode()
    stub.answer = lambda seen: Reply(404, body)
    with pytest.raises(RegistryError) as caught:
        RegistryClient(stub.address, retry=FAST).get_manifest("app", "v1")
    assert len(stub.seen) == 1
    assert caught.value.code == "MANIFEST_UNKNOWN" and not caught.value.temporary


def test_bearer_token_is_fetched_with_scope_and_credentials_and_cached(stub: Stub) -> None:
    def answer(seen: Seen) -> Reply:
        if seen.path == "/token":
            ok = seen.headers.get("Authorization") == _basic_header("alice", "s3cret")
            return Reply(200, json.dumps({"token": "tok-1", "expires_in": 300}).encode()) if ok else Reply(401)
        if seen.headers.get("Authorization") != "Bearer tok-1":
            challenge = f'Bearer realm="http://{stub.address}/token",service="stub-registry"'
            return Reply(401, headers={"WWW-Authenticate": challenge})
        return _manifest_reply()

    stub.answer = answer
    client = RegistryClient(stub.address, retry=FAST, credentials=Credentials(username="alice", password="s3cret"))

    client.get_manifest("team/app", "v1")
    client.get_manifest("team/app", "v2")

    token_requests = [s for s in stub.seen if s.path == "/token"]
    assert len(token_requests) == 1  # the second request reused the token
    assert token_requests[0].query == {"scope": ["repository:team/app:pull"], "service": ["stub-registry"]}
    # unauthenticated try, token, retry with token, then straight with the cached token
    assert [s.path for s in stub.seen] == ["/v2/team/app/manifests/v1", "/token", "/v2/team/app/manifests/v1",
                                           "/v2/team/app/manifests/v2"]


def test_refused_token_is_an_auth_error_with_hint(stub: Stub) -> None:
    def answer(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(401)
        return Reply(401, headers={"WWW-Authenticate": f'Bearer realm="http://{stub.address}/token"'})

    stub.answer = answer
    with pytest.raises(RegistryAuthError) as caught:
        RegistryClient(stub.address, retry=FAST, credentials=Credentials(username="a", password="b")).head_blob(
            "app", Digest.of_bytes(b"x")
        )
    assert caught.value.status == 401 and "docker login" in (caught.value.hint or "")


def test_push_scope_asks_for_pull_and_push(stub: Stub) -> None:
    def answer(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(200, b'{"token": "t"}')
        if seen.headers.get("Authorization") != "Bearer t":
            return Reply(401, headers={"WWW-Authenticate": f'Bearer realm="http://{stub.address}/token"'})
        return Reply(201, headers={"Docker-Content-Digest": str(Digest.of_bytes(MANIFEST))})

    stub.answer = answer
    RegistryClient(stub.address, retry=FAST).put_manifest("app", "v1", MANIFEST, MediaType.OCI_MANIFEST)
    token_request = next(s for s in stub.seen if s.path == "/token")
    assert token_request.query["scope"] == ["repository:app:pull,push"]
    assert "Authorization" not in token_request.headers  # anonymous token: no credentials


def test_wrong_digest_from_the_registry_is_caught(stub: Stub) -> None:
    stub.answer = lambda seen: _manifest_reply()
    wanted = Digest.of_bytes(b"something else")
    with pytest.raises(RegistryError, match="expected"):
        RegistryClient(stub.address, retry=FAST).get_manifest("app", wanted)


def test_a_retry_after_the_token_reuses_it(stub: Stub) -> None:
    replies = iter([Reply(503, headers={"Retry-After": "0"}), _manifest_reply()])

    def answer(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(200, b'{"token": "t"}')
        if seen.headers.get("Authorization") != "Bearer t":
            return Reply(401, headers={"WWW-Authenticate": f'Bearer realm="http://{stub.address}/token"'})
        return next(replies)

    stub.answer = answer
    assert RegistryClient(stub.address, retry=FAST).get_manifest("app", "v1").data == MANIFEST
    assert [s.path for s in stub.seen] == ["/v2/app/manifests/v1", "/token"] + ["/v2/app/manifests/v1"] * 2


def test_a_chunked_upload_that_fails_midway_starts_over(stub: Stub) -> None:
    blob = bytes(range(25))
    patches = iter([Reply(503, headers={"Location": "/v2/app/blobs/uploads/1"})])

    def answer(seen: Seen) -> Reply:
        if seen.method == "POST":
            return Reply(202, headers={"Location": f"/v2/app/blobs/uploads/{len(stub.seen)}"})
        if seen.method == "PATCH":
            return next(patches, None) or Reply(202, headers={"Location": seen.path})
        if seen.method == "PUT":
            return Reply(201)
        return Reply(204)  # DELETE of the abandoned session

    stub.answer = answer
    client = RegistryClient(stub.address, retry=FAST, monolithic_limit=10, chunk_size=10)

    assert client.upload_blob("app", Digest.of_bytes(blob), len(blob), lambda: io.BytesIO(blob)) == len(blob)

    # the failed PATCH is not repeated in place: its session is dropped and the upload starts over
    assert [s.method for s in stub.seen] == ["POST", "PATCH", "DELETE", "POST", "PATCH", "PATCH", "PATCH", "PUT"]
    assert stub.seen[-1].query["digest"] == [str(Digest.of_bytes(blob))]


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_registry_gives_a_clear_error_after_bounded_retries() -> None:
    address = f"127.0.0.1:{_unused_port()}"
    with pytest.raises(RegistryConnectionError) as caught:
        RegistryClient(address, retry=FAST).get_manifest("app", "v1")
    text = str(caught.value)
    assert f"after {FAST.attempts} tries" in text
    assert "Connection refused" in text
    assert f"(hint: is the registry running at {address}?)" in text  # already plain HTTP: no insecure hint
    assert "\n" not in text and "Traceback" not in text


def test_https_registry_refusing_hints_at_insecure_registry() -> None:
    address = f"127.0.0.1:{_unused_port()}"
    client = RegistryClient(address, retry=FAST)
    client.transport.base_url = f"https://{address}"  # as for a remote registry, still on loopback
    with pytest.raises(RegistryConnectionError) as caught:
        client.get_manifest("app", "v1")
    assert "for plain HTTP use --insecure-registry" in str(caught.value)


def _basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
