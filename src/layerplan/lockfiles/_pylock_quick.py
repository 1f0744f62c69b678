"""A quick path through a PEP 751 package entry, for the common shape only.

``packaging.pylock`` validates each file of each package with general-purpose helpers:
it parses every wheel's URL (``urlparse``) and file name (``parse_wheel_filename``, tags
included) and builds an object per file, about 40 µs per wheel; a lock of 20,000
packages and 115,000 wheels took four seconds there, the parse of the TOML under one.

``Quick.package`` makes the same checks as ``Package._from_dict`` and the file classes
(it only answers "valid" or "not sure", so their order does not matter) on the shape
lock tools write for index packages: an sdist and wheels with an ``https`` URL or a
name. Repeated work is cached per read: versions, markers, specifiers, and the name
and version part of a wheel file name (the same for all wheels of a package) and its
tags part (a few distinct ones per lock). Anything else (a direct source, a ``path``, a
URL with a query, a value of another type, anything invalid) answers ``None``, and the
reader asks ``packaging.pylock`` itself, which also words every error. So what this
module accepts, packaging accepts; tests/lockfiles/test_pylock_quick.py checks that on
the fixtures and the fuzz corpus.
"""

from __future__ import annotations

import re
from datetime import datetime
from operator import itemgetter
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    is_normalized_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from layerplan.lockfiles._fast import FILE_SETTERS as _FILE_SETTERS
from layerplan.lockfiles._fast import locked_file
from layerplan.lockfiles.model import FileKind, LockedFile

__all__ = ["Quick", "QuickPackage"]

# PEP 427's escaped project name in a wheel file name (packaging.utils checks the same).
_WHEEL_NAME = re.compile(r"^[\w._]+\Z", re.UNICODE)
_NOT_SURE = object()
_PLAIN_SCHEMES = ("https://", "http://")
_new = object.__new__
_OTHER_SHAPE: Any = (_NOT_SURE,) * 4
_URL_WHEEL_FIELDS = itemgetter("url", "upload-time", "size", "hashes")


class QuickPackage:
    """What the reader needs of one validated entry (``version`` as ``str(Version)``)."""

    __slots__ = ("name", "version", "marker", "index", "sdist", "wheels")

    def __init__(
        self,
        name: NormalizedName,
        version: str | None,
        marker: Marker | None,
        index: str | None,
        sdist: LockedFile | None,
        wheels: tuple[LockedFile, ...],
    ) -> None:
        self.name, self.version, self.marker, self.index, self.sdist, self.wheels = (
            name, version, marker, index, sdist, wheels,
        )  # fmt: skip


class Quick:
    """One read's caches; ``package(entry)`` is a ``QuickPackage`` or ``None`` (ask packaging)."""

    def __init__(self) -> None:
        self._versions: dict[str, Version | None] = {}
        self._markers: dict[str, Marker | None] = {}
        self._specifiers: dict[str, bool] = {}
        self._heads: dict[tuple[str, str], tuple[NormalizedName, Version] | None] = {}
        self._tails: dict[str, bool] = {}
        self._prefix: str | None = None
        self._shown: dict[Any, str] = {}

    def package(self, entry: Any) -> QuickPackage | None:
        if type(entry) is not dict:
            return None
        get = entry.get
        name = get("name")
        if type(name) is not str or not is_normalized_name(name):
            return None
        if get("vcs") is not None or get("directory") is not None or get("archive") is not None:
            return None
        raw_version, version = get("version"), None
        if raw_version is not None:
            version = self._version(raw_version)
            if version is None:
                return None
        requires_python = get("requires-python")
        if requires_python is not None and not self._specifier(requires_python):
            return None
        dependencies = get("dependencies")
        if dependencies is not None:
            if type(dependencies) is not list:
                return None
            for item in dependencies:  # a loop: a generator per package cost more
                if type(item) is not dict:
                    return None
        raw_marker, marker = get("marker"), None
        if raw_marker is not None:
            marker = self._marker(raw_marker)
            if marker is None:
                return None
        index = get("index")
        tool = get("tool")
        if index is not None and type(index) is not str or tool is not None and type(tool) is not dict:
            return None
        identities = get("attestation-identities")
        if identities is not None and (
            type(identities) is not list or any(type(i) is not dict or type(i.get("kind")) is not str for i in identities)
        ):
            return None
        raw_wheels, raw_sdist = get("wheels"), get("sdist")
        if raw_wheels is not None and type(raw_wheels) is not list:
            return None
        if raw_sdist is None and not raw_wheels:
            return None  # a direct source, or an error: packaging says which
        wheels: list[LockedFile] = []
        if raw_wheels:
            made = self._wheels(raw_wheels, name, version)
            if made is None:
                return None
            wheels = made
        sdist = None
        if raw_sdist is not None:
            sdist = self._file(raw_sdist, "sdist", name, version)
            if sdist is None:
                return None
        shown = None
        if version is not None:  # str(Version) rebuilds the text: once per distinct version
            shown = self._shown.get(raw_version)  # a str: `version` parsed from it
            if shown is None:
                shown = self._shown[raw_version] = str(version)
        return QuickPackage(NormalizedName(name), shown, marker, index, sdist, tuple(wheels))

    def _file(self, raw: Any, kind: FileKind, name: str, version: Version | None) -> LockedFile | None:
        """The file as the reader records it, when it is valid for package ``name``."""
        if type(raw) is not dict:
            return None
        get = raw.get
        filename, url, path, size, hashes = get("name"), get("url"), get("path"), get("size"), get("hashes")
        uploaded = get("upload-time")
        if (
            filename is not None and type(filename) is not str
            or url is not None and type(url) is not str
            or path is not None and type(path) is not str
            or size is not None and type(size) is not int
            or uploaded is not None and not isinstance(uploaded, datetime)
            or type(hashes) is not dict
            or not hashes
            or not (path or url)
        ):  # fmt: skip
            return None
        if not filename:
            filename = None if path else _plain_url_name(url)  # type: ignore[arg-type]
            if not filename:
                return None
        digests = _digests(hashes)
        if digests is None:
            return None
        fits = self._wheel_fits(filename, name, version) if kind == "wheel" else self._sdist_fits(filename, name, version)
        return locked_file(kind, filename, url, digests, size) if fits else None

    def _wheels(self, raws: list[Any], name: str, version: Version | None) -> list[LockedFile] | None:
        """``_file`` for each wheel of a package, in one loop: a lock has about six per
        package, and each call per wheel was a few percent of the read, so the URL's file
        name (``_plain_url_name``), the single-digest case of ``_digests`` and ``locked_file``
        are written inline. After the first wheel whose name and version fit, a wheel with
        the same ``name-version-`` prefix only has its tags part checked (``split("-", 2)``
        cuts there too, and the tags check counts the dashes)."""
        tails, wheels, prefix, urls, names = self._tails, [], "", [], []
        new, (set_kind, set_filename, set_url, set_hashes, set_size) = _new, _FILE_SETTERS
        for raw in raws:
            if type(raw) is not dict:
                return None
            try:  # what lock tools write for an index's wheel: one C call fetches all four
                url, uploaded, size, hashes = _URL_WHEEL_FIELDS(raw) if len(raw) == 4 else _OTHER_SHAPE
            except KeyError:
                url = _NOT_SURE
            if url is not _NOT_SURE:  # those four keys and no other
                if (
                    type(url) is not str
                    or type(size) is not int
                    or type(uploaded) is not datetime and not isinstance(uploaded, datetime)
                    or type(hashes) is not dict
                    or not hashes
                    or not url
                ):  # fmt: skip
                    return None
                filename = path = None
            else:
                get = raw.get
                filename, url, path, size, hashes = get("name"), get("url"), get("path"), get("size"), get("hashes")
                uploaded = get("upload-time")
                if (
                    filename is not None and type(filename) is not str
                    or url is not None and type(url) is not str
                    or path is not None and type(path) is not str
                    or size is not None and type(size) is not int
                    or uploaded is not None and not isinstance(uploaded, datetime)
                    or type(hashes) is not dict
                    or not hashes
                    or not (path or url)
                ):  # fmt: skip
                    return None
            if not filename:
                if path:
                    return None
                # _plain_url_name(url), inline; its checks of each character of the URL
                # and of the name are made once on all of the package's after the loop
                if not url.startswith(_PLAIN_SCHEMES) or url.find("/", url.index("//") + 2) < 0:
                    return None
                urls.append(url)
                filename = url.rpartition("/")[2]
                if not filename:
                    return None
                names.append(filename)
            if len(hashes) == 1:  # _digests(hashes), inline for the usual single sha256
                ((algorithm, digest),) = hashes.items()
                if type(digest) is not str:
                    return None
                digests: tuple[str, ...] | None = (f"{algorithm}:{digest}",)
            else:
                digests = _digests(hashes)
                if digests is None:
                    return None
            if not filename.endswith(".whl"):
                return None
            if prefix and filename.startswith(prefix):
                tail = filename[len(prefix) : -4]
                fits = tails.get(tail)
                if fits is None:
                    fits = self._tail_fits(tail)
                if not fits:
                    return None
            else:
                self._prefix = None
                if not self._wheel_fits(filename, name, version):
                    return None
                prefix = self._prefix or ""
            file: LockedFile = new(LockedFile)  # locked_file(...), inline
            set_kind(file, "wheel")
            set_filename(file, filename)
            set_url(file, url)
            set_hashes(file, digests)
            set_size(file, size)
            wheels.append(file)
        if urls and not (_plain_characters("".join(urls)) and _plain_name_characters("".join(names))):
            return None
        return wheels

    def _wheel_fits(self, filename: str, name: str, version: Version | None) -> bool:
        """``parse_wheel_filename`` accepts ``filename`` and its name and version match.

        The file name's parts are independent (name, version, build tag, tags), so each
        is checked once per distinct value by packaging itself on a stand-in file name.
        """
        if not filename.endswith(".whl"):
            return False
        prefix = self._prefix
        if prefix is not None and filename.startswith(prefix):
            # The same `name-version-` as a wheel of this package that fit: only the tags
            # part is new (split("-", 2) cuts there too; its dash count is checked below).
            tail = filename[len(prefix) : -4]
        else:
            stem = filename[:-4]
            dashes = stem.count("-")
            if dashes not in (4, 5):
                return False
            parts = stem.split("-", 2)
            key = (parts[0], parts[1])
            head = self._heads.get(key, _NOT_SURE)
            if head is _NOT_SURE:
                head = self._heads[key] = self._head(*key)
            if head is None or head[0] != name:  # type: ignore[index]
                return False
            if version is not None and head[1] is not version and head[1] != version:  # type: ignore[index]
                return False
            self._prefix = f"{parts[0]}-{parts[1]}-"
            tail = parts[2]
        fits = self._tails.get(tail)
        return self._tail_fits(tail) if fits is None else fits

    def _tail_fits(self, tail: str) -> bool:
        """The tags part (``[build-]python-abi-platform``) of a wheel name is valid."""
        try:
            parse_wheel_filename(f"x-0-{tail}.whl")
            fits = True
        except InvalidWheelFilename:
            fits = False
        self._tails[tail] = fits
        return fits

    def _head(self, name_part: str, version_part: str) -> tuple[NormalizedName, Version] | None:
        if "__" in name_part or _WHEEL_NAME.match(name_part) is None:
            return None
        parsed = self._version(version_part)
        if parsed is None:
            return None
        # Without dots or runs of separators, normalizing is lowering and `_` -> `-`.
        simple = name_part.lower().replace("_", "-")
        return (simple if "." not in simple and "--" not in simple else canonicalize_name(name_part)), parsed  # type: ignore[return-value]

    def _sdist_fits(self, filename: str, name: str, version: Version | None) -> bool:
        """``parse_sdist_filename`` accepts ``filename`` and its name and version match,
        with the version parsed once per distinct text (usually the package's own)."""
        if filename.endswith(".tar.gz"):
            stem = filename[:-7]
        elif filename.endswith(".zip"):
            stem = filename[:-4]
        else:
            return False
        name_part, dash, version_part = stem.rpartition("-")
        if not dash or not name_part:
            return False
        # `name` is normalized: the same name with `_` for some `-` normalizes to it.
        if name_part.replace("_", "-") != name and canonicalize_name(name_part) != name:
            return False
        parsed = self._version(version_part)
        return parsed is not None and (version is None or parsed is version or parsed == version)

    def _version(self, text: Any) -> Version | None:
        if type(text) is not str:
            return None
        version = self._versions.get(text, _NOT_SURE)
        if version is _NOT_SURE:
            try:
                version = Version(text)
            except InvalidVersion:
                version = None
            self._versions[text] = version
        return version  # type: ignore[return-value]

    def _marker(self, text: Any) -> Marker | None:
        if type(text) is not str:
            return None
        marker = self._markers.get(text, _NOT_SURE)
        if marker is _NOT_SURE:
            try:
                marker = Marker(text)
            except InvalidMarker:
                marker = None
            self._markers[text] = marker
        return marker  # type: ignore[return-value]

    def _specifier(self, text: Any) -> bool:
        if type(text) is not str:
            return False
        valid = self._specifiers.get(text)
        if valid is None:
            try:
                SpecifierSet(text)
                valid = True
            except InvalidSpecifier:
                valid = False
            self._specifiers[text] = valid
        return valid


def _digests(hashes: dict[Any, Any]) -> tuple[str, ...] | None:
    """``algorithm:digest`` strings, sorted; ``None`` when a digest is not a string."""
    if len(hashes) == 1:  # the usual single sha256: no list to build and sort
        ((algorithm, digest),) = hashes.items()
        return (f"{algorithm}:{digest}",) if type(digest) is str else None
    found = []
    for algorithm, digest in hashes.items():
        if type(digest) is not str:
            return None
        found.append(f"{algorithm}:{digest}")
    return tuple(sorted(found))


def _plain_characters(text: str) -> bool:
    """No character of ``text`` keeps a URL from being plain (see ``_plain_url_name``):
    printable ASCII, no space, query, fragment or brackets. Each test is a C scan, so
    one call on several URLs joined costs little more than one on a single URL."""
    return (
        text.isascii() and text.isprintable()
        and "?" not in text and "#" not in text and "[" not in text and "]" not in text and " " not in text
    )  # fmt: skip


def _plain_name_characters(name: str) -> bool:
    """No character of the file name part of a URL needs unquoting or splits it."""
    return ";" not in name and "%" not in name and "\\" not in name


def _plain_url_name(url: str) -> str | None:
    """The file name at the end of an ``http(s)://host/.../file`` URL, when ``urlparse``
    ends the URL's path where ``rpartition("/")`` does and nothing needs unquoting:
    printable ASCII, no space, query, fragment or brackets, no ``;``, ``%`` or ``\\`` in
    the name. Each test is a C scan (a regex over the URL cost three times more)."""
    if not url.startswith(_PLAIN_SCHEMES) or not _plain_characters(url) or url.find("/", url.index("//") + 2) < 0:
        return None
    name = url.rpartition("/")[2]
    return name if _plain_name_characters(name) else None
