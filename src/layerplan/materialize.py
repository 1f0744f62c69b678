"""The materialized plan: for every planned layer, exactly what fills it.

Both back ends (the direct build and the Dockerfile emitter) consume this, so they
cannot disagree about where a wheel comes from (the index is chosen here, once, from
the lock), which packages are local and where their sources are, or what the app is
built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from layerplan.fetch.model import PYPI_SIMPLE, Rank, WantedFile, tag_rank
from layerplan.plan.model import LayerPlan, PlannedLayer
from layerplan.selection.model import InstallItem

__all__ = ["LocalSource", "MaterializedLayer", "MaterializedPlan", "RemoteWheel", "local_source", "materialize"]

LocalKind = Literal["path", "git", "url"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoteWheel:
    """A registry package and the one file that installs it (``wanted`` is ``None`` when
    no wheel fits the target: a Dockerfile then lets pip build it from its sdist)."""

    item: InstallItem
    wanted: WantedFile | None
    indexes: tuple[str, ...]
    """Where pip (in a Dockerfile) or the fetcher looks it up, first is primary."""
    sdist: WantedFile | None = None
    """The locked sdist a direct build makes the wheel from (``item.choice == "sdist"``),
    by its URL or looked up on ``indexes`` by its file name; hash-checked like a wheel."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalSource:
    """A local package (path, directory, workspace member, git, direct URL): where its files are."""

    item: InstallItem
    kind: LocalKind
    path: Path | None = None
    """``path``: the tree or file on disk (``subdirectory`` applied), absolute."""
    wanted: WantedFile | None = None
    """``url``: the file to download (a wheel or an sdist)."""

    @property
    def hashes(self) -> tuple[str, ...]:
        """What the lock allows for the file (empty for trees)."""
        item = self.item
        return item.wheel.hashes if item.wheel is not None and item.wheel.hashes else item.hashes


@dataclass(frozen=True, kw_only=True, slots=True)
class MaterializedLayer:
    """One planned layer and what fills it."""

    planned: PlannedLayer
    remote: tuple[RemoteWheel, ...] = ()
    local: tuple[LocalSource, ...] = ()

    @property
    def key(self) -> str:
        return self.planned.key

    @property
    def indexes(self) -> tuple[str, ...]:
        """Every index this layer's registry packages come from, primary first."""
        return tuple(dict.fromkeys(url for wheel in self.remote for url in wheel.indexes))


@dataclass(frozen=True, kw_only=True, slots=True)
class MaterializedPlan:
    """The plan with every layer's inputs spelled out."""

    plan: LayerPlan
    layers: tuple[MaterializedLayer, ...]
    indexes: tuple[str, ...]
    """The lock's indexes in its order (PyPI when it names none)."""
    app_root: Path
    """The directory the app's wheel is built from."""
    lock_dir: Path

    def layer(self, name: str) -> MaterializedLayer:
        for layer in self.layers:
            if layer.planned.name == name:
                return layer
        raise KeyError(name)


def materialize(plan: LayerPlan, *, lock_dir: Path, app_root: Path) -> MaterializedPlan:
    """Spell out every layer of ``plan``; ``lock_dir`` is where the lock's relative paths point."""
    indexes = plan.install_set.indexes or (PYPI_SIMPLE,)
    rank = tag_rank(plan.target.wheel_tags())
    layers = []
    for planned in plan.layers:
        remote = []
        local = []
        for item in planned.packages:
            if _is_local(item):
                local.append(local_source(item, lock_dir.absolute()))
            else:
                own = (item.index,) if item.index else indexes
                remote.append(
                    RemoteWheel(item=item, wanted=_wanted(item, own, rank), indexes=own, sdist=_sdist(item, own))
                )
        layers.append(MaterializedLayer(planned=planned, remote=tuple(remote), local=tuple(local)))
    return MaterializedPlan(
        plan=plan, layers=tuple(layers), indexes=tuple(indexes), app_root=app_root, lock_dir=lock_dir.absolute()
    )


def _is_local(item: InstallItem) -> bool:
    """Local trees and files come from disk, git or a direct URL, never from an index."""
    return item.choice == "build" or item.is_local


def _wanted(item: InstallItem, indexes: tuple[str, ...], rank: Rank) -> WantedFile | None:
    """The wheel of a registry item: by the lock's URL, else looked up on its indexes."""
    wheel = item.wheel
    if item.choice in ("none", "sdist"):
        return None
    if wheel is not None and wheel.url:
        return WantedFile.from_url(item.name, wheel.url, wheel.hashes, size=wheel.size, filename=wheel.filename)
    hashes = wheel.hashes if wheel is not None else item.hashes
    filename = wheel.filename if wheel is not None else None
    return WantedFile.from_index(item.name, item.version, hashes, filename=filename, indexes=indexes, rank=rank)


def _sdist(item: InstallItem, indexes: tuple[str, ...]) -> WantedFile | None:
    """The sdist of a package built from source: by the lock's URL, else by its file name
    on the package's indexes (poetry and pdm locks name files without URLs)."""
    sdist = item.sdist
    if item.choice != "sdist" or sdist is None:
        return None
    if sdist.url:
        return WantedFile.from_url(item.name, sdist.url, sdist.hashes, size=sdist.size, filename=sdist.filename)
    return WantedFile.from_index(item.name, item.version, sdist.hashes, filename=sdist.filename, indexes=indexes)


def local_source(item: InstallItem, lock_dir: Path) -> LocalSource:
    """Where local package ``item`` comes from; relative paths are relative to ``lock_dir``."""
    source = item.source
    if source.kind == "git":
        return LocalSource(item=item, kind="git")
    if source.kind == "url":
        url = item.wheel.url if item.wheel is not None and item.wheel.url else source.url
        filename = item.wheel.filename if item.wheel is not None else None
        hashes = item.wheel.hashes if item.wheel is not None else item.hashes
        wanted = WantedFile.from_url(item.name, url, hashes, filename=filename) if url else None
        return LocalSource(item=item, kind="url", wanted=wanted)
    path = (lock_dir / source.path).resolve() if source.path else None
    if path is not None and source.subdirectory:
        path = path / source.subdirectory
    return LocalSource(item=item, kind="path", path=path)
