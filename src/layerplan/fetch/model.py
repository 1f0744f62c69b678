"""What the fetch stage is asked for (``WantedFile``) and what it hands back (``FetchedFile``).

A wanted file comes in one of two shapes, depending on what the lock records:

* **by URL** - uv.lock and pylock.toml give each file's URL, hashes and size: download it.
* **by index lookup** - poetry.lock and pdm.lock give file names and hashes, Pipfile.lock
  and hashed requirements files give only hashes: look the package up on the index
  (JSON simple API), keep the files whose name or hash the lock allows, and pick the
  best one for the target with the caller's ``rank`` function.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.tags import Tag, sys_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)

from layerplan.lockfiles.model import LockedFile, LockedPackage

__all__ = [
    "PYPI_SIMPLE",
    "FetchedFile",
    "Rank",
    "WantedFile",
    "filename_from_url",
    "parse_hashes",
    "tag_rank",
]

PYPI_SIMPLE = "https://pypi.org/simple/"
"""The default index, used when neither the wanted file nor the lock names one."""

Rank = Callable[[str], "int | None"]
"""Target-compatibility predicate and priority in one: ``rank(filename)`` is ``None`` when
the file cannot be used on the target, otherwise a number where lower is better."""


def tag_rank(tags: Iterable[Tag] | None = None) -> Rank:
    """A ``Rank`` that prefers wheels whose best tag comes first in ``tags``.

    ``tags`` is the target's supported tags, most preferred first (as
    ``packaging.tags.sys_tags()`` orders them); the running interpreter's tags are only
    the default. Source distributions and wheels with no supported tag rank ``None``.
    """
    order = {tag: index for index, tag in enumerate(sys_tags() if tags is None else tags)}

    def rank(filename: str) -> int | None:
        try:
            _, _, _, file_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        found = [order[tag] for tag in file_tags if tag in order]
        return min(found) if found else None

    return rank


def parse_hashes(hashes: Iterable[str]) -> dict[str, frozenset[str]]:
    """``("sha256:AB..", ...)`` -> ``{"sha256": {"ab.."}}``; raise ``ValueError`` on a bad entry."""
    parsed: dict[str, set[str]] = {}
    for entry in hashes:
        algorithm, sep, value = entry.partition(":")
        if not sep or not algorithm or not value:
            raise ValueError(f"not an `algorithm:hexdigest` hash: {entry!r}")
        parsed.setdefault(algorithm.lower(), set()).add(value.lower())
    return {algorithm: frozenset(values) for algorithm, values in parsed.items()}


def filename_from_url(url: str) -> str:
    """The last path segment of ``url``, percent-decoded (``.../six-1.16.0-py2.py3-none-any.whl``)."""
    return unquote(posixpath.basename(urlsplit(url).path))


@dataclass(frozen=True, kw_only=True, slots=True)
class WantedFile:
    """One distribution file to fetch; see the module docstring for the two shapes."""

    name: NormalizedName
    """The package's normalised name (for messages and for the index lookup)."""
    version: str | None = None
    """The pinned version; an index lookup keeps only files of this version."""
    url: str | None = None
    """Download this URL directly (no index lookup)."""
    filename: str | None = None
    """The exact file to pick on the index (poetry, pdm); derived from ``url`` when absent."""
    hashes: tuple[str, ...] = ()
    """Allowed ``algorithm:hex`` hashes. By URL: the file's own. By lookup: every file the
    lock allows for the package (one of them is picked)."""
    size: int | None = None
    """Expected size in bytes, when the lock records it."""
    index: str | None = None
    """The index this package must come from (the lock pins it); no other index is tried."""
    indexes: tuple[str, ...] = ()
    """Where to look it up otherwise, in order (the lock's indexes, chosen once by the
    materialized plan); empty: the fetcher's own default."""
    rank: Rank | None = field(default=None, compare=False, hash=False)
    """Chooses among several allowed files on a lookup; default: ``tag_rank()`` of the
    running interpreter."""

    def __post_init__(self) -> None:
        if self.url is None and self.version is None and not self.hashes and self.filename is None:
            raise ValueError(f"{self.name}: a wanted file needs a URL, or a version, file name or hashes to look up")
        parse_hashes(self.hashes)  # fail early on a malformed hash

    @property
    def label(self) -> str:
        """``name==version`` (or just the name), for messages."""
        return f"{self.name}=={self.version}" if self.version else str(self.name)

    @classmethod
    def from_url(
        cls, name: str, url: str, hashes: Sequence[str], *, size: int | None = None, filename: str | None = None
    ) -> WantedFile:
        """Shape (a): a file the lock gives by URL."""
        return cls(name=canonicalize_name(name), url=url, hashes=tuple(hashes), size=size, filename=filename)

    @classmethod
    def from_index(
        cls,
        name: str,
        version: str | None,
        hashes: Sequence[str],
        *,
        filename: str | None = None,
        index: str | None = None,
        indexes: Sequence[str] = (),
        rank: Rank | None = None,
    ) -> WantedFile:
        """Shape (b): look the package up on the index and choose by file name or hash."""
        return cls(
            name=canonicalize_name(name),
            version=version,
            hashes=tuple(hashes),
            filename=filename,
            index=index,
            indexes=tuple(indexes),
            rank=rank,
        )

    @classmethod
    def from_locked(
        cls, package: LockedPackage, file: LockedFile | None = None, *, rank: Rank | None = None
    ) -> WantedFile:
        """The wanted file for a locked registry package.

        ``file`` is the wheel the resolve stage chose (``None`` when the lock names no
        files, only ``package.hashes``). A file with a URL is fetched directly; one with
        only a name is looked up on ``package.index``.
        """
        if file is not None and file.url:
            return cls(
                name=package.name,
                version=package.version,
                url=file.url,
                filename=file.filename,
                hashes=file.hashes,
                size=file.size,
            )
        if file is not None:
            return cls(
                name=package.name,
                version=package.version,
                filename=file.filename,
                hashes=file.hashes,
                size=file.size,
                index=package.index,
                rank=rank,
            )
        return cls(name=package.name, version=package.version, hashes=package.hashes, index=package.index, rank=rank)


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchedFile:
    """A verified file in the local cache."""

    wanted: WantedFile
    path: Path
    """``<cache>/wheels/sha256/<hex>/<filename>``; never modified after it is written."""
    filename: str
    url: str | None
    """Where it was (or would have been) downloaded from; ``None`` for a cache hit that
    needed no lookup."""
    sha256: str
    """Hex digest of the file."""
    size: int
    from_cache: bool
    """True when nothing was downloaded for it."""
