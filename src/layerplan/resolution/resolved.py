"""What a front end asks for (``Request``) and what the resolution step decides from it
(``ResolvedBuild``): the one value every back end and ``plan`` consume."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from layerplan.oci.reference import ImageReference
from layerplan.plan.config import PlanConfig
from layerplan.project import Project
from layerplan.project.git import GitSource
from layerplan.resolution.options import OptionLayer, Settings

if TYPE_CHECKING:  # the image and transport stacks load only when a build opens a base
    from layerplan.lockfiles.model import Lock
    from layerplan.resolution.base import BaseImage
    from layerplan.resolution.cache_images import CacheImages
    from layerplan.resolution.target import TargetDecision
    from layerplan.target import Target
    from layerplan.transports import ImageSink

__all__ = ["AppWheelSource", "CacheImage", "Created", "PlatformBuild", "Request", "ResolvedBuild", "ResolvedProject"]

AppWheelSource = Union[Path, Callable[[Path], Path], None]
"""The project's wheel when the front end makes it: a file, or a function that builds it
into the given directory (the hatch plugin runs hatchling's own wheel builder)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """What a front end asks for; everything it does not say is decided by the resolution."""

    project: Path
    """The project directory (or its ``pyproject.toml``)."""
    options: OptionLayer | None = None
    """The front end's own options (CLI flags, ``setup.py build_image`` options): they win."""
    tool_table: OptionLayer | None = None
    """The build tool's image table as the front end read it (hatch passes its own, which
    may come from hatch.toml); ``None``: read ``[tool.hatch.build.targets.image]`` from pyproject."""
    cache_dir: Path | None = None
    epoch: int | None = None
    """``SOURCE_DATE_EPOCH`` override; default: the environment's, else a fixed time."""
    app_wheel: AppWheelSource = None
    """The project's wheel, when the front end makes it (else its PEP 517 backend does)."""
    app_version: str | None = None
    """The project's version when the front end knows it (hatch knows dynamic versions)."""
    extra_outputs: tuple[str, ...] = ()
    """Outputs the front end always adds (hatch's ``dist/NAME-VERSION-image.tar``)."""
    default_outputs: tuple[str, ...] = ()
    """Outputs used when no option names any (setuptools' default archive)."""
    index_sizes: bool = True
    """Ask the index for wheel sizes a lock lacks (poetry, pdm, Pipfile, requirements)."""
    allow_missing_wheels: bool = True
    """False for a direct build: a package without a wheel for the target is an error."""
    need_base: bool = False
    """A direct build: no base image is an error, raised before any slow work."""
    need_outputs: bool = False
    """A direct build: no output is an error, raised before any slow work."""
    one_of_several: bool = False
    """One of several workspace members built by one command: every output must name the
    member (``{name}``), or the members would overwrite each other."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CacheImage:
    """An image whose layers a build may reuse instead of building them (``cache-from``)."""

    reference: ImageReference
    explicit: bool
    """Named by ``cache-from``: failing to read it is a warning. Otherwise it is a registry
    output's own reference, which a first push does not find: that is silent."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Created:
    """The image's ``created`` time and which rule gave it (docs/build.md, Labels)."""

    epoch: int
    """Seconds since the epoch: the config's ``created`` and its label and annotation. The
    files' times are ``ResolvedBuild.epoch`` (``SOURCE_DATE_EPOCH``): this one changes the
    config only, never a layer."""
    source: str
    """The option that set it (``--created``, ``tool.layerplan.created (...)``),
    ``SOURCE_DATE_EPOCH``, ``git`` (HEAD's commit time) or ``default``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedProject:
    """The first half of a resolved build: what needs neither the lock nor the base."""

    project: Project
    app: Project
    settings: Settings
    cache_dir: Path
    epoch: int
    created: Created
    git: GitSource | None
    app_wheel: AppWheelSource

    @property
    def app_root(self) -> Path:
        return self.app.root


@dataclass(frozen=True, kw_only=True, slots=True)
class PlatformBuild:
    """One platform of a build: its target, decided from its own entry of the base's index."""

    target_decision: TargetDecision
    base: BaseImage | None
    """The base image opened for this platform (its manifest from the base's index)."""

    @property
    def target(self) -> Target:
        return self.target_decision.target


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedBuild:
    """Every fact of one build, decided once; nothing downstream re-reads configuration.

    Valid while the ``resolve_build`` block that made it is open: the base image's
    layers open lazily (a ``docker-daemon:`` base lives in a temporary file).
    """

    project: Project
    """The project as given: its lock, and its workspace when it is a uv workspace root."""
    app: Project
    """The project the image is of: ``project``, or the workspace member ``package`` names."""
    settings: Settings
    """Every option after the merge, with where each came from."""
    lock: Lock
    target: Target
    target_decision: TargetDecision
    """The target with where each of its facts came from (option, base image, default)."""
    base: BaseImage | None
    """The base image, opened for the target's platform, with what it runs."""
    platforms: tuple[PlatformBuild, ...] = ()
    """Every platform asked for, in order (one image each, under one index when several);
    ``target``, ``target_decision`` and ``base`` are the first one's."""
    outputs: tuple[ImageSink, ...]
    tags: tuple[str, ...]
    """Names for archive outputs: the option, else ``NAME:VERSION`` (``NAME:latest``)."""
    cache_from: tuple[CacheImage, ...] = ()
    """Where a direct build looks for layers its local cache lacks: ``cache-from``, else
    each registry output's reference."""
    cache_images: CacheImages | None = None
    """A direct build's ``cache_from`` images, each read once for everything looked up in
    them (the base's platform record, layers, licenses); ``None`` for other commands."""
    cache_dir: Path
    epoch: int
    """``SOURCE_DATE_EPOCH`` (or the fixed default): the time of every file in the layers."""
    created: Created
    git: GitSource | None
    """The commit the project's tree is at (``None`` outside git): labels, provenance."""
    app_wheel: AppWheelSource
    app_version: str | None
    index_sizes: bool
    allow_missing_wheels: bool

    @property
    def config(self) -> PlanConfig:
        return self.settings.config

    @property
    def several_platforms(self) -> bool:
        """True when the build makes an index of several platforms' images."""
        return len(self.platforms) > 1

    def for_platform(self, platform: PlatformBuild) -> ResolvedBuild:
        """This build narrowed to one of its platforms: what the single-platform stages take."""
        return dataclasses.replace(
            self, target=platform.target, target_decision=platform.target_decision, base=platform.base, platforms=(platform,)
        )

    def require_one_platform(self, what: str) -> None:
        """Raise ``ConfigError`` when several platforms were asked for: ``what`` (a
        Dockerfile, an SBOM of the plan) is about one."""
        if self.several_platforms:
            from layerplan.errors import ConfigError

            platforms = ", ".join(p.target.platform for p in self.platforms)
            raise ConfigError(
                f"{what} is for one platform, and {platforms} were asked for",
                key=self.settings.origin("platform") or "platform",
                hint="pass one --platform",
            )

    def each_platform(self) -> tuple[ResolvedBuild, ...]:
        """The build narrowed to each platform in turn (itself when it has one)."""
        return tuple(self.for_platform(p) for p in self.platforms) if self.several_platforms else (self,)

    @property
    def app_root(self) -> Path:
        """Where the app's wheel is built from."""
        return self.app.root

    @property
    def package(self) -> str | None:
        """The workspace member built, when one is."""
        return self.settings.config.package

    @property
    def lock_dir(self) -> Path:
        """Where the lock's relative paths (local packages) point."""
        return self.lock.path.parent
