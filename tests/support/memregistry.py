"""An OCI registry in the test process: a threaded ``http.server`` on 127.0.0.1, storing in memory.

Like go-containerregistry's ``pkg/registry`` (served by ``httptest``), it implements the
part of the distribution spec a pushing or pulling client uses, and behaves like the
distribution registry where a client could tell:

* ``GET /v2/`` (200, or 401 with a challenge when auth is on);
* manifests: ``GET``/``HEAD``/``PUT`` by tag or digest, OCI and Docker schema 2 types,
  images and indexes; a ``PUT`` is refused unless every blob (or child manifest) it
  names is in the repository, its ``mediaType`` matches ``Content-Type``, and a digest
  reference matches the body; a ``GET`` whose ``Accept`` rules out the stored type is a 404;
* blobs: ``HEAD``/``GET`` (only for repositories that hold the blob);
* uploads: ``POST`` opens a session (a cross-repository mount with ``?mount=&from=``: 201,
  or 202 and a session when the source lacks the blob); then one ``PUT ?digest=`` with the
  whole blob (monolithic), or ``PATCH`` chunks and an empty ``PUT ?digest=`` (chunked;
  chunked request bodies are read too). The content is hashed: a wrong digest is ``400
  DIGEST_INVALID`` and nothing is stored. ``GET`` a session's progress, ``DELETE`` cancels.
  Stricter than distribution 2.8 in one place: a ``PATCH`` whose ``Content-Range`` does
  not start where the upload stands is a 416 (distribution appends it anyway);
* auth (optional): ``basic``, or ``bearer`` with a ``/token`` endpoint on the same server
  that hands out tokens for the scopes asked, checked per repository and action.

Every request is recorded (method, path, query, status, body bytes), blob bytes received
are counted per committed blob, and faults can be injected: a status (``503``) for the
next N matching requests, or a response body cut short.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = ["Fault", "MemRegistry", "Request", "Upload", "memregistry"]

MANIFEST_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
_NAME = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ROUTES = [
    ("upload", re.compile(rf"^/v2/(?P<name>{_NAME})/blobs/uploads/(?P<id>[^/]*)$")),
    ("blob", re.compile(rf"^/v2/(?P<name>{_NAME})/blobs/(?P<ref>[^/]+)$")),
    ("manifest", re.compile(rf"^/v2/(?P<name>{_NAME})/manifests/(?P<ref>[^/]+)$")),
    ("tags", re.compile(rf"^/v2/(?P<name>{_NAME})/tags/list$")),
    ("referrers", re.compile(rf"^/v2/(?P<name>{_NAME})/referrers/(?P<ref>[^/]+)$")),
]


_PORTS_USED: set[int] = set()
"""Every port a registry of this process served on: each new one gets a port of its own."""


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Request:
    """One request the registry answered."""

    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    received: int = 0
    """Request body bytes."""
    sent: int = 0
    """Response body bytes actually written."""


@dataclass
class Upload:
    """A committed blob upload: how many body bytes arrived for it in its session."""

    repository: str
    digest: str
    received: int


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex searched in
    the path) with ``status`` -- or, with ``keep`` set, with the real response whose body is
    cut after ``keep`` bytes (the connection then closes)."""

    method: str
    path: str
    times: int = 1
    status: int = 503
    keep: int | None = None
    retry_after: str | None = None
    """A ``Retry-After`` header on the injected answer (seconds)."""
    hits: int = 0


@dataclass
class Hold:
    """Keep every ``method`` request whose path matches ``path`` (a regex searched in the
    path) waiting until :meth:`release`: a client stops at a known point, e.g. to be killed there."""

    method: str
    path: str
    reached: threading.Event = field(default_factory=threading.Event)
    """Set when the first matching request arrives."""
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class _Repo:
    blobs: set[str] = field(default_factory=set)
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Session:
    repository: str
    data: bytearray = field(default_factory=bytearray)


class _Error(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def serve_on_a_new_port(
    handler: type[BaseHTTPRequestHandler], server_class: type[ThreadingHTTPServer] | None = None
) -> ThreadingHTTPServer:
    """A server on 127.0.0.1, on a port no test server of this session had before.

    Builds remember where blobs are per registry address (the store's locations): a new
    registry on an old one's port would look like it lost their blobs, and tests sharing a
    cache would see mounts they did not ask for. Ports already used are held until a free
    one comes."""
    make = server_class or _Server
    taken: list[ThreadingHTTPServer] = []
    server = make(("127.0.0.1", 0), handler)
    while server.server_address[1] in _PORTS_USED:
        taken.append(server)
        server = make(("127.0.0.1", 0), handler)
    for old in taken:
        old.server_close()
    _PORTS_USED.add(server.server_address[1])
    return server


class MemRegistry:
    """The registry; ``with MemRegistry() as r:`` serves it on ``r.address`` (``127.0.0.1:PORT``)."""

    def __init__(
        self,
        *,
        auth: Literal["basic", "bearer"] | None = None,
        username: str = "layerplan",
        password: str = "layerplan-secret",
        service: str = "memregistry",
        monolithic_post: bool = False,
        referrers_api: bool = False,
    ) -> None:
        """``monolithic_post``: accept a whole blob in the ``POST ?digest=`` that opens an upload
        (the spec allows it; distribution 2.8 ignores the body and opens a session, as here by default).
        ``referrers_api``: answer a manifest PUT with a ``subject`` with ``OCI-Subject`` and
        serve ``/v2/<name>/referrers/<digest>`` (OCI distribution 1.1); by default, like
        distribution 2.8, neither (clients keep the referrers tag instead)."""
        self.auth, self.username, self.password, self.service = auth, username, password, service
        self.monolithic_post = monolithic_post
        self.referrers_api = referrers_api
        self.blobs: dict[str, bytes] = {}
        self.repos: dict[str, _Repo] = {}
        self.requests: list[Request] = []
        self.uploads: list[Upload] = []
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []
        self.tokens_issued = 0
        self._sessions: dict[str, _Session] = {}
        self._tokens: dict[str, set[tuple[str, str]]] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MemRegistry:
        registry = self

        class Handler(_Handler):
            owner = registry

        server = serve_on_a_new_port(Handler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="memregistry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> MemRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, as image references name it."""
        assert self._server is not None, "not started"
        port = self._server.server_address[1]
        return f"127.0.0.1:{port}"

    # ------------------------------------------------------------------ test API

    def fail(self, method: str, path: str, *, times: int = 1, status: int = 503, retry_after: str | None = None) -> Fault:
        """Answer the next ``times`` ``method`` requests whose path matches ``path`` with ``status``
        (and a ``Retry-After`` header when given)."""
        fault = Fault(method=method, path=path, times=times, status=status, retry_after=retry_after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def cut_short(self, method: str, path: str, *, keep: int, times: int = 1) -> Fault:
        """Send only ``keep`` bytes of the next ``times`` matching responses' bodies, then hang up."""
        fault = Fault(method=method, path=path, times=times, keep=keep)
        with self._lock:
            self.faults.append(fault)
        return fault

    def hold(self, method: str, path: str) -> Hold:
        """Keep matching requests waiting (unanswered) until the hold is released."""
        hold = Hold(method=method, path=path)
        with self._lock:
            self.holds.append(hold)
        return hold

    def seed(self, repository: str, tag: str, manifest: bytes, blobs: dict[str, bytes], media_type: str | None = None) -> str:
        """Store an image directly (no HTTP, nothing counted); return the manifest's digest."""
        with self._lock:
            repo = self.repos.setdefault(repository, _Repo())
            for digest, data in blobs.items():
                assert _digest(data) == digest
                self.blobs[digest] = data
                repo.blobs.add(digest)
            media_type = media_type or json.loads(manifest)["mediaType"]
            digest = _digest(manifest)
            repo.manifests[digest] = (manifest, media_type)
            repo.tags[tag] = digest
            return digest

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """The stored manifest bytes and media type of ``repository`` at a tag or digest."""
        with self._lock:
            repo = self.repos[repository]
            return repo.manifests[repo.tags.get(reference, reference)]

    def has_blob(self, repository: str, digest: str) -> bool:
        with self._lock:
            return digest in self.repos.get(repository, _Repo()).blobs

    def uploaded_bytes(self, repository: str | None = None) -> dict[str, int]:
        """Body bytes received per committed blob digest (optionally for one repository)."""
        out: dict[str, int] = {}
        with self._lock:
            for upload in self.uploads:
                if repository is None or upload.repository == repository:
                    out[upload.digest] = out.get(upload.digest, 0) + upload.received
        return out

    def calls(self, method: str | None = None, path: str = "") -> list[Request]:
        """Requests answered so far, filtered by method and a regex searched in the path."""
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and re.search(path, r.path)]

    def reset_log(self) -> None:
        """Forget the request log and upload counts (the stored content stays)."""
        with self._lock:
            self.requests.clear()
            self.uploads.clear()

    # ------------------------------------------------------------------ request handling

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.hits < fault.times and fault.method == method and re.search(fault.path, path):
                    fault.hits += 1
                    return fault
        return None

    def _authorize(self, handler: _Handler, name: str | None, actions: list[tuple[str, str]]) -> None:
        """Raise a 401 ``_Error`` unless the request may do ``actions`` ((repository, action) pairs)."""
        if self.auth is None:
            return
        header = handler.headers.get("Authorization", "")
        if self.auth == "basic":
            if header != "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode():
                raise _Error(401, "UNAUTHORIZED", "authentication required",
                             {"WWW-Authenticate": f'Basic realm="{self.service}"'})
            return
        granted = self._tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if granted is not None and all(action in granted for action in actions):
            return
        challenge = f'Bearer realm="http://{self.address}/token",service="{self.service}"'
        if actions:
            wanted: dict[str, list[str]] = {}
            for repository, action in actions:
                wanted.setdefault(repository, []).append(action)
            challenge += ',scope="' + " ".join(f"repository:{r}:{','.join(a)}" for r, a in wanted.items()) + '"'
        raise _Error(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": challenge})

    def _token(self, handler: _Handler, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        good = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if handler.headers.get("Authorization", "") != good:
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}).encode()
            return 401, {"Content-Type": "application/json"}, body
        granted: set[tuple[str, str]] = set()
        for item in query.get("scope", []):
            for one in item.split(" "):
                kind, _, rest = one.partition(":")
                repository, _, actions = rest.rpartition(":")
                if kind == "repository":
                    granted.update((repository, action) for action in actions.split(","))
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = granted
            self.tokens_issued += 1
        return 200, {"Content-Type": "application/json"}, json.dumps({"token": token, "expires_in": 300}).encode()

    def handle(self, handler: _Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The answer to one request: status, headers and body (also for HEAD: its length is sent)."""
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        one = {k: v[0] for k, v in query.items()}
        method = handler.command
        if parts.path == "/token" and self.auth == "bearer" and method == "GET":
            return self._token(handler, query)
        if parts.path == "/v2/" or parts.path == "/v2":
            self._authorize(handler, None, [])
            return 200, {"Content-Type": "application/json"}, b"{}"
        for kind, pattern in _ROUTES:
            match = pattern.match(parts.path)
            if match:
                name = match.group("name")
                pull = [(name, "pull")]
                push = [(name, "pull"), (name, "push")]
                if kind == "manifest":
                    self._authorize(handler, name, pull if method in ("GET", "HEAD") else push)
                    return self._manifest(method, name, match.group("ref"), handler, body)
                if kind == "blob":
                    self._authorize(handler, name, pull if method in ("GET", "HEAD") else push)
                    return self._blob(method, name, match.group("ref"))
                if kind == "referrers" and self.referrers_api and method == "GET":
                    self._authorize(handler, name, pull)
                    return self._referrers(name, match.group("ref"))
                if kind == "referrers":
                    raise _Error(404, "NOT_FOUND", f"no route for {parts.path}")
                if kind == "tags":
                    self._authorize(handler, name, pull)
                    with self._lock:
                        tags = sorted(self.repos[name].tags) if name in self.repos else None
                    if tags is None:
                        raise _Error(404, "NAME_UNKNOWN", f"repository {name} not known")
                    return 200, {"Content-Type": "application/json"}, json.dumps({"name": name, "tags": tags}).encode()
                actions = push + ([(one["from"], "pull")] if "mount" in one and "from" in one else [])
                self._authorize(handler, name, actions)
                return self._upload(method, name, match.group("id"), one, handler, body)
        raise _Error(404, "NOT_FOUND", f"no route for {parts.path}")

    # ---- manifests

    def _manifest(self, method: str, name: str, ref: str, handler: _Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not (_TAG.match(ref) or _DIGEST.match(ref)):
            raise _Error(400, "TAG_INVALID" if ":" not in ref else "DIGEST_INVALID", f"invalid reference {ref}")
        if method in ("GET", "HEAD"):
            with self._lock:
                repo = self.repos.get(name, _Repo())
                digest = repo.tags.get(ref, ref)
                if digest not in repo.manifests:
                    raise _Error(404, "MANIFEST_UNKNOWN", f"manifest {ref} unknown")
                data, media_type = repo.manifests[digest]
            accept = [a.split(";", 1)[0].strip() for a in ",".join(handler.headers.get_all("Accept") or []).split(",") if a.strip()]
            if accept and media_type not in accept and "*/*" not in accept:
                # distribution: an OCI manifest is not served to a client that does not accept it
                raise _Error(404, "MANIFEST_UNKNOWN", f"{media_type} found, but the Accept header rules it out")
            return 200, {"Content-Type": media_type, "Docker-Content-Digest": digest}, data
        if method != "PUT":
            raise _Error(405, "UNSUPPORTED", f"{method} on manifests")
        media_type = (handler.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        if media_type not in MANIFEST_TYPES:
            raise _Error(400, "MANIFEST_INVALID", f"unsupported manifest media type {media_type!r}")
        try:
            manifest = json.loads(body)
        except ValueError as error:
            raise _Error(400, "MANIFEST_INVALID", f"not JSON: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("schemaVersion") != 2:
            raise _Error(400, "MANIFEST_INVALID", "schemaVersion must be 2")
        if manifest.get("mediaType", media_type) != media_type:
            raise _Error(400, "MANIFEST_INVALID", f"mediaType {manifest.get('mediaType')} does not match Content-Type {media_type}")
        digest = _digest(body)
        if _DIGEST.match(ref) and ref != digest:
            raise _Error(400, "DIGEST_INVALID", f"manifest digest {digest} does not match {ref}")
        with self._lock:
            repo = self.repos.setdefault(name, _Repo())
            if media_type in INDEX_TYPES:
                missing = [m["digest"] for m in manifest.get("manifests", []) if m.get("digest") not in repo.manifests]
                if missing:
                    raise _Error(400, "MANIFEST_BLOB_UNKNOWN", f"child manifest {missing[0]} unknown")
            else:
                named = [manifest.get("config", {})] + list(manifest.get("layers", []))
                missing = [d.get("digest") for d in named if not d.get("urls") and d.get("digest") not in repo.blobs]
                if missing:
                    raise _Error(400, "MANIFEST_BLOB_UNKNOWN", f"blob {missing[0]} unknown to {name}")
            repo.manifests[digest] = (body, media_type)
            if not _DIGEST.match(ref):
                repo.tags[ref] = digest
        headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
        subject = manifest.get("subject")
        if self.referrers_api and isinstance(subject, dict) and subject.get("digest"):
            headers["OCI-Subject"] = str(subject["digest"])
        return 201, headers, b""

    def _referrers(self, name: str, subject: str) -> tuple[int, dict[str, str], bytes]:
        """The image index of the manifests in ``name`` whose ``subject`` is ``subject``."""
        with self._lock:
            stored = list(self.repos.get(name, _Repo()).manifests.items())
        entries = []
        for digest, (data, media_type) in sorted(stored):
            manifest = json.loads(data)
            if (manifest.get("subject") or {}).get("digest") != subject:
                continue
            entry = {"mediaType": media_type, "digest": digest, "size": len(data)}
            artifact_type = manifest.get("artifactType") or (manifest.get("config") or {}).get("mediaType")
            if artifact_type:
                entry["artifactType"] = artifact_type
            if manifest.get("annotations"):
                entry["annotations"] = manifest["annotations"]
            entries.append(entry)
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
        return 200, {"Content-Type": "application/vnd.oci.image.index.v1+json"}, json.dumps(index).encode()

    # ---- blobs

    def _blob(self, method: str, name: str, ref: str) -> tuple[int, dict[str, str], bytes]:
        if method not in ("GET", "HEAD"):
            raise _Error(405, "UNSUPPORTED", f"{method} on blobs")
        if not _DIGEST.match(ref):
            raise _Error(400, "DIGEST_INVALID", f"invalid digest {ref}")
        with self._lock:
            if ref not in self.repos.get(name, _Repo()).blobs:
                raise _Error(404, "BLOB_UNKNOWN", f"blob {ref} unknown to {name}")
            data = self.blobs[ref]
        return 200, {"Content-Type": "application/octet-stream", "Docker-Content-Digest": ref}, data

    # ---- uploads

    def _commit(self, name: str, session_id: str | None, data: bytes, digest: str | None) -> tuple[int, dict[str, str], bytes]:
        if digest is None or not _DIGEST.match(digest):
            raise _Error(400, "DIGEST_INVALID", f"invalid or missing digest {digest!r}")
        actual = _digest(data)
        with self._lock:
            if session_id is not None:
                self._sessions.pop(session_id, None)
            if actual != digest:
                raise _Error(400, "DIGEST_INVALID", f"content has digest {actual}, not {digest}")
            self.blobs[digest] = data
            self.repos.setdefault(name, _Repo()).blobs.add(digest)
            self.uploads.append(Upload(repository=name, digest=digest, received=len(data)))
        return 201, {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}, b""

    def _session_headers(self, name: str, session_id: str, size: int) -> dict[str, str]:
        return {
            "Location": f"/v2/{name}/blobs/uploads/{session_id}",
            "Docker-Upload-UUID": session_id,
            "Range": f"0-{max(size - 1, 0)}",
        }

    def _upload(
        self, method: str, name: str, session_id: str, query: dict[str, str], handler: _Handler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "POST":
            if session_id:
                raise _Error(404, "BLOB_UPLOAD_UNKNOWN", "POST to a session")
            if "mount" in query and "from" in query:
                digest, source = query["mount"], query["from"]
                with self._lock:
                    if digest in self.repos.get(source, _Repo()).blobs:
                        self.repos.setdefault(name, _Repo()).blobs.add(digest)
                        return 201, {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}, b""
            elif "digest" in query and self.monolithic_post:
                return self._commit(name, None, body, query["digest"])
            new_id = str(uuid.uuid4())
            with self._lock:
                self._sessions[new_id] = _Session(repository=name)
            return 202, self._session_headers(name, new_id, 0), b""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.repository != name:
            raise _Error(404, "BLOB_UPLOAD_UNKNOWN", f"upload {session_id} unknown")
        if method == "GET":
            return 204, self._session_headers(name, session_id, len(session.data)), b""
        if method == "DELETE":
            with self._lock:
                self._sessions.pop(session_id, None)
            return 204, {}, b""
        if method == "PATCH":
            content_range = handler.headers.get("Content-Range")
            if content_range:
                start = int(content_range.split("-", 1)[0])
                if start != len(session.data):
                    raise _Error(416, "BLOB_UPLOAD_INVALID", f"range starts at {start}, upload has {len(session.data)} bytes")
            session.data.extend(body)
            return 202, self._session_headers(name, session_id, len(session.data)), b""
        if method == "PUT":
            session.data.extend(body)
            return self._commit(name, session_id, bytes(session.data), query.get("digest"))
        raise _Error(405, "UNSUPPORTED", f"{method} on an upload")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (as after a cut-short body) is no error; anything else is printed."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: MemRegistry
    protocol_version = "HTTP/1.1"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out.extend(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        registry = self.owner
        body = self._read_body()
        parts = urlsplit(self.path)
        with registry._lock:
            holds = [h for h in registry.holds if h.method == self.command and re.search(h.path, parts.path)]
        for hold in holds:
            hold.reached.set()
            hold.released.wait(300)
        record = Request(method=self.command, path=parts.path, query={k: v[0] for k, v in parse_qs(parts.query).items()},
                         received=len(body))
        fault = registry._fault_for(self.command, parts.path)
        if fault is not None and fault.keep is None:
            status, headers, payload = fault.status, {"Content-Type": "application/json"}, _error_body("UNAVAILABLE", "injected fault")
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        else:
            try:
                status, headers, payload = registry.handle(self, body)
            except _Error as error:
                status, headers, payload = error.status, {"Content-Type": "application/json", **error.headers}, _error_body(error.code, error.message)
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        if fault is not None and fault.keep is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        record.status = status
        if self.command != "HEAD":
            written = payload if fault is None or fault.keep is None else payload[: fault.keep]
            with contextlib.suppress(OSError):
                self.wfile.write(written)
                self.wfile.flush()
            record.sent = len(written)
        with registry._lock:
            registry.requests.append(record)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        pass


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()


@pytest.fixture
def memregistry() -> Iterator[MemRegistry]:
    """A fresh in-memory registry without auth, for one test."""
    with MemRegistry() as registry:
        yield registry
