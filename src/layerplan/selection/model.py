"""The install set: which locked packages a target installs, and from which file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from packaging.utils import NormalizedName

from layerplan.errors import NoWheelError
from layerplan.lockfiles.model import LockedFile, Source
from layerplan.target.model import Target

__all__ = ["FileChoice", "InstallItem", "InstallSet"]

FileChoice = Literal["wheel", "lookup", "build", "sdist", "none"]
"""How the item's file is known.

``wheel``: the lock names the exact wheel (with URL, or a filename looked up on the index).
``lookup``: the lock has only allowed hashes; the wheel is found on the index at build time.
``build``: a local tree (path, directory, git, workspace member) built into a wheel.
``sdist``: a registry package no wheel fits, whose sdist the lock pins with a hash:
built from source (a direct build makes its wheel with the sdist's own PEP 517
backend; a Dockerfile lets pip build it in the image). ``note`` says why no wheel fits.
``none``: no wheel fits the target and no hashed sdist is locked (``note`` says what
exists); fine for a Dockerfile build, an error for a direct build.
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallItem:
    """One package the target installs."""

    name: NormalizedName
    version: str | None
    source: Source
    choice: FileChoice
    wheel: LockedFile | None = None
    """The chosen wheel (``choice == "wheel"``)."""
    sdist: LockedFile | None = None
    """The locked sdist the wheel is built from (``choice == "sdist"``)."""
    hashes: tuple[str, ...] = ()
    """Allowed hashes when ``choice == "lookup"`` (or the sdist's, when ``sdist`` or ``none``)."""
    index: str | None = None
    required_by: tuple[str, ...] = ()
    """Who pulls it in (package names, or ``<project>``): the "why" of the plan."""
    note: str | None = None
    """Why no wheel fits, e.g. ``sdist only`` or ``wheels only for: win_amd64, macosx``."""
    workspace_member: bool = False
    size_hint: int | None = None
    """The wheel's size from the index, when the lock does not record it."""

    @property
    def is_local(self) -> bool:
        """True when not installed from a package index (local packages layer)."""
        return self.source.is_local

    @property
    def size(self) -> int | None:
        """Size of the wheel in bytes: from the lock, else from the index (``size_hint``);
        for a package built from source, its sdist's (a pure-Python wheel is about as big)."""
        if self.wheel is not None and self.wheel.size is not None:
            return self.wheel.size
        if self.sdist is not None and self.sdist.size is not None:
            return self.sdist.size
        return self.size_hint


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallSet:
    """Every package one target installs, sorted by name, the project itself excluded."""

    target: Target
    project: NormalizedName
    lock_format: str
    items: tuple[InstallItem, ...]
    indexes: tuple[str, ...] = ()
    """Index URLs the lock names, in priority order (for build-time lookups)."""
    project_is_virtual: bool = False
    """The lock records the project as virtual (uv: no build system): no app layer."""

    @property
    def without_wheel(self) -> tuple[InstallItem, ...]:
        """Items no wheel fits (see ``FileChoice``)."""
        return tuple(item for item in self.items if item.choice == "none")

    def require_wheels(self) -> None:
        """Raise ``NoWheelError`` naming every package that has no wheel for the target."""
        missing = self.without_wheel
        if missing:
            listing = "; ".join(f"{item.name} {item.version or ''} ({item.note})".replace("  ", " ") for item in missing)
            raise NoWheelError(
                f"no wheel for {self.target.describe()}: {listing}",
                hint="pick another target (--python/--platform/--libc), pin a version that ships wheels, "
                "or use `layerplan dockerfile`, which can build from source",
            )
