"""Read a package's file list from a simple-repository index and pick the wanted file.

The JSON form of the simple API (PEP 691, ``application/vnd.pypi.simple.v1+json``) is
asked for first; an index that only serves the HTML form (PEP 503) is read too.
``select`` is pure: it chooses among the listed files by version, file name, allowed
hashes and the caller's rank, and explains why when nothing fits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from layerplan.fetch.errors import HashMismatchError, IndexLookupError, NoMatchingFileError
from layerplan.fetch.http import HttpClient
from layerplan.fetch.model import WantedFile, parse_hashes, tag_rank
from layerplan.http import TransportError, redact

__all__ = ["IndexFile", "SimpleIndex", "page_url", "select"]

_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexFile:
    """One file an index lists for a project."""

    filename: str
    url: str
    """Absolute download URL, without the hash fragment."""
    hashes: tuple[str, ...] = ()
    """``algorithm:hex`` as the index declares them (may be empty)."""
    size: int | None = None
    yanked: bool = False

    @property
    def version(self) -> Version | None:
        """The version in the file name; ``None`` when the name is not a wheel or sdist name."""
        try:
            if self.filename.endswith(".whl"):
                return parse_wheel_filename(self.filename)[1]
            return parse_sdist_filename(self.filename)[1]
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            return None


def page_url(index: str, name: str) -> str:
    """``https://pypi.org/simple/`` + ``six`` -> ``https://pypi.org/simple/six/``."""
    return index.rstrip("/") + "/" + name + "/"


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, dict[str, str | None]]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "base" and found.get("href") and self.base is None:
            self.base = found["href"]
        elif tag == "a" and found.get("href"):
            self.links.append((found["href"] or "", found))


def _parse_json(data: Mapping[str, object], base: str) -> tuple[IndexFile, ...]:
    files = data.get("files")
    if not isinstance(files, list):
        raise ValueError("no `files` list")
    parsed = []
    for entry in files:
        hashes = entry.get("hashes") or {}
        size = entry.get("size")
        parsed.append(
            IndexFile(
                filename=str(entry["filename"]),
                url=urljoin(base, str(entry["url"])),
                hashes=tuple(sorted(f"{alg.lower()}:{value.lower()}" for alg, value in hashes.items())),
                size=size if isinstance(size, int) else None,
                yanked=bool(entry.get("yanked")),
            )
        )
    return tuple(parsed)


def _parse_html(text: str, base: str) -> tuple[IndexFile, ...]:
    parser = _LinkParser()
    parser.feed(text)
    base = urljoin(base, parser.base) if parser.base else base
    parsed = []
    for href, attrs in parser.links:
        url, fragment = urldefrag(urljoin(base, href))
        algorithm, sep, value = fragment.partition("=")
        parsed.append(
            IndexFile(
                filename=url.rstrip("/").rsplit("/", 1)[-1],
                url=url,
                hashes=(f"{algorithm.lower()}:{value.lower()}",) if sep and value else (),
                yanked="data-yanked" in attrs,
            )
        )
    return tuple(parsed)


class SimpleIndex:
    """Reads project pages through an ``HttpClient``; each page is read once per instance."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http
        self._pages: dict[str, tuple[IndexFile, ...] | None] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def files(self, index: str, name: str) -> tuple[IndexFile, ...] | None:
        """Every file ``index`` lists for project ``name``; ``None`` when the project is
        not there (404). Raise ``IndexLookupError`` when the index cannot be read."""
        url = page_url(index, name)
        with self._guard:
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            if url not in self._pages:
                self._pages[url] = self._fetch(url, index, name)
            return self._pages[url]

    def _fetch(self, url: str, index: str, name: str) -> tuple[IndexFile, ...] | None:
        if urlsplit(index).scheme not in ("http", "https"):
            raise IndexLookupError(
                f"{name}: the index {redact(index)} is not an http(s) URL; layerplan reads indexes over HTTP only",
                hint="serve a local index over HTTP (e.g. `python -m http.server`) or lock files by URL or path",
            )
        def handle(response: requests.Response) -> tuple[IndexFile, ...] | None:
            if response.status_code == 404:
                return None
            if response.status_code in (401, 403):
                raise IndexLookupError(
                    f"{name}: the index {redact(index)} refused access (HTTP {response.status_code})",
                    hint="give credentials in the index URL or in ~/.netrc",
                )
            if response.status_code != 200:
                raise IndexLookupError(
                    f"{name}: the index {redact(index)} answered HTTP {response.status_code} for {redact(url)}",
                    hint="the index may be down; try again later",
                )
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            try:
                if content_type in _JSON_TYPES:
                    return _parse_json(json.loads(response.content), response.url)
                return _parse_html(response.text, response.url)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise IndexLookupError(
                    f"{name}: cannot read the index page {redact(url)} ({content_type or 'no content type'}): {error}",
                    hint="is this URL a simple-repository index (like https://pypi.org/simple/)?",
                ) from error

        try:
            return self._http.get(url, handle, headers={"Accept": _ACCEPT})
        except TransportError as error:
            raise IndexLookupError(
                f"{name}: cannot reach the index {redact(index)}: {error.summary}",
                hint="check the network and the index URL the lock names",
            ) from error


def _matches(file_hashes: Iterable[str], allowed: Mapping[str, frozenset[str]]) -> bool | None:
    """True/False when the index declares a hash we can compare; None when it declares none."""
    declared = parse_hashes(file_hashes)
    common = [alg for alg in declared if alg in allowed]
    if not common:
        return None
    return any(declared[alg] & allowed[alg] for alg in common)


def select(wanted: WantedFile, files: Sequence[IndexFile], index: str) -> IndexFile:
    """Pick the file for ``wanted`` among ``files`` (an index page) or raise why none fits.

    With a ``filename``: that file. Otherwise the files whose declared hash is allowed
    (or all the version's files when no hash is given), best first by ``wanted.rank``;
    files whose index lists no comparable hash are used only when no listed hash matches.
    Raise ``NoMatchingFileError``, or ``HashMismatchError`` when the named file's listed
    hash is not allowed.
    """
    where = redact(index)
    if wanted.version is not None:
        try:
            version = Version(wanted.version)
        except InvalidVersion:
            version = None
        if version is not None:
            files = [f for f in files if f.version == version]
        if not files:
            raise NoMatchingFileError(
                f"{wanted.label}: the index {where} has no files for version {wanted.version}",
                hint="the release may have been deleted, or the package comes from another index",
            )
    allowed = parse_hashes(wanted.hashes)

    if wanted.filename is not None:
        named = [f for f in files if f.filename == wanted.filename]
        if not named:
            raise NoMatchingFileError(
                f"{wanted.label}: the index {where} has no file named {wanted.filename}",
                hint="the lock may name another index, or be stale; re-lock",
            )
        chosen = named[0]
        if allowed and _matches(chosen.hashes, allowed) is False:
            raise HashMismatchError(
                package=wanted.label, url=redact(chosen.url), expected=wanted.hashes, actual=", ".join(chosen.hashes)
            )
        return chosen

    if allowed:
        verdicts = [(f, _matches(f.hashes, allowed)) for f in files]
        candidates = [f for f, ok in verdicts if ok] or [f for f, ok in verdicts if ok is None]
    else:
        candidates = list(files)
    if not candidates:
        raise NoMatchingFileError(
            f"{wanted.label}: none of the {len(files)} files on {where} has a hash the lock allows",
            hint="the lock may be stale or made against another index; re-lock",
        )
    rank = wanted.rank or tag_rank()
    ranked = sorted((r, f.filename, f) for f in candidates if (r := rank(f.filename)) is not None)
    if not ranked:
        names = ", ".join(sorted(f.filename for f in candidates))
        raise NoMatchingFileError(
            f"{wanted.label}: no allowed file suits the target (allowed files: {names})",
            hint="the lock has no wheel for this platform/Python; re-lock for it, "
            "or use `layerplan dockerfile` to build from source",
        )
    return ranked[0][2]
