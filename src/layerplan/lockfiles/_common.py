"""Pieces shared by the poetry, pdm, Pipfile and requirements readers.

Each reader makes one ``_Entries`` per file: it remembers the path and text so every
error can name the file, a line and a hint, and it caches parsed markers (a lock
repeats the same few markers hundreds of times). Lines are looked up on the error path
only: the text is split into lines the first time an error needs one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from layerplan._toml import array_header_lines
from layerplan._toml import TextLines
from layerplan.errors import LockfileError
from layerplan.lockfiles._fast import locked_file
from layerplan.lockfiles.model import Dependency, FileKind, LockedFile

__all__ = [
    "Entries",
    "file_kind",
    "filename_of_url",
    "first_line",
    "package_array",
    "package_header_lines",
    "pick_version",
]

_HASH = re.compile(r"^([A-Za-z0-9_]+)[:=]([0-9A-Fa-f]+)$")
_CANONICAL_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_SPEC = r"(?:~=|==|!=|<=|>=|<|>)[A-Za-z0-9._+!*-]+"
_SIMPLE_REQUIREMENT = re.compile(rf"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)({_SPEC}(?:,{_SPEC})*)?")
"""``name`` or ``name>=1,<2``: no spaces, extras, URL or marker (``Requirement`` reads the rest)."""
# pip accepts these three for --hash; lock tools write sha256. Others are refused so a
# typo (or an md5 from an old index) does not pass for a strong pin.
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


def package_header_lines(text: str) -> list[int]:
    """1-based line of each ``[[package]]`` header, in file order (one per package)."""
    return array_header_lines(text, "package")


def package_array(
    entries: Entries, data: Mapping[str, Any], text: str
) -> tuple[list[Mapping[str, Any]], list[int | None], list[NormalizedName]]:
    """The ``[[package]]`` tables of a TOML lock, with each one's header line and name.

    Raise ``LockfileError`` when ``package`` is not an array of tables or a name is bad.
    """
    raw_packages = data.get("package", [])
    if not isinstance(raw_packages, list) or not all(isinstance(p, Mapping) for p in raw_packages):
        raise entries.error("`package` must be an array of tables", line=None, key="package")
    headers = package_header_lines(text)
    lines: list[int | None] = [headers[i] if i < len(headers) else None for i in range(len(raw_packages))]
    names = [
        entries.name(entries.string(p, "name", line=n, where="package") or "", line=n)
        for p, n in zip(raw_packages, lines)
    ]
    return raw_packages, lines, names


def file_kind(filename: str) -> FileKind | None:
    """``wheel`` or ``sdist`` by file name; ``None`` for anything else (eggs, installers)."""
    lowered = filename.lower()
    if lowered.endswith(".whl"):
        return "wheel"
    if lowered.endswith(_SDIST_SUFFIXES):
        return "sdist"
    return None


def filename_of_url(url: str) -> str:
    """The last path segment of ``url``, without query or fragment."""
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def pick_version(candidates: Sequence[str], *specifiers: SpecifierSet) -> str | None:
    """The one candidate version the specifiers allow (any of them), when the lock holds several.

    Returns ``None`` when there is at most one candidate (the name alone is enough)
    or when the specifiers do not single one out.
    """
    if len(candidates) < 2:
        return None
    matching = []
    for candidate in candidates:
        try:
            version = Version(candidate)
            if any(specifier.contains(version, prereleases=True) for specifier in specifiers):
                matching.append(candidate)
        except InvalidVersion:
            continue
    return matching[0] if len(matching) == 1 else None


class Entries:
    """Validation helpers bound to one lockfile (its path and text)."""

    def __init__(self, path: Path, text: str, hint: str) -> None:
        self.path = path
        self.text = text
        self._lines: TextLines | None = None
        self.hint = hint
        """The default fix, e.g. ``regenerate it with `poetry lock` ``."""
        self._markers: dict[str, Marker] = {}
        self._names: dict[str, NormalizedName] = {}
        self._requirements: dict[str, Requirement] = {}
        self._edges: dict[str, Dependency] = {}
        self._specifier_sets: dict[str, SpecifierSet] = {}

    def error(
        self, message: str, *, line: int | None, key: str | None = None, hint: str | None = None
    ) -> LockfileError:
        return LockfileError(message, path=self.path, line=line, key=key, hint=hint or self.hint)

    def line_of(self, needle: str, start: int | None) -> int | None:
        """The first line at or after ``start`` mentioning ``needle`` (else ``start``)."""
        if self._lines is None:
            self._lines = TextLines(self.text)
        found = self._lines.find(needle, start or 1)
        return found if found is not None else start

    def relocated(self, error: LockfileError, needle: str, start: int | None) -> LockfileError:
        """``error`` pointed at the first line at or after ``start`` mentioning ``needle``:
        entries know their header's line; the line of a value inside is found on failure."""
        error.line = self.line_of(needle, start)
        return error

    def table(self, data: Mapping[str, Any], key: str, *, line: int | None, where: str) -> Mapping[str, Any]:
        """``data[key]`` as a table; a missing key reads as an empty table."""
        value = data.get(key, {})
        if type(value) is not dict and not isinstance(value, Mapping):
            raise self.error(f"`{key}` must be a table", line=line, key=f"{where}.{key}" if where else key)
        return value

    def string(
        self, data: Mapping[str, Any], key: str, *, line: int | None, where: str, required: bool = True
    ) -> str | None:
        """``data[key]`` as a non-empty string (``None`` when optional and missing)."""
        value = data.get(key)
        if type(value) is str and value:  # the usual case first: called several times per entry
            return value
        if value is None and not required:
            return None
        full_key = f"{where}.{key}" if where else key
        if value is None:
            raise self.error(f"missing `{key}`", line=line, key=full_key)
        if not isinstance(value, str) or not value:
            raise self.error(f"`{key}` must be a non-empty string, not {value!r}", line=line, key=full_key)
        return value

    def strings(self, data: Mapping[str, Any], key: str, *, line: int | None, where: str) -> tuple[str, ...]:
        """``data[key]`` as a list of strings (empty when missing)."""
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(f"`{key}` must be a list of strings", line=line, key=f"{where}.{key}" if where else key)
        return tuple(value)

    def name(self, value: str, *, line: int | None, key: str | None = None) -> NormalizedName:
        name = self._names.get(value)
        if name is not None:
            return name
        try:
            name = self._names[value] = canonicalize_name(value, validate=True)
        except InvalidName:
            raise self.error(f"invalid package name {value!r}", line=line, key=key) from None
        return name

    def marker(self, value: Any, *, line: int | None, key: str | None = None) -> Marker | None:
        """Parse a marker once per distinct text; empty and ``*`` mean "always"."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(f"a marker must be a string, not {value!r}", line=line, key=key)
        text = value.strip()
        if text in ("", "*"):
            return None
        cached = self._markers.get(text)
        if cached is None:
            try:
                cached = Marker(text)
            except InvalidMarker as exc:
                raise self.error(
                    f"invalid marker {text!r}: {first_line(exc)}",
                    line=self.line_of(text, line) if line else line,
                    key=key,
                    hint="fix the marker (PEP 508), then " + self.hint,
                ) from exc
            self._markers[text] = cached
        return cached

    def hash(self, value: Any, *, line: int | None, key: str | None = None) -> str:
        """``algorithm:hexdigest``, lower case, for ``sha256:...`` or ``sha256=...``."""
        if type(value) is str and _CANONICAL_SHA256.fullmatch(value):  # what lock tools write
            return value
        match = _HASH.match(value) if isinstance(value, str) else None
        if match is None:
            raise self.error(f"invalid hash {value!r}, expected `sha256:<hex digest>`", line=line, key=key)
        algorithm, digest = match.group(1).lower(), match.group(2).lower()
        length = _DIGEST_HEX_LENGTHS.get(algorithm)
        if length is None:
            raise self.error(
                f"unsupported hash algorithm {algorithm!r} (use sha256, sha384 or sha512)", line=line, key=key
            )
        if len(digest) != length:
            raise self.error(f"{algorithm} digest of wrong length: {value!r}", line=line, key=key)
        return f"{algorithm}:{digest}"

    def hashes(self, values: Iterable[Any], *, line: int | None, key: str | None = None) -> tuple[str, ...]:
        return tuple(sorted({self.hash(value, line=line, key=key) for value in values}))

    def requirement(self, value: Any, *, line: int | None, key: str | None = None) -> Requirement:
        if not isinstance(value, str):
            raise self.error(f"a requirement must be a string, not {value!r}", line=line, key=key)
        cached = self._requirements.get(value)  # lock entries repeat requirements (not mutated)
        if cached is not None:
            return cached
        try:
            cached = self._requirements[value] = Requirement(value)
            return cached
        except InvalidRequirement as exc:
            raise self.error(
                f"invalid requirement {value!r}: {first_line(exc)}",
                line=self.line_of(value, line) if line else line,
                key=key,
            ) from exc

    def dependency(
        self,
        requirement: Requirement,
        candidates: Mapping[NormalizedName, Sequence[str]],
    ) -> Dependency:
        """An edge from a PEP 508 requirement; ``version`` only when several are locked."""
        name = canonicalize_name(requirement.name)
        version = None
        if requirement.url is None:
            version = pick_version(candidates.get(name, ()), requirement.specifier)
        return Dependency(
            name=name,
            extras=tuple(sorted(canonicalize_name(extra) for extra in requirement.extras)),
            marker=requirement.marker,
            version=version,
        )

    def requirement_edge(
        self, value: Any, candidates: Mapping[NormalizedName, Sequence[str]], *, line: int | None, key: str
    ) -> Dependency:
        """``dependency(requirement(value))``, once per distinct text.

        ``name`` and ``name>=1,<2`` (no spaces, extras, URL or marker), most of what lock
        tools write, skip ``Requirement``'s general parser: the name is checked by
        ``canonicalize_name`` and the specifiers by ``SpecifierSet``, which is all
        ``Requirement`` applies to such a text.
        """
        edge = self._edges.get(value) if type(value) is str else None
        if edge is not None:
            return edge
        simple = _SIMPLE_REQUIREMENT.fullmatch(value) if type(value) is str else None
        if simple is None:
            edge = self.dependency(self.requirement(value, line=line, key=key), candidates)
        else:
            name, specifiers = self.name(simple.group(1), line=line, key=key), simple.group(2) or ""
            locked = candidates.get(name, ())
            try:
                parsed = self._specifier_sets.get(specifiers) or SpecifierSet(specifiers)
            except InvalidSpecifier:  # packaging's own words for it
                edge = self.dependency(self.requirement(value, line=line, key=key), candidates)
            else:
                self._specifier_sets[specifiers] = parsed
                edge = Dependency(name=name, version=pick_version(locked, parsed) if len(locked) > 1 else None)
        self._edges[value] = edge
        return edge

    def specifier(self, value: str, *, line: int | None, key: str | None = None) -> SpecifierSet:
        try:
            return SpecifierSet(value)
        except InvalidSpecifier:
            raise self.error(f"invalid version specifier {value!r}", line=line, key=key) from None

    def files(self, entries: Any, *, line: int | None, where: str) -> tuple[tuple[LockedFile, ...], LockedFile | None]:
        """``files = [{file|url = ..., hash = ...}]`` (poetry, pdm) as wheels and an sdist.

        Files that are neither (``.egg``, ``.exe``) are left out: no installer uses
        them. When a release has several sdists the first ``.tar.gz`` wins.
        """
        if not isinstance(entries, list):
            raise self.error("`files` must be a list of tables", line=line, key=f"{where}.files")
        wheels: list[LockedFile] = []
        sdists: list[LockedFile] = []
        where = f"{where}.files"
        for entry in entries:
            if type(entry) is not dict and not isinstance(entry, Mapping):
                raise self.error("`files` must be a list of tables", line=line, key=where)
            # Plain type checks first (this runs per file, 100,000 times in a big lock);
            # ``string`` and ``hash`` decide, and word the error, for anything unusual.
            url, filename, digest = entry.get("url"), entry.get("file"), entry.get("hash")
            if url is not None and (type(url) is not str or not url):
                url = self.string(entry, "url", line=line, where=where, required=False)
            if filename is None or type(filename) is not str or not filename:
                filename = self.string(entry, "file", line=line, where=where, required=url is None)
                if filename is None:
                    filename = filename_of_url(url or "")
            if digest is None:
                hashes: tuple[str, ...] = ()
            elif type(digest) is str and _CANONICAL_SHA256.fullmatch(digest):
                hashes = (digest,)
            else:
                try:
                    hashes = (self.hash(digest, line=line, key=where),)
                except LockfileError as exc:
                    raise self.relocated(exc, filename, line) from None
            kind: FileKind | None = "wheel" if filename.endswith(".whl") else file_kind(filename)
            if kind is None:
                continue
            locked = locked_file(kind, filename, url, hashes, None)
            (wheels if kind == "wheel" else sdists).append(locked)
        sdists.sort(key=lambda f: not (f.filename or "").endswith(".tar.gz"))
        return tuple(wheels), (sdists[0] if sdists else None)


def first_line(exc: Exception) -> str:
    """The message of a ``packaging`` error without the caret diagram under it."""
    return str(exc).partition("\n")[0]
