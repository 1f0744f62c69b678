"""Build a wheel from a local source tree (the project itself, path/directory/workspace
dependencies) with its own PEP 517 backend, in an isolated build environment.

The image gets what the backend builds, so any backend works (hatchling, setuptools,
poetry-core, pdm-backend, flit_core, ...). ``SOURCE_DATE_EPOCH`` is set so the backends
that honour it build the same bytes twice. Only pure wheels (``py3-none-any``) can be
built on the host for another platform: anything else is refused with a pointer to
the Dockerfile mode, which builds inside the image.
"""

from __future__ import annotations

import contextlib
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from layerplan.cache.scratch import scratch_directory
from layerplan.cache.temps import scratch_prefix
from layerplan.install.build_env import (
    Installer,
    backend_environ,
    find_installer,
    index_options,
    install_requirements,
    new_environment,
)
from layerplan.install.errors import PREPARE_HINT, BuildError, ImpureWheelError, backend_hint
from layerplan.install.hook_bytecode import BYTECODE_DIR, linking_stdlib_bytecode
from layerplan.install.hooks import BuildSystem
from layerplan.install.hooks import project_label as _project_name
from layerplan.install.kept_env import build_in_kept_env, kept_build_env, kept_env_dir, last_line, start_build_in_kept_env
from layerplan.install.pending import Pending
from layerplan.reproducible import DEFAULT_EPOCH

__all__ = [
    "DEFAULT_SOURCE_DATE_EPOCH",
    "Installer",
    "backend_reason",
    "backend_runner",
    "build_sdist",
    "build_wheel",
    "find_installer",
    "index_options",
    "install_requirements",
    "is_pure",
    "kept_build_env",
    "kept_env_dir",
    "local_wheel",
    "new_environment",
    "start_build_wheel",
    "unpack_sdist",
]

DEFAULT_SOURCE_DATE_EPOCH = DEFAULT_EPOCH
"""Used when neither the caller nor ``SOURCE_DATE_EPOCH`` gives a time (layerplan.reproducible)."""


def is_pure(wheel: Path | str) -> bool:
    """True when every tag of the wheel's file name has platform ``any``."""
    _, _, _, tags = parse_wheel_filename(Path(wheel).name)
    return all(tag.platform == "any" for tag in tags)


class Runner(Protocol):
    """What ``build.ProjectBuilder`` runs a backend hook with."""

    def __call__(self, cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None: ...


def backend_runner(
    source_date_epoch: int | None, *, environ: Mapping[str, str] | None = None, bytecode_cache: Path | None = None
) -> Runner:
    """A runner for ``build.ProjectBuilder``: the hook's output is captured (its last line
    is the reason of a failure, see ``backend_reason``), ``SOURCE_DATE_EPOCH`` is set, and
    ``environ`` added; with ``bytecode_cache`` (a directory of the build environment), the
    hooks cache their bytecode there (``build_env.backend_environ``), so the second hook
    call of a build does not compile the backend again."""

    def runner(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
        extra = {**(extra_environ or {}), **(environ or {})}
        env = backend_environ(source_date_epoch, extra, bytecode_cache=bytecode_cache)
        done = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, check=False)
        if done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, cmd, done.stdout, done.stderr)

    return runner


def backend_reason(error: BaseException) -> str:
    """Why a backend hook or an install failed: the last line it printed (``""`` if none)."""
    import build

    cause = error.exception if isinstance(error, build.BuildBackendException) else error
    if isinstance(cause, subprocess.CalledProcessError):
        return last_line(cause.stderr) or last_line(cause.output)
    return ""


def build_wheel(
    source: Path,
    out_dir: Path | None = None,
    *,
    name: str | None = None,
    source_date_epoch: int | None = None,
    config_settings: Mapping[str, str | Sequence[str]] | None = None,
    require_pure: bool = True,
    env_cache: Path | None = None,
    system: BuildSystem | None = None,
) -> Path:
    """Build the wheel of the project in directory ``source`` into ``out_dir`` (default:
    a new temp dir the caller removes) and return its path.

    With ``env_cache``, the build environment is kept there, keyed by the project's
    ``build-system.requires``, and reused by later builds (a rebuild after a code change
    then skips creating an environment: about 0.25 s instead of 0.5 s).

    The backend runs in an isolated environment (its ``build-system.requires`` installed
    with uv when available, else pip) with ``SOURCE_DATE_EPOCH`` set (argument, else the
    environment's, else ``DEFAULT_SOURCE_DATE_EPOCH``). Raise ``BuildError`` when the
    build fails (ending with the backend's last output line), ``ImpureWheelError`` when ``require_pure``
    and the wheel is platform-specific. ``system``: the project's ``[build-system]`` when the
    caller has read it (a kept environment's build then reads it no more).
    """
    source = Path(source).resolve()
    label = name or _project_name(source)
    out_dir = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix=scratch_prefix("wheel")))
    settings = dict(config_settings) if config_settings else None
    wheel = _build_distribution(source, "wheel", out_dir, label, source_date_epoch, settings, env_cache, system)
    return _checked_wheel(wheel, label, source, require_pure)


def start_build_wheel(
    source: Path,
    out_dir: Path,
    *,
    env_cache: Path,
    name: str | None = None,
    source_date_epoch: int | None = None,
    require_pure: bool = True,
    system: BuildSystem | None = None,
) -> Pending[Path] | None:
    """:func:`build_wheel` with ``env_cache``, started in the background when it is one hook
    call in a ready kept environment (``kept_env.start_build_in_kept_env``): ``result()``
    gives the wheel or raises what ``build_wheel`` raises, ``stop()`` kills the backend.
    ``None`` when it is more (a first build): the caller calls ``build_wheel``."""
    source = Path(source).resolve()
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        return None  # build_wheel says so
    label = name or _project_name(source)
    started = start_build_in_kept_env(
        source, out_dir, env_cache=env_cache, system=system, label=label, source_date_epoch=source_date_epoch
    )
    if started is None:
        return None
    return Pending(lambda: _checked_wheel(started.result(), label, source, require_pure), started.stop)


def _checked_wheel(wheel: Path, label: str, source: Path, require_pure: bool) -> Path:
    """``wheel``, if its name is a wheel's and it is pure when it must be."""
    try:
        pure = is_pure(wheel)
    except InvalidWheelFilename as error:
        raise BuildError(f"{label}: the backend produced {wheel.name}, not a wheel name", path=source) from error
    if require_pure and not pure:
        raise ImpureWheelError(
            f"{label}: the built wheel {wheel.name} is platform-specific (compiled code), "
            "so it cannot be built on this host for the image",
            path=source,
            hint="use `layerplan dockerfile` to build it inside the image instead",
        )
    return wheel


def build_sdist(source: Path, out_dir: Path, *, name: str | None = None, source_date_epoch: int | None = None) -> Path:
    """Build the sdist of the project in ``source`` with its own backend (isolated), for
    a package pip must compile inside the image. Raise ``BuildError``."""
    source = Path(source).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    return _build_distribution(source, "sdist", out_dir, name or _project_name(source), source_date_epoch, None, None, None)


def _build_distribution(
    source: Path,
    kind: Literal["wheel", "sdist"],
    out_dir: Path,
    label: str,
    source_date_epoch: int | None,
    settings: dict[str, str | Sequence[str]] | None,
    env_cache: Path | None,
    system: BuildSystem | None,
) -> Path:
    """Run the backend's ``build_<kind>`` hook; a failure is one ``BuildError`` line whose
    message ends with the last line the backend printed (usually the reason)."""
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise BuildError(f"{label}: {source} has no pyproject.toml or setup.py", path=source)
    if env_cache is not None and kind == "wheel":
        # The hook called directly (kept_env, hooks): no `build` to import on a rebuild's path
        return build_in_kept_env(
            source, out_dir, env_cache=env_cache, system=system, label=label, source_date_epoch=source_date_epoch,
            settings=settings,
        )  # fmt: skip
    import build
    from build.env import DefaultIsolatedEnv

    with _backend_errors(label, kind, source):
        with DefaultIsolatedEnv(installer=find_installer().kind) as env:
            cache = Path(env.path) / BYTECODE_DIR
            runner = backend_runner(source_date_epoch, bytecode_cache=cache)
            builder = build.ProjectBuilder.from_isolated_env(env, source, runner=runner)
            with linking_stdlib_bytecode(cache):
                env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build(kind, settings))
            return Path(builder.build(kind, out_dir, settings))


@contextlib.contextmanager
def _backend_errors(label: str, kind: str, source: Path) -> Iterator[None]:
    """A failing backend (or its build environment) as one ``BuildError`` line ending with
    the last line the backend printed."""
    import build

    try:
        yield
    except build.BuildBackendException as error:
        reason = backend_reason(error)
        raise BuildError(
            f"{label}: building the {kind} failed" + (f": {reason}" if reason else f": {error}"),
            path=source,
            hint=backend_hint(kind, source),
        ) from error
    except (build.BuildException, subprocess.CalledProcessError) as error:
        reason = backend_reason(error)
        raise BuildError(
            f"{label}: cannot prepare the build: " + (reason or str(error)),
            path=source,
            hint=PREPARE_HINT,
        ) from error


def unpack_sdist(archive: Path, into: Path) -> Path:
    """Unpack sdist ``archive`` (``.tar.gz``, ``.zip``...) into ``into``, refusing entries that
    would land outside it; return its top directory (the project). Raise ``BuildError`` for
    an unsafe entry, ``tarfile.TarError``/``zipfile.BadZipFile``/``OSError`` for a bad archive."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                if member.startswith("/") or ".." in member.split("/"):
                    raise BuildError(f"{archive.name}: entry {member!r} escapes the archive", path=archive)
            zipped.extractall(into)
    else:
        with tarfile.open(archive) as tarred:
            if hasattr(tarfile, "data_filter"):
                tarred.extractall(into, filter="data")
            else:  # pragma: no cover - Python without PEP 706 filters
                for info in tarred.getmembers():
                    if info.name.startswith("/") or ".." in info.name.split("/") or info.issym() or info.islnk():
                        raise BuildError(f"{archive.name}: entry {info.name!r} is not safe to extract", path=archive)
                tarred.extractall(into)
    tops = [entry for entry in into.iterdir() if entry.is_dir()]
    return tops[0] if len(tops) == 1 else into


def local_wheel(
    source: Path,
    out_dir: Path | None = None,
    *,
    name: str | None = None,
    source_date_epoch: int | None = None,
    require_pure: bool = True,
    env_cache: Path | None = None,
) -> Path:
    """A wheel for a local dependency: a ``.whl`` as it is, an sdist archive or a source
    directory built with ``build_wheel`` (same errors)."""
    source = Path(source)
    if source.suffix == ".whl":
        return source
    if source.is_dir():
        return build_wheel(
            source, out_dir, name=name, source_date_epoch=source_date_epoch, require_pure=require_pure, env_cache=env_cache
        )
    if not source.is_file():
        raise BuildError(f"{name or source.name}: {source} does not exist", path=source)
    with scratch_directory("sdist") as unpacked:
        try:
            tree = unpack_sdist(source, unpacked)
        except (tarfile.TarError, zipfile.BadZipFile, OSError) as error:
            raise BuildError(f"{name or source.name}: cannot unpack {source.name}: {error}", path=source) from error
        out_dir = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix=scratch_prefix("wheel")))
        return build_wheel(
            tree, out_dir, name=name, source_date_epoch=source_date_epoch, require_pure=require_pure, env_cache=env_cache
        )
