"""Local packages (path, directory, workspace member, git, direct URL) as files in the context.

Pure packages are built into wheels here, with their own backend and
``SOURCE_DATE_EPOCH``, so the same sources give the same bytes and the Dockerfile's
``COPY`` stays cached. A package with compiled code cannot be built on this host for the
image, so its sdist goes into the context instead and pip builds it in the image.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from layerplan.cache.scratch import scratch_directory
from layerplan.dockerfile.errors import DockerfileError, LocalBuildError
from layerplan.fetch import Fetcher
from layerplan.install.errors import BuildError, ImpureWheelError, backend_hint
from layerplan.install.local_source import check_local_hash, local_source_path
from layerplan.install.pep517 import build_sdist as install_build_sdist
from layerplan.install.pep517 import local_wheel
from layerplan.materialize import LocalSource
from layerplan.selection.model import InstallItem

__all__ = ["LocalFile", "build_sdist", "local_file", "wheel_or_sdist"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalFile:
    """A local package's file, ready for the context."""

    item: InstallItem
    path: Path
    """The wheel (or sdist) in ``out_dir``."""
    builds_in_image: bool = False
    """An sdist: pip builds it in the image (its build requirements come from the index)."""


def local_file(
    local: LocalSource,
    *,
    out_dir: Path,
    fetcher: Callable[[], Fetcher],
    epoch: int | None = None,
) -> LocalFile:
    """Build or take the file that installs ``local`` into ``out_dir``.

    Raise ``LocalBuildError`` when its backend fails, ``DockerfileError`` when the lock does not
    say where the package is or its file does not match the lock's hash.
    """
    with scratch_directory("local") as scratch:
        source = _source_path(local, scratch, fetcher)
        try:
            check_local_hash(local, source)
        except BuildError as error:
            raise DockerfileError(error.message, path=error.path, hint=error.hint) from None
        if source.suffix == ".whl":
            return LocalFile(item=local.item, path=_copy(source, out_dir))
        built, in_image = wheel_or_sdist(source, scratch / "built", name=str(local.item.name), epoch=epoch)
        return LocalFile(item=local.item, path=_copy(built, out_dir), builds_in_image=in_image)


def wheel_or_sdist(source: Path, out_dir: Path, *, name: str, epoch: int | None = None) -> tuple[Path, bool]:
    """The wheel of ``source`` (a tree or an sdist) built here, or, when it has compiled
    code, its sdist for pip to build in the image: ``(file, builds_in_image)``."""
    try:
        return local_wheel(source, out_dir, name=name, source_date_epoch=epoch), False
    except ImpureWheelError:
        if source.is_file():
            return source, True
        return build_sdist(source, out_dir, name=name, epoch=epoch), True
    except BuildError as error:
        raise _one_line(error, source, "wheel") from error


def _one_line(error: BuildError, source: Path, kind: str) -> LocalBuildError:
    """The backend's failure as one line; its output tail stays on ``__cause__``."""
    first = error.message.strip().splitlines()[0] if error.message.strip() else f"{source}: the build failed"
    return LocalBuildError(
        first,
        path=error.path or source,
        hint=backend_hint(kind, source),
    )


def _source_path(local: LocalSource, scratch: Path, fetcher: Callable[[], Fetcher]) -> Path:
    if local.kind == "url":
        if local.wanted is None:
            raise DockerfileError(f"{local.item.name}: the lock gives no URL for this url source", hint="re-lock")
        (fetched,) = fetcher().fetch([local.wanted])
        return fetched.path
    try:
        return local_source_path(local, scratch)
    except BuildError as error:
        raise DockerfileError(error.message, path=error.path, hint=error.hint) from None


def _copy(file: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / file.name
    if target.exists():
        raise DockerfileError(f"two local packages give the same file {file.name}", hint="check the lock's local sources")
    shutil.copyfile(file, target)
    return target


def build_sdist(source: Path, out_dir: Path, *, name: str, epoch: int | None = None) -> Path:
    """Build the sdist of the project in ``source`` with its backend (isolated); raise ``LocalBuildError``."""
    try:
        return install_build_sdist(source, out_dir, name=name, source_date_epoch=epoch)
    except BuildError as error:
        failure = BuildError(f"{name}: it has compiled code, so its sdist goes into the image, but {error.message}")
        raise _one_line(failure, source, "sdist") from error
