"""A local project's wheel, built by its backend once per fingerprint of its inputs.

The wheel is kept in the store (``built-wheels/<fingerprint>/``) after a build; the next
build whose fingerprint (``install.fingerprint``) is the same takes it from there and runs
no backend. The fingerprint is taken before the build and again after it: a file that
changed while the backend ran (an editor saving) leaves nothing in the store, so a kept
wheel was built from exactly the inputs its key names.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from layerplan.cache.built_wheels import BuiltWheels
from layerplan.install.fingerprint import FINGERPRINT_FORMAT, Fingerprint, source_fingerprint
from layerplan.install.hooks import BuildSystem, read_build_system
from layerplan.install.kept_env import ready_build_env
from layerplan.install.pending import Pending
from layerplan.install.pep517 import build_wheel, is_pure, kept_env_dir, start_build_wheel
from layerplan.reproducible import source_date_epoch as default_epoch

__all__ = ["ProjectWheel", "project_wheel", "start_project_wheel"]

KIND = "source-fingerprint"
"""``build.json``'s ``kind`` for these entries (the store also keeps wheels built from sdists)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectWheel:
    """The wheel, and whether the backend ran for it."""

    path: Path
    cached: bool
    """True: taken from the store by its fingerprint, no backend ran."""
    fingerprint: Fingerprint


def project_wheel(
    source: Path,
    out_dir: Path,
    *,
    env_cache: Path,
    store: BuiltWheels,
    name: str | None = None,
    source_date_epoch: int | None = None,
    require_pure: bool = True,
) -> ProjectWheel:
    """The wheel of the project in ``source``, in ``out_dir``: a copy of the stored one when
    its fingerprint is known, else built (``build_wheel``, same errors) and stored.

    A project without a fingerprint (``Fingerprint.why_not``) is built every time.
    """
    source = Path(source).resolve()
    epoch = source_date_epoch if source_date_epoch is not None else default_epoch()
    # Made here (the fingerprint names what it holds), but the backend is not asked what
    # more it needs: the build asks and builds in one process. Should it install more, the
    # fingerprint after the build differs and this wheel is not stored; the next one is.
    system = read_build_system(source)  # once: handed to everything below
    env = kept_env_dir(env_cache, source, system=system)
    return _started(source, out_dir, env / "bin" / "python", system, env_cache, store, name, epoch, require_pure).result()


def start_project_wheel(
    source: Path,
    out_dir: Path,
    *,
    env_cache: Path,
    store: BuiltWheels,
    name: str | None = None,
    source_date_epoch: int | None = None,
    require_pure: bool = True,
) -> Pending[ProjectWheel] | None:
    """:func:`project_wheel` started: the fingerprint is taken now and, when the store has
    no wheel for it, the backend's process is started in the background; ``result()``
    gives what ``project_wheel`` returns (or raises), ``stop()`` kills a backend still
    running (nothing is stored then). ``None`` when the kept build environment is not
    ready (a first build, which installs): the caller runs ``project_wheel`` instead."""
    source = Path(source).resolve()
    epoch = source_date_epoch if source_date_epoch is not None else default_epoch()
    system = read_build_system(source)  # once: handed to everything below
    python = ready_build_env(env_cache, source, system=system)
    if python is None:
        return None
    return _started(source, out_dir, python, system, env_cache, store, name, epoch, require_pure)


def _started(
    source: Path, out_dir: Path, python: Path, system: BuildSystem, env_cache: Path, store: BuiltWheels, name: str | None,
    epoch: int, require_pure: bool,
) -> Pending[ProjectWheel]:  # fmt: skip
    """The stored wheel of ``source``'s fingerprint, else its build started."""
    env = python.parent.parent
    before = source_fingerprint(source, build_env=env, epoch=epoch)
    if before.digest is not None:
        found = store.find(before.digest)
        if (
            found is not None and found.record.get("kind") == KIND and found.record.get("format") == FINGERPRINT_FORMAT
            and (is_pure(found.path) or not require_pure)
        ):  # fmt: skip
            out_dir.mkdir(parents=True, exist_ok=True)
            copy = out_dir / found.path.name
            shutil.copyfile(found.path, copy)
            if _sha256(copy) == found.record.get("wheel_sha256"):
                return Pending.done(ProjectWheel(path=copy, cached=True, fingerprint=before))
            copy.unlink()  # a damaged entry: built again below, and replaced
    building = start_build_wheel(
        source, out_dir, env_cache=env_cache, name=name, source_date_epoch=epoch, require_pure=require_pure, system=system
    ) or Pending.done(  # not one hook call: built here and now
        build_wheel(
            source, out_dir, env_cache=env_cache, name=name, source_date_epoch=epoch, require_pure=require_pure,
            system=system,
        )  # fmt: skip
    )

    def kept() -> ProjectWheel:
        wheel = building.result()
        if before.digest is not None and source_fingerprint(source, build_env=env, epoch=epoch).digest == before.digest:
            record = {
                "kind": KIND, "format": FINGERPRINT_FORMAT, "project": name or source.name,
                "wheel_sha256": _sha256(wheel), "files": before.files, "outside": list(before.outside),
            }  # fmt: skip
            with contextlib.suppress(OSError):  # a full disk costs the next build a backend run, nothing more
                store.store(before.digest, wheel, record)
        return ProjectWheel(path=wheel, cached=False, fingerprint=before)

    return Pending(kept, building.stop)


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
