"""The common shape every lockfile reader produces.

Two families of lockfiles exist and both fit here:

* **graph** locks (uv.lock, poetry.lock, pdm.lock) record each package's dependencies;
  the install set is found by walking from the project's roots with markers evaluated
  for the target (``Lock.graph = True``).
* **flat** locks (pylock.toml, Pipfile.lock, requirements.txt) list every package that
  may be installed, each with its own environment marker; the install set is every
  entry whose marker holds on the target (``Lock.graph = False``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

__all__ = [
    "Dependency",
    "FileKind",
    "Lock",
    "LockedFile",
    "LockedPackage",
    "Source",
    "SourceKind",
]

SourceKind = Literal["registry", "git", "url", "path", "directory", "editable", "virtual"]
"""Where a locked package comes from.

``registry``: a package index. ``git``: a VCS checkout at a commit. ``url``: a direct
archive URL. ``path``: a local archive (wheel or sdist file). ``directory``: a local
source tree (built into a wheel). ``editable``: a local tree installed in editable mode
by the lock tool; layerplan installs it non-editable. ``virtual``: a project with no
package of its own (a workspace root) - nothing to install.
"""

FileKind = Literal["wheel", "sdist"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    """Where a package comes from; ``url``/``path``/``reference`` apply per ``kind``."""

    kind: SourceKind
    url: str | None = None
    """Index URL (registry), repository URL (git), archive URL (url)."""
    path: str | None = None
    """Relative (to the lockfile's directory) or absolute path (path/directory/editable/virtual)."""
    reference: str | None = None
    """Git: the full commit the lock pins. Other kinds: unused."""
    subdirectory: str | None = None

    @property
    def is_local(self) -> bool:
        """True for anything not installed from a package index (goes in the local layer)."""
        return self.kind != "registry"


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedFile:
    """One distribution file (a wheel or an sdist) the lock allows."""

    kind: FileKind
    filename: str | None = None
    """``numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl``; may be
    unknown when the lock only has a URL (then derived from it) or only hashes."""
    url: str | None = None
    hashes: tuple[str, ...] = ()
    """``algorithm:hexdigest`` strings, e.g. ``sha256:ab12...``; sorted."""
    size: int | None = None
    """Size in bytes of the file itself (compressed), when the lock records it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Dependency:
    """An edge of the lock graph: ``name[extras]; marker``.

    ``version`` (or ``specifier``) disambiguates when the lock holds several versions of
    one name (uv's forked resolutions, Poetry 1 multiple constraints); ``None`` means
    "the only one".
    """

    name: NormalizedName
    extras: tuple[str, ...] = ()
    marker: Marker | None = None
    version: str | None = None
    specifier: SpecifierSet | None = None
    """The allowed versions, when the edge says (picks among several locked versions)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedPackage:
    """One package pinned by the lock."""

    name: NormalizedName
    version: str | None
    """Pinned version; ``None`` for local trees whose lock does not record one."""
    source: Source
    wheels: tuple[LockedFile, ...] = ()
    sdist: LockedFile | None = None
    hashes: tuple[str, ...] = ()
    """Allowed hashes when the lock names no files (Pipfile.lock, requirements.txt,
    poetry.lock without URLs). The file is looked up on the index at build time."""
    marker: Marker | None = None
    """Flat locks: the package is installed where this holds (``None``: everywhere)."""
    dependencies: tuple[Dependency, ...] = ()
    """Graph locks: what this package needs, markers not yet evaluated."""
    optional_dependencies: Mapping[str, tuple[Dependency, ...]] = field(default_factory=dict)
    """Graph locks: extra name -> what the extra adds."""
    dependency_groups: Mapping[str, tuple[Dependency, ...]] = field(default_factory=dict)
    """Graph locks: development groups (uv ``dev-dependencies``, PEP 735), only walked when asked."""
    groups: tuple[str, ...] = ()
    """Flat locks that tag packages with groups (poetry ``groups``, pdm ``groups``,
    Pipfile ``default``/``develop``): the groups that need this package."""
    index: str | None = None
    """The index URL this package must come from, when the lock names one."""
    line: int | None = None
    """Where the entry starts in the lockfile, to point errors at it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock:
    """A lockfile, read. ``packages`` is in lockfile order."""

    path: Path
    format: str
    """Reader name: ``uv``, ``pylock``, ``poetry``, ``pdm``, ``pipfile``, ``requirements``."""
    packages: tuple[LockedPackage, ...]
    graph: bool
    """True: walk ``dependencies`` from the roots. False: select each package by ``marker``."""
    roots: tuple[Dependency, ...] | None = None
    """Graph locks that record the project's own requirements (e.g. uv's root package):
    where the walk starts. ``None``: start from the project's ``pyproject.toml``."""
    root_package: NormalizedName | None = None
    """The lock's own entry for the project, excluded from dependency layers."""
    requires_python: str | None = None
    indexes: tuple[str, ...] = ()
    """Index URLs the lock names, in priority order (first = primary)."""
    workspace_members: tuple[NormalizedName, ...] = ()
    """Names of workspace members recorded in the lock (uv ``[manifest] members``)."""
    default_groups: tuple[str, ...] = ()
    """Flat locks with groups: which groups a plain install takes (e.g. ``main``, ``default``)."""
    extras_are_groups: bool = False
    """The lock records the project's extras as groups of the same name (pdm): asking
    for an extra activates that group."""
