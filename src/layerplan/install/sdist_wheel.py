"""The wheel of a package the lock pins only as an sdist: built here, normalized, kept.

For a verified sdist (the fetch stage checked its hash against the lock):

1. unpack it and read its build system (``build`` reads it: PEP 518, or the setuptools
   fallback for a bare ``setup.py``);
2. refuse it up front when its build requirements name a tool that compiles code;
3. resolve those requirements on the lock's indexes, for the Python that runs the backend;
4. look the wheel up in the store by what decides its bytes (``wheel_key``): a hit is used
   as it is, with no environment and no backend run;
5. otherwise make a fresh environment with the pinned requirements (from the lock's
   indexes), add what the backend asks for to build a wheel, run its ``build_wheel``
   with ``SOURCE_DATE_EPOCH`` and a fixed hash seed, refuse a platform-specific result,
   normalize the wheel (``normalize``), and store it with a record of what it was built
   from and with.

The wheel is a function of the sdist and its build requirements, not of the image: its
times are ``WHEEL_EPOCH`` whatever the build's ``SOURCE_DATE_EPOCH`` (the layer's files
take the layer's time anyway), so one stored wheel serves every later build.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name

from layerplan import _toml
from layerplan.cache.built_wheels import BuiltWheels
from layerplan.install.build_requirements import installed_requirements, resolve_requirements
from layerplan.install.errors import BuildError, ImpureWheelError
from layerplan.install.hook_bytecode import BYTECODE_DIR, linking_stdlib_bytecode
from layerplan.install.normalize import normalize_wheel
from layerplan.install.pep517 import (
    backend_reason,
    backend_runner,
    install_requirements,
    is_pure,
    new_environment,
    unpack_sdist,
)
from layerplan.oci.digest import canonical_json
from layerplan.project.model import PEP517_FALLBACK_BACKEND
from layerplan.reproducible import DEFAULT_EPOCH
from layerplan.urls import public_url

__all__ = [
    "SDIST_WHEEL_FORMAT",
    "WHEEL_EPOCH",
    "OpenedSdist",
    "SdistWheel",
    "keep_wheel",
    "open_sdist",
    "refuse_compiled",
    "stored_wheel",
    "wheel_from_sdist",
    "wheel_key",
]

SDIST_WHEEL_FORMAT = "layerplan-sdist-wheel/1"
"""Bumped whenever wheels are built or normalized differently: stored wheels of an older
format are then not reused, nor the layers that hold them."""

WHEEL_EPOCH = DEFAULT_EPOCH
"""``SOURCE_DATE_EPOCH`` of the backend and the time of every entry of the wheel."""

_COMPILERS = frozenset(
    canonicalize_name(name)
    for name in (
        "cffi", "cython", "maturin", "meson-python", "nanobind", "pybind11", "scikit-build", "scikit-build-core",
        "setuptools-rust",
    )
)  # fmt: skip
"""Build requirements that exist to compile code: such an sdist is refused before any
backend runs (a compiler on this host would otherwise spend minutes on a refused wheel)."""

_DOCKERFILE_HINT = "use `layerplan dockerfile`, which builds it in the image"


@dataclass(frozen=True, kw_only=True, slots=True)
class SdistWheel:
    """The wheel of one package, made from its sdist by this build or an earlier one."""

    name: str
    version: str | None
    sdist: str
    """The sdist's file name."""
    sdist_sha256: str
    sdist_url: str | None
    """Where the sdist came from, without credentials."""
    backend: str
    """``build-backend`` of the sdist (the setuptools fallback for a bare ``setup.py``)."""
    build_requirements: tuple[str, ...]
    """``name==version`` of everything the build environment held."""
    indexes: tuple[str, ...]
    """Where the build requirements were installed from, without credentials."""
    wheel: Path
    wheel_sha256: str
    key: str
    """The store key (``wheel_key``)."""
    cached: bool
    """True when the wheel came from the store (no backend ran)."""


def wheel_key(*, sdist_sha256: str, backend: str, requirements: Sequence[str], python_tag: str | None = None) -> str:
    """The store key of a wheel built from an sdist: sha256 over what decides its bytes.

    The sdist's sha256, the backend and its build requirements as resolved (pins), the
    Python that runs the backend (a ``setup.py`` may read ``sys.version_info``), and
    ``python_tag``: the target's interpreter and ABI for a platform-specific wheel, ``None``
    for a pure one (the only kind built today).
    """
    payload = {
        "format": SDIST_WHEEL_FORMAT,
        "sdist": sdist_sha256,
        "backend": backend,
        "requirements": sorted(requirements),
        "builder": f"{sys.implementation.name}{sys.version_info.major}.{sys.version_info.minor}",
        "python_tag": python_tag,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class OpenedSdist:
    """A verified sdist, unpacked, with its build system read (nothing run)."""

    name: str
    version: str | None
    filename: str
    sha256: str
    url: str | None
    """Where it came from, without credentials."""
    tree: Path
    requires: tuple[str, ...]
    backend: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


def open_sdist(sdist: Path, *, name: str, version: str | None, sha256: str, url: str | None, scratch: Path) -> OpenedSdist:
    """Unpack ``sdist`` under ``scratch`` and read its build requirements and backend;
    raise ``BuildError`` when it cannot be unpacked or its build system is invalid."""
    label = f"{name} {version}" if version else name
    tree = _unpack(sdist, scratch.resolve() / "src", label)  # the backend runs there: no relative paths
    requires, backend = _build_system(tree, sdist.name, label)
    return OpenedSdist(
        name=name, version=version, filename=sdist.name, sha256=sha256, url=public_url(url) if url else None,
        tree=tree, requires=requires, backend=backend,
    )  # fmt: skip


def refuse_compiled(source: OpenedSdist) -> None:
    """Raise ``ImpureWheelError`` when ``source`` needs a compiler: its build requirements
    name a tool that compiles, or it ships C, C++, Cython, Rust or Fortran sources."""
    _refuse_compilers(source.requires, source.filename, source.label)
    native = _native_source(source.tree)
    if native is not None:
        raise ImpureWheelError(
            f"{source.label}: {source.filename} needs compiling (it ships {native})",
            hint=_DOCKERFILE_HINT,
        )


def stored_wheel(source: OpenedSdist, *, key: str, pins: tuple[str, ...], indexes: Sequence[str], store: BuiltWheels) -> SdistWheel | None:
    """The wheel the store keeps under ``key`` (made by an earlier build), or ``None``."""
    found = store.find(key)
    if found is None:
        return None
    recorded = found.record.get("build_requirements")
    return SdistWheel(
        **_common(source, key, indexes),
        build_requirements=tuple(recorded) if isinstance(recorded, list) else pins,
        wheel=found.path,
        wheel_sha256=str(found.record.get("wheel_sha256", "")) or _sha256(found.path),
        cached=True,
    )


def keep_wheel(
    source: OpenedSdist,
    built: Path,
    *,
    key: str,
    installed: tuple[str, ...],
    indexes: Sequence[str],
    store: BuiltWheels,
    scratch: Path,
    record: dict[str, Any] | None = None,
) -> SdistWheel:
    """Normalize the wheel the backend built from ``source`` and keep it in ``store``
    under ``key``, with a record of what it was built from and with (plus ``record``)."""
    normalized = normalize_wheel(built, scratch / "normalized", epoch=WHEEL_EPOCH)
    digest = _sha256(normalized)
    common = _common(source, key, indexes)
    full_record = {
        "format": SDIST_WHEEL_FORMAT,
        "name": source.name,
        "version": source.version,
        "sdist": {"filename": source.filename, "sha256": source.sha256, "url": source.url},
        "backend": source.backend,
        "requires": list(source.requires),
        "build_requirements": list(installed),
        "indexes": list(common["indexes"]),
        "wheel": normalized.name,
        "wheel_sha256": digest,
        **(record or {}),
    }
    try:
        stored = store.store(key, normalized, full_record)
    except OSError as error:
        raise BuildError(
            f"{source.label}: cannot keep the built wheel in the cache: {error.strerror or error}",
            path=store.directory,
            hint="check the cache directory's permissions and free space",
        ) from None
    return SdistWheel(**common, build_requirements=installed, wheel=stored.path, wheel_sha256=digest, cached=False)


def _common(source: OpenedSdist, key: str, indexes: Sequence[str]) -> dict[str, Any]:
    return dict(
        name=source.name, version=source.version, sdist=source.filename, sdist_sha256=source.sha256,
        sdist_url=source.url, backend=source.backend, indexes=tuple(public_url(index) for index in indexes), key=key,
    )  # fmt: skip


def wheel_from_sdist(
    sdist: Path,
    *,
    name: str,
    version: str | None,
    sha256: str,
    url: str | None,
    store: BuiltWheels,
    indexes: Sequence[str],
    scratch: Path,
) -> SdistWheel:
    """The normalized wheel of verified sdist ``sdist`` (sha256 ``sha256``): from ``store``,
    else built (see the module), with build requirements from ``indexes``; ``scratch`` is
    an empty directory the caller removes.

    Raise ``ImpureWheelError`` when the sdist needs compiling, ``BuildError`` when it
    cannot be unpacked, its requirements resolved or installed, or the backend fails (the
    message ends with the backend's reason).
    """
    indexes = tuple(indexes)
    scratch = scratch.resolve()
    source = open_sdist(sdist, name=name, version=version, sha256=sha256, url=url, scratch=scratch)
    refuse_compiled(source)
    shown = ", ".join(public_url(index) for index in indexes) or "the default index"
    try:
        pins = resolve_requirements(source.requires, indexes=indexes)
    except subprocess.CalledProcessError as error:
        raise BuildError(
            f"{source.label}: cannot resolve the build requirements of {sdist.name} ({', '.join(source.requires)}) on {shown}: "
            + (backend_reason(error) or f"exit status {error.returncode}")
        ) from None
    key = wheel_key(sdist_sha256=sha256, backend=source.backend, requirements=pins)
    found = stored_wheel(source, key=key, pins=pins, indexes=indexes, store=store)
    if found is not None:
        return found
    built, installed = _build(source.tree, sdist.name, source.label, pins, indexes, scratch)
    return keep_wheel(source, built, key=key, installed=installed, indexes=indexes, store=store, scratch=scratch)


def _unpack(sdist: Path, into: Path, label: str) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    try:
        return unpack_sdist(sdist, into)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as error:
        raise BuildError(f"{label}: cannot unpack {sdist.name}: {error}", hint="the index serves a broken sdist") from None


def _build_system(tree: Path, filename: str, label: str) -> tuple[tuple[str, ...], str]:
    """The sdist's build requirements (sorted) and backend, as ``build`` reads them."""
    import build

    try:
        requires = tuple(sorted(build.ProjectBuilder(tree).build_system_requires))
    except build.BuildException as error:
        raise BuildError(f"{label}: {filename} has an invalid build system: {error}") from None
    data: dict[str, Any] = {}
    if (tree / "pyproject.toml").is_file():
        data, _ = _toml.load_toml(tree / "pyproject.toml", BuildError)
    table = data.get("build-system")
    backend = table.get("build-backend") if isinstance(table, dict) else None
    return requires, backend if isinstance(backend, str) and backend else PEP517_FALLBACK_BACKEND


_NATIVE_SUFFIXES = {
    ".c": "C sources", ".cc": "C++ sources", ".cpp": "C++ sources", ".cxx": "C++ sources", ".pyx": "Cython sources",
    ".f90": "Fortran sources",
}  # fmt: skip


def _native_source(tree: Path) -> str | None:
    """What in ``tree`` needs a compiler (``"C sources (netifaces.c)"``), or ``None``.

    Read from the files, not the backend: a host without a compiler or Python's headers
    would fail the build with a compiler error instead of saying what is needed."""
    if (tree / "Cargo.toml").is_file():
        return "a Rust crate (Cargo.toml)"
    for path in sorted(tree.rglob("*")):
        kind = _NATIVE_SUFFIXES.get(path.suffix.lower())
        if kind is not None and path.is_file() and not {"test", "tests", "docs", "examples"} & set(path.relative_to(tree).parts):
            return f"{kind} ({path.relative_to(tree).as_posix()})"
    return None


def _refuse_compilers(requires: Sequence[str], filename: str, label: str) -> None:
    names = set()
    for requirement in requires:
        try:
            names.add(canonicalize_name(Requirement(requirement).name))
        except InvalidRequirement:
            continue  # `build` validated the table; an odd entry is the resolver's to refuse
    found = sorted(names & _COMPILERS)
    if found:
        raise ImpureWheelError(
            f"{label}: {filename} needs compiling (its build requirements name {', '.join(found)})",
            hint=_DOCKERFILE_HINT,
        )


def _build(
    tree: Path, filename: str, label: str, pins: Sequence[str], indexes: tuple[str, ...], scratch: Path
) -> tuple[Path, tuple[str, ...]]:
    """Run the backend in a fresh environment holding ``pins``; the wheel it built and
    what the environment held."""
    import build
    from pyproject_hooks import BuildBackendWarning

    environment = scratch / "env"
    new_environment(environment)
    python = environment / "bin" / "python"
    shown = ", ".join(public_url(index) for index in indexes) or "the default index"
    # A fixed hash seed: a backend that writes a set's items writes them in one order.
    runner = backend_runner(WHEEL_EPOCH, environ={"PYTHONHASHSEED": "0"}, bytecode_cache=environment / BYTECODE_DIR)
    builder = build.ProjectBuilder(tree, python_executable=str(python), runner=runner)
    try:
        with warnings.catch_warnings():
            # The backend's own deprecation notices (pyproject_hooks re-emits them here) are
            # its author's business; printed, they would bury the build's output.
            warnings.simplefilter("ignore", BuildBackendWarning)
            with linking_stdlib_bytecode(environment / BYTECODE_DIR):
                install_requirements(python, pins, indexes=indexes)
            extra = sorted(builder.get_requires_for_build("wheel"))
            if extra:
                install_requirements(python, extra, indexes=indexes)
            wheel = Path(builder.build("wheel", scratch / "dist"))
        installed = installed_requirements(python)
    except build.BuildBackendException as error:
        # No hint after the reason: the line ends with what the backend said.
        raise BuildError(
            f"{label}: cannot build a wheel from {filename} (`layerplan dockerfile` builds it in the image instead); "
            f"the backend says: {backend_reason(error) or error}"
        ) from None
    except (build.BuildException, subprocess.CalledProcessError) as error:
        raise BuildError(
            f"{label}: cannot install the build requirements of {filename} from {shown}: "
            + (backend_reason(error) or str(error))
        ) from None
    try:
        pure = is_pure(wheel)
    except InvalidWheelFilename:
        raise BuildError(f"{label}: the backend of {filename} produced {wheel.name}, not a wheel name") from None
    if not pure:
        raise ImpureWheelError(
            f"{label}: {filename} needs compiling (its backend built {wheel.name}, a platform-specific wheel)",
            hint=_DOCKERFILE_HINT,
        )
    return wheel, installed


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
