"""Install a wheel into a staging tree that mirrors the image's filesystem.

``installer`` does the work (schemes, ``.data`` directories, console scripts, RECORD);
this module points its scheme at ``<staging>/<target path>``, gives scripts the short
shebang ``#!<venv>/bin/python`` and refuses wheels that would write outside their
directories - checked on the archive before anything is written (``wheel_checks``:
also duplicate entries and zip bombs), and again for every file: a symlink already in
the staging tree must not lead a write out of it, and no file may land on the
environment's skeleton (``bin/python``, ``pyvenv.cfg``), which sits in a lower layer and
would be shadowed, not overwritten, by a wheel's layer.
"""

from __future__ import annotations

import os
import posixpath
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import installer
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import RecordEntry
from installer.sources import WheelContentElement, WheelFile
from installer.utils import Scheme
from packaging.utils import NormalizedName, canonicalize_name

from layerplan.errors import disk_full
from layerplan.install.errors import InstallError, UnsafeWheelError
from layerplan.install.layout import TargetVenv, staged
from layerplan.install.wheel_checks import DEFAULT_LIMITS, UnpackLimits, check_wheel_archive, unsafe

__all__ = ["INSTALLER_NAME", "InstalledWheel", "check_wheel_archive", "install_wheel"]

INSTALLER_NAME = "layerplan"
"""Written to each installed distribution's ``INSTALLER`` file."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledWheel:
    """What ``install_wheel`` wrote."""

    name: NormalizedName
    version: str
    wheel: Path
    dist_info: PurePosixPath
    """Image path of the ``.dist-info`` directory."""
    files: tuple[PurePosixPath, ...]
    """Image paths of every file written (RECORD included), sorted."""
    size: int
    """Bytes written."""


class _WheelSource(WheelFile):
    """A ``WheelFile`` that leaves out ``__pycache__`` entries (stale bytecode some wheels
    ship; installer skips them too, but with a warning per file)."""

    skipped: list[str]

    def get_contents(self) -> Iterator[WheelContentElement]:
        self.skipped = []
        for element in super().get_contents():
            if "__pycache__" in element[0][0].split("/")[:-1]:
                self.skipped.append(element[0][0])
                continue
            yield element


@dataclass
class _StagingDestination(SchemeDictionaryDestination):
    """``installer``'s destination, refusing to write through symlinks that leave ``root``."""

    root: str = ""
    wheel: Path = field(default_factory=Path)
    written: list[tuple[PurePosixPath, int]] = field(default_factory=list)
    image_scheme: Mapping[str, PurePosixPath] = field(default_factory=dict)
    skeleton: frozenset[PurePosixPath] = frozenset()

    def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:
        image_path = PurePosixPath(posixpath.normpath(str(self.image_scheme[scheme] / path)))
        if hit := next((p for p in (image_path, *image_path.parents) if p in self.skeleton), None):
            raise unsafe(self.wheel, path, f"would replace {hit}, part of the virtual environment itself")
        target = Path(os.path.abspath(Path(self.scheme_dict[scheme]) / path))
        real_root = os.path.realpath(self.root)
        real_parent = os.path.realpath(target.parent)
        if os.path.commonpath([real_root, real_parent]) != real_root:
            raise unsafe(self.wheel, path, f"would be written through a symlink to {real_parent}")
        if os.path.islink(target):
            raise unsafe(self.wheel, path, f"would overwrite the symlink {target}")
        record = super().write_to_fs(scheme, path, stream, is_executable)
        self.written.append((image_path, record.size or 0))
        return record


def install_wheel(
    wheel: Path,
    staging: Path,
    venv: TargetVenv,
    *,
    requested: bool = False,
    extra_metadata: Mapping[str, bytes] | None = None,
    overwrite: bool = True,
    limits: UnpackLimits = DEFAULT_LIMITS,
) -> InstalledWheel:
    """Install ``wheel`` into ``staging`` as if into ``venv`` in the image.

    Files land at ``<staging>/<venv path>`` (site-packages, ``bin``, the ``.data``
    schemes); console scripts get ``#!<venv>/bin/python``; ``INSTALLER`` says
    ``layerplan``; ``requested`` adds ``REQUESTED``; ``extra_metadata`` adds files such
    as ``direct_url.json`` to the ``.dist-info``. ``overwrite`` lets a later wheel
    replace a file an earlier one wrote (as pip does). No bytecode is compiled here
    (see ``bytecode.compile_tree``). ``limits`` bound what unpacking may write.

    Raise ``UnsafeWheelError`` for an entry that would leave its directory, replace a
    file of the venv's skeleton, appear twice or unpack beyond ``limits``, and
    ``InstallError`` for an invalid wheel or a shebang the kernel cannot run.
    """
    interpreter = str(venv.interpreter)
    if " " in interpreter or len(interpreter) + 3 > 127:
        # installer would fall back to a /bin/sh trampoline, which breaks on shell-less bases.
        raise InstallError(
            f"the venv interpreter path {interpreter!r} cannot be a shebang (spaces or too long)",
            hint="choose a shorter venv path without spaces",
        )
    image_scheme = venv.scheme("placeholder")
    try:
        with zipfile.ZipFile(wheel) as archive:
            check_wheel_archive(wheel, archive, limits)
            source = _WheelSource(archive)
            image_scheme["headers"] = venv.headers(source.distribution)
            destination = _StagingDestination(
                scheme_dict={key: str(staged(staging, value)) for key, value in image_scheme.items()},
                interpreter=interpreter,
                script_kind="posix",
                overwrite_existing=overwrite,
                root=str(staging),
                wheel=wheel,
                image_scheme=image_scheme,
                skeleton=frozenset(venv.skeleton),
            )
            metadata = {"INSTALLER": f"{INSTALLER_NAME}\n".encode()}
            if requested:
                metadata["REQUESTED"] = b""
            metadata.update(extra_metadata or {})
            installer.install(source, destination, metadata)
            dist_info = venv.site_packages / source.dist_info_dir
            name, version = canonicalize_name(source.distribution), source.version
    except UnsafeWheelError:
        raise
    except zipfile.BadZipFile as error:
        raise InstallError(f"{wheel.name}: not a valid wheel (zip) file: {error}", path=wheel) from error
    except FileExistsError as error:
        raise InstallError(
            f"{wheel.name}: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
            path=wheel,
            hint="two wheels install the same file; install them into separate trees or allow overwrite",
        ) from error
    except (InstallerError, ValueError, KeyError) as error:
        # installer signals bad wheels with InstallerError/ValueError (incl. its own
        # "outside of the target directory" check) and a missing RECORD with KeyError.
        raise InstallError(f"{wheel.name}: cannot install: {error}", path=wheel) from error
    except OSError as error:
        if (full := disk_full(error, staging)) is not None:
            raise full from error
        raise
    files = sorted({path: size for path, size in destination.written}.items())
    return InstalledWheel(
        name=name,
        version=version,
        wheel=wheel,
        dist_info=dist_info,
        files=tuple(path for path, _ in files),
        size=sum(size for _, size in files),
    )
