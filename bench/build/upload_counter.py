"""A loopback TCP proxy in front of the OCI registry that counts what clients upload.

Every byte is forwarded unchanged in both directions; the client-to-registry stream is
also parsed as HTTP/1.1 (request line, headers, then a ``Content-Length`` or ``chunked``
body) so the proxy can say, for one measurement window:

* ``blob_body_bytes``: bytes of request bodies sent to ``/v2/<name>/blobs/uploads/...``
  (``POST``/``PATCH``/``PUT``): the blob data that crossed the wire, whatever the tool
  reports about itself;
* ``blobs``: each completed upload (``PUT ...?digest=``) with its digest and its bytes;
* ``manifest_body_bytes``: bytes of ``PUT /v2/<name>/manifests/<ref>`` bodies;
* ``mounts``: cross-repository mount requests (``POST ...?mount=``);
* ``raw_bytes``: everything the clients sent, headers included.

Why a proxy: ``docker push`` and ``layerplan build`` report their own uploads in different
ways ("Pushed" lines vs a JSON report); one independent meter on the wire measures both
the same way. Clients see a registry on ``127.0.0.1:<port>``, which Docker and layerplan
both treat as a plain-HTTP (insecure) loopback registry.
"""

from __future__ import annotations

import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["UploadCounter", "Window"]

_CHUNK = 256 * 1024
_UPLOAD_PATH = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<session>[^/?]*)")
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/?]+)$")


@dataclass
class Window:
    """What clients uploaded since the last :meth:`UploadCounter.reset`."""

    raw_bytes: int = 0
    blob_body_bytes: int = 0
    manifest_body_bytes: int = 0
    requests: int = 0
    mounts: int = 0
    blobs: list[tuple[str, int]] = field(default_factory=list)
    """(digest, body bytes of its upload session) for each completed upload."""
    manifests: int = 0
    unparsed: int = 0
    """Connections whose stream could not be parsed as HTTP (their bytes count in raw_bytes only)."""

    @property
    def uploaded_bytes(self) -> int:
        """Blob and manifest request bodies: what a push really sent (headers left out)."""
        return self.blob_body_bytes + self.manifest_body_bytes


class _RequestParser:
    """Incremental HTTP/1.1 request parser for one client connection (counting only)."""

    def __init__(self, counter: UploadCounter) -> None:
        self.counter = counter
        self.buffer = b""
        self.state = "head"
        self.remaining = 0
        self.kind = ""  # "blob", "manifest" or "" for the current request's body
        self.session = ""
        self.broken = False

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        self.buffer += data
        try:
            while self._step():
                pass
        except ValueError:
            self.broken = True
            self.counter._record_unparsed()

    def _step(self) -> bool:
        if self.state == "head":
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 1 << 20:
                    raise ValueError("header too long")
                return False
            head = self.buffer[:end].decode("latin-1")
            self.buffer = self.buffer[end + 4 :]
            self._start_request(head)
            return True
        if self.state == "length":
            take = min(self.remaining, len(self.buffer))
            if take:
                self._body(take)
                self.buffer = self.buffer[take:]
                self.remaining -= take
            if self.remaining == 0:
                self._end_request()
                return True
            return False
        if self.state == "chunk-size":
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return False
            size = int(self.buffer[:end].split(b";")[0].strip() or b"0", 16)
            self.buffer = self.buffer[end + 2 :]
            if size == 0:
                self.state = "trailer"
            else:
                self.remaining = size
                self.state = "chunk-data"
            return True
        if self.state == "chunk-data":
            take = min(self.remaining, len(self.buffer))
            if take:
                self._body(take)
                self.buffer = self.buffer[take:]
                self.remaining -= take
            if self.remaining == 0:
                self.state = "chunk-end"
                return True
            return False
        if self.state == "chunk-end":
            if len(self.buffer) < 2:
                return False
            self.buffer = self.buffer[2:]
            self.state = "chunk-size"
            return True
        if self.state == "trailer":
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return False
            line = self.buffer[:end]
            self.buffer = self.buffer[end + 2 :]
            if not line:
                self._end_request()
            return True
        raise ValueError(self.state)

    def _start_request(self, head: str) -> None:
        lines = head.split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(url.query)
        self.kind = ""
        self.session = ""
        self.method = method
        self.digest = (query.get("digest") or [""])[0]
        upload = _UPLOAD_PATH.match(url.path)
        if upload:
            self.kind = "blob"
            self.session = upload.group("session")
            if method == "POST" and "mount" in query:
                self.counter._record_mount()
        elif _MANIFEST_PATH.match(url.path) and method == "PUT":
            self.kind = "manifest"
        self.counter._record_request()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.state = "chunk-size"
        else:
            self.remaining = int(headers.get("content-length", "0") or 0)
            self.state = "length"

    def _body(self, size: int) -> None:
        self.counter._record_body(self.kind, self.session, size)

    def _end_request(self) -> None:
        if self.kind == "blob" and self.digest and self.method in ("PUT", "POST"):
            self.counter._record_blob(self.session, self.digest)
        if self.kind == "manifest":
            self.counter._record_manifest()
        self.state = "head"
        self.remaining = 0


class UploadCounter:
    """``with UploadCounter(upstream_port=5000) as proxy:`` then use ``proxy.address``."""

    def __init__(self, *, upstream: tuple[str, int] = ("127.0.0.1", 5000), port: int = 0) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._window = Window()
        self._sessions: dict[str, int] = {}
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name="upload-counter", daemon=True)

    def __enter__(self) -> UploadCounter:  # noqa: PYI034 (Python 3.10 has no typing.Self)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.close()
        except OSError:
            pass

    def reset(self) -> None:
        """Start a new measurement window."""
        with self._lock:
            self._window = Window()
            self._sessions = {}

    def snapshot(self) -> Window:
        """The current window (a copy)."""
        with self._lock:
            w = self._window
            return Window(
                raw_bytes=w.raw_bytes,
                blob_body_bytes=w.blob_body_bytes,
                manifest_body_bytes=w.manifest_body_bytes,
                requests=w.requests,
                mounts=w.mounts,
                blobs=list(w.blobs),
                manifests=w.manifests,
                unparsed=w.unparsed,
            )

    # -- counting (called from connection threads)
    def _record_request(self) -> None:
        with self._lock:
            self._window.requests += 1

    def _record_mount(self) -> None:
        with self._lock:
            self._window.mounts += 1

    def _record_unparsed(self) -> None:
        with self._lock:
            self._window.unparsed += 1

    def _record_manifest(self) -> None:
        with self._lock:
            self._window.manifests += 1

    def _record_body(self, kind: str, session: str, size: int) -> None:
        with self._lock:
            if kind == "blob":
                self._window.blob_body_bytes += size
                self._sessions[session] = self._sessions.get(session, 0) + size
            elif kind == "manifest":
                self._window.manifest_body_bytes += size

    def _record_blob(self, session: str, digest: str) -> None:
        with self._lock:
            self._window.blobs.append((digest, self._sessions.pop(session, 0)))

    def _record_raw(self, size: int) -> None:
        with self._lock:
            self._window.raw_bytes += size

    # -- forwarding
    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        # Forward each segment at once, as a transparent proxy must: with Nagle's algorithm on,
        # a request's body sent after its headers waits for the peer's delayed ACK (~40 ms on
        # loopback), a cost the tools measured through the proxy would not pay without it.
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        parser = _RequestParser(self)
        back = threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True)
        back.start()
        self._pipe(client, upstream, parser)
        back.join()
        for sock in (client, upstream):
            sock.close()

    def _pipe(self, source: socket.socket, dest: socket.socket, parser: _RequestParser | None) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                dest.sendall(data)
                if parser is not None:
                    self._record_raw(len(data))
                    parser.feed(data)
        except OSError:
            pass
        finally:
            try:
                dest.shutdown(socket.SHUT_WR)
            except OSError:
                pass
