"""Fetch wanted files into the cache: look up, download in parallel, verify, keep.

``Fetcher.fetch(wanted)`` returns one ``FetchedFile`` per wanted file, in order. A file
already in the cache (by sha256) costs no download; a lock that gives only hashes is
resolved offline too when every allowed hash's file name is known from an earlier run.
Every downloaded file is verified against the allowed hashes before it is kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests
from layerplan._units import format_size
from layerplan.console import warn
from layerplan.urls import is_loopback_host
from layerplan.events import Progress, StageAdvanced, StageFinished, StageStarted, no_progress
from layerplan.fetch.cache import WheelCache, default_cache_dir
from layerplan.fetch.errors import (
    DownloadError,
    FetchError,
    HashMismatchError,
    NoMatchingFileError,
    UnhashedFileError,
)
from layerplan.fetch.http import HttpClient
from layerplan.fetch.index import IndexFile, SimpleIndex, select
from layerplan.fetch.model import PYPI_SIMPLE, FetchedFile, WantedFile, filename_from_url, parse_hashes
from layerplan.http import ReadAgain, TransportError, redact

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["FetchStats", "Fetcher", "fetch_files", "plain_http_notice"]

_CHUNK = 256 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchStats:
    """What a ``Fetcher`` did so far."""

    requests: int
    """HTTP requests sent (index pages and downloads, retries included)."""
    retries: int
    downloads: int
    """Files downloaded and kept."""
    cache_hits: int
    bytes: int
    """Body bytes received."""


class _Tally:
    """The fetch stage's events: started at the first real download (cache hits are no
    work, so a build with everything cached says nothing), bytes as they arrive, and one
    finished event with what was downloaded."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._started = False
        self.files = 0
        self.bytes = 0

    def _start(self) -> None:
        # under self._lock
        if not self._started:
            self._started = True
            # No totals: which files are cached is learnt file by file; each download adds its size.
            self._progress(StageStarted(stage="fetch"))

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self._start()
            self.bytes += nbytes
        self._progress(StageAdvanced(stage="fetch", bytes=nbytes))

    def grow(self, nbytes: int) -> None:
        """A download starts: its size joins the total."""
        with self._lock:
            self._start()
        self._progress(StageAdvanced(stage="fetch", total_bytes=nbytes))

    def downloaded(self, filename: str, size: int) -> None:
        with self._lock:
            self._start()
            self.files += 1
        self._progress(StageAdvanced(stage="fetch", count=1, detail=f"{filename} ({format_size(size)})"))

    def finish(self) -> None:
        with self._lock:
            started = self._started
        if started:
            self._progress(
                StageFinished(stage="fetch", summary=f"{self.files} file{'s' if self.files != 1 else ''}, {format_size(self.bytes)}", bytes=self.bytes)
            )


class Fetcher:
    """Fetches ``WantedFile``s into a ``WheelCache``. Reusable; ``fetch_one`` may be
    called from several threads, ``fetch`` calls should not overlap (one fetch stage).

    ``indexes`` are the lock's index URLs in priority order (default: PyPI); a wanted
    file that names its own index uses only that one. ``require_hashes`` refuses files
    that the lock gives no hash for (the default). ``progress`` hears of the downloads
    (``layerplan.events``: a ``fetch`` stage, only when something is downloaded);
    ``console`` is where warnings go (default: stderr).
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        indexes: Sequence[str] = (),
        jobs: int = 8,
        require_hashes: bool = True,
        http: HttpClient | None = None,
        console: Console | None = None,
        progress: Progress = no_progress,
    ) -> None:
        self.cache = WheelCache(cache_dir if cache_dir is not None else default_cache_dir())
        self.indexes = tuple(indexes) or (PYPI_SIMPLE,)
        self.jobs = max(1, jobs)
        self.require_hashes = require_hashes
        self.http = http or HttpClient(pool_size=max(self.jobs, 10))
        self.index = SimpleIndex(self.http)
        self.console = console
        self.progress = progress
        self._counts = {"downloads": 0, "cache_hits": 0}
        self._counts_lock = threading.Lock()
        self._progress: _Tally | None = None
        self._url_locks: dict[str, threading.Lock] = {}
        self._plain_http_hosts: set[str] = set()
        self.cache.clean_temp()

    @property
    def stats(self) -> FetchStats:
        """A snapshot of the counters."""
        http = self.http.stats
        with self._counts_lock:
            return FetchStats(
                requests=http.requests,
                retries=http.retries,
                downloads=self._counts["downloads"],
                cache_hits=self._counts["cache_hits"],
                bytes=http.bytes,
            )

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self._counts[key] += 1

    def fetch(self, wanted: Sequence[WantedFile]) -> tuple[FetchedFile, ...]:
        """Fetch every wanted file (duplicates once), ``jobs`` at a time; results in order.

        Raise the first failure in input order (a ``FetchError``) after the other
        downloads finished; files fetched by then stay cached.
        """
        unique = list(dict.fromkeys(wanted))
        self._progress = tally = _Tally(self.progress)
        try:
            with ThreadPoolExecutor(self.jobs, thread_name_prefix="layerplan-fetch") as pool:
                futures: dict[WantedFile, Future[FetchedFile]] = {w: pool.submit(self.fetch_one, w) for w in unique}
                try:
                    done = {w: f.exception() for w, f in futures.items()}
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        finally:
            self._progress = None
            tally.finish()
        for item in wanted:
            if (error := done[item]) is not None:
                raise error
        return tuple(futures[item].result() for item in wanted)

    def fetch_one(self, wanted: WantedFile) -> FetchedFile:
        """Fetch one file (see ``fetch``)."""
        return self._fetch_one(wanted)

    def _fetch_one(self, wanted: WantedFile) -> FetchedFile:
        allowed = parse_hashes(wanted.hashes)
        if not allowed and self.require_hashes:
            raise UnhashedFileError(
                f"{wanted.label}: the lock gives no hash for this file, so it cannot be verified",
                hint="re-lock so that the lock records hashes (uv, poetry and pdm locks do; for a requirements "
                "file use `uv pip compile --generate-hashes` or `pip-compile --generate-hashes`)",
            )
        cached = self._cached(wanted, allowed.get("sha256", frozenset()))
        if cached is not None:
            return cached
        if wanted.url is not None:
            url, filename = wanted.url, wanted.filename or filename_from_url(wanted.url)
            declared: tuple[str, ...] = ()
            size = wanted.size
        else:
            found = self._lookup(wanted, allowed)
            url, filename, declared, size = found.url, found.filename, found.hashes, found.size
            for sha in parse_hashes(declared).get("sha256", ()):  # cached under another URL?
                if (path := self.cache.find(sha, filename)) is not None:
                    return self._hit(wanted, path, sha, url)
        with self._inflight(url):  # two wanted files with one URL: download it once
            for sha in sorted(allowed.get("sha256", ())):
                if (path := self.cache.find(sha, filename)) is not None:
                    return self._hit(wanted, path, sha, url)
            return self._download(wanted, url, filename, allowed or parse_hashes(declared), size or wanted.size)

    def _inflight(self, url: str) -> threading.Lock:
        with self._counts_lock:
            return self._url_locks.setdefault(url, threading.Lock())

    def _hit(self, wanted: WantedFile, path: Path, sha256: str, url: str | None) -> FetchedFile:
        self._count("cache_hits")
        return FetchedFile(
            wanted=wanted,
            path=path,
            filename=path.name,
            url=url,
            sha256=sha256,
            size=path.stat().st_size,
            from_cache=True,
        )

    def _cached(self, wanted: WantedFile, sha256s: frozenset[str]) -> FetchedFile | None:
        """The cached file for ``wanted``, when it can be told without the network."""
        if not sha256s:
            return None
        name = wanted.filename or (filename_from_url(wanted.url) if wanted.url else None)
        if name is not None:
            for sha in sorted(sha256s):
                if (path := self.cache.find(sha, name)) is not None:
                    return self._hit(wanted, path, sha, wanted.url)
            return None
        # Hashes only: choose among the allowed files exactly as a lookup would, which is
        # possible only when every allowed hash's file name is known.
        names = {sha: self.cache.known_name(sha) for sha in sha256s}
        if any(n is None for n in names.values()):
            return None
        files = [IndexFile(filename=n, url="", hashes=(f"sha256:{sha}",)) for sha, n in names.items() if n]
        try:
            chosen = select(wanted, files, "the cache")
        except FetchError:
            return None
        sha = chosen.hashes[0].partition(":")[2]
        path = self.cache.find(sha, chosen.filename)
        return self._hit(wanted, path, sha, None) if path is not None else None

    def _lookup(self, wanted: WantedFile, allowed: dict[str, frozenset[str]]) -> IndexFile:
        indexes = (wanted.index,) if wanted.index else (wanted.indexes or self.indexes)
        failure: FetchError | None = None
        for index in indexes:
            self._note_plain_http(index)
            files = self.index.files(index, wanted.name)
            if files is None:
                continue
            self._remember_names(wanted, files, allowed.get("sha256", frozenset()))
            try:
                return select(wanted, files, index)
            except NoMatchingFileError as error:
                failure = failure or error
        if failure is not None:
            raise failure
        shown = ", ".join(redact(i) for i in indexes)
        raise NoMatchingFileError(
            f"{wanted.label}: not found on {shown} (HTTP 404)",
            hint="check the package name, and that the lock names the index it came from",
        )

    def _remember_names(self, wanted: WantedFile, files: Sequence[IndexFile], sha256s: frozenset[str]) -> None:
        if not sha256s or wanted.filename is not None:
            return
        for file in files:
            for sha in parse_hashes(file.hashes).get("sha256", ()):
                if sha in sha256s:
                    self.cache.remember_name(sha, file.filename)

    def _download(
        self, wanted: WantedFile, url: str, filename: str, allowed: dict[str, frozenset[str]], size: int | None
    ) -> FetchedFile:
        if urlsplit(url).scheme == "file":
            return self._copy_local(wanted, url, filename, allowed, size)
        self._note_plain_http(url)
        progress = self._progress
        announced_once: list[int] = []  # a retry reads the same file again: its size counts once

        def handle(response: requests.Response) -> FetchedFile:
            if response.status_code != 200:
                hint = (
                    "the file was removed from the index; re-lock"
                    if response.status_code in (404, 410)
                    else "the server may be down; try again later"
                )
                raise DownloadError(
                    f"{wanted.label}: download of {redact(url)} failed with HTTP {response.status_code}", hint=hint
                )
            length = response.headers.get("Content-Length")
            announced = size if size is not None else int(length) if length and length.isdigit() else None
            if progress is not None and announced is not None and not announced_once:
                announced_once.append(announced)
                progress.grow(announced)

            def chunks() -> Iterator[bytes]:
                for chunk in response.iter_content(_CHUNK):
                    self.http.stats.add(bytes=len(chunk))
                    yield chunk

            return self._keep(wanted, url, filename, allowed, size, chunks(), expected=int(length) if length and length.isdigit() else None)

        try:
            return self.http.get(url, handle, headers={"Accept-Encoding": "identity"}, stream=True)
        except TransportError as error:
            raise DownloadError(
                f"{wanted.label}: cannot download {redact(url)}: {error.summary}",
                hint="check the network; a proxy or firewall may cut large downloads",
            ) from error

    def _copy_local(
        self, wanted: WantedFile, url: str, filename: str, allowed: dict[str, frozenset[str]], size: int | None
    ) -> FetchedFile:
        """A ``file://`` URL: the file is read from disk and verified like a download."""
        parts = urlsplit(url)
        path = Path(url2pathname(parts.path))
        if parts.netloc not in ("", "localhost"):
            raise DownloadError(
                f"{wanted.label}: {redact(url)} names a file on another host ({parts.netloc})",
                hint="a file:// URL must name a local file (file:///path); re-lock with the file's local path",
            )
        try:
            with path.open("rb") as stream:
                return self._keep(wanted, url, filename, allowed, size, iter(lambda: stream.read(_CHUNK), b""))
        except IsADirectoryError:
            problem = "is a directory, not a wheel or sdist file"
        except FileNotFoundError:
            problem = "does not exist"
        except PermissionError:
            problem = "cannot be read (permission denied)"
        raise DownloadError(
            f"{wanted.label}: the local file {path} (from {redact(url)}) {problem}",
            hint="the lock points at a file on this machine; put it back or re-lock",
        )

    def _keep(
        self,
        wanted: WantedFile,
        url: str,
        filename: str,
        allowed: dict[str, frozenset[str]],
        size: int | None,
        chunks: Iterator[bytes],
        *,
        expected: int | None = None,
    ) -> FetchedFile:
        """Write ``chunks`` into the cache, hashing as they come; keep the file only when
        a hash matches ``allowed``. ``expected``: the announced length (a shorter body is
        read again); ``size``: the lock's size (a longer body cannot match; stop)."""
        progress = self._progress
        algorithms = sorted(set(allowed) | {"sha256"})
        hashers = {alg: hashlib.new(alg) for alg in algorithms}
        received = 0
        try:
            with self.cache.writer(filename) as out:
                for chunk in chunks:
                    out.write(chunk)
                    for hasher in hashers.values():
                        hasher.update(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress.advance(len(chunk))
                    if size is not None and received > size:
                        break  # longer than the lock says: cannot match; stop reading
                overflow = size is not None and received > size
                if not overflow and expected is not None and received < expected:
                    raise ReadAgain(f"body cut short at {received} of {expected} bytes")
                digests = {alg: hasher.hexdigest() for alg, hasher in hashers.items()}
                if allowed and not any(digests[alg] in values for alg, values in allowed.items()):
                    shown_alg = next(iter(sorted(allowed)))
                    raise HashMismatchError(
                        package=wanted.label,
                        url=redact(url),
                        expected=tuple(f"{a}:{v}" for a in sorted(allowed) for v in sorted(allowed[a])),
                        actual=f"{shown_alg}:{digests[shown_alg]}",
                    )
                path = self.cache.commit(out, digests["sha256"], filename)
        except BaseException:
            if progress is not None:
                progress.advance(-received)
            raise
        self._count("downloads")
        if progress is not None:
            progress.downloaded(filename, received)
        return FetchedFile(
            wanted=wanted,
            path=path,
            filename=filename,
            url=url,
            sha256=digests["sha256"],
            size=received,
            from_cache=False,
        )

    def _note_plain_http(self, url: str) -> None:
        """Warn once per host that files come over plain ``http://``. Not an error: the
        lock's hashes still decide what is kept, but anyone on the path sees (and can
        stall or swap) what is fetched, and an unhashed lookup would trust the page."""
        notice = plain_http_notice(url)
        if notice is None:
            return
        host = urlsplit(url).hostname or ""
        with self._counts_lock:
            if host in self._plain_http_hosts:
                return
            self._plain_http_hosts.add(host)
        warn(notice, self.console)


def plain_http_notice(url: str) -> str | None:
    """The warning for fetching ``url``, or None: plain ``http://`` to another machine. A
    loopback host (a local devpi, a test index) has no one on the path, so, as pip trusts
    ``localhost``, it gets none."""
    parts = urlsplit(url)
    if parts.scheme != "http" or is_loopback_host(parts.hostname or ""):
        return None
    return (
        f"{redact(url).split('/')[2]} is reached over plain http://: the lock's hashes still "
        "check every file, but the traffic can be read and tampered with on the way; prefer https://"
    )


def fetch_files(
    wanted: Sequence[WantedFile],
    *,
    cache_dir: Path | None = None,
    indexes: Sequence[str] = (),
    jobs: int = 8,
    require_hashes: bool = True,
    progress: Progress = no_progress,
) -> tuple[FetchedFile, ...]:
    """Fetch ``wanted`` with a fresh ``Fetcher`` (see there); results in input order."""
    fetcher = Fetcher(cache_dir, indexes=indexes, jobs=jobs, require_hashes=require_hashes, progress=progress)
    try:
        return fetcher.fetch(wanted)
    finally:
        fetcher.http.close()

