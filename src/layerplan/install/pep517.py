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
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from layerplan import _toml
from layerplan.cache.atomic import atomic_directory
from layerplan.cache.scratch import scratch_directory
from layerplan.cache.temps import scratch_prefix
from layerplan.reproducible import DEFAULT_EPOCH, source_date_epoch
from layerplan.install.errors import BuildError, ImpureWheelError

__all__ = [
    "DEFAULT_SOURCE_DATE_EPOCH",
    "Installer",
    "backend_reason",
    "backend_runner",
    "build_sdist",
    "build_wheel",
    "find_installer",
    "install_requirements",
    "is_pure",
    "kept_build_env",
    "local_wheel",
    "new_environment",
    "unpack_sdist",
]

DEFAULT_SOURCE_DATE_EPOCH = DEFAULT_EPOCH
"""Used when neither the caller nor ``SOURCE_DATE_EPOCH`` gives a time (layerplan.reproducible)."""

def is_pure(wheel: Path | str) -> bool:
    """True when every tag of the wheel's file name has platform ``any``."""
    _, _, _, tags = parse_wheel_filename(Path(wheel).name)
    return all(tag.platform == "any" for tag in tags)


def _project_name(source: Path) -> str:
    """The project's name for messages: ``[project].name``, poetry's, else the folder's."""
    try:
        data, _ = _toml.load_toml(source / "pyproject.toml", BuildError)
    except BuildError:
        return source.name
    project = data.get("project")
    if isinstance(project, dict) and isinstance(project.get("name"), str):
        return str(project["name"])
    poetry = data.get("tool", {}).get("poetry", {})
    if isinstance(poetry, dict) and isinstance(poetry.get("name"), str):
        return str(poetry["name"])
    return source.name


def _source_date_epoch(value: int | None) -> str:
    return str(value if value is not None else source_date_epoch())


@dataclass(frozen=True, slots=True)
class Installer:
    """What installs a build environment's requirements: ``uv`` (a binary) or ``pip``."""

    kind: Literal["uv", "pip"]
    executable: str | None = None
    """The uv binary; ``None`` for pip, which runs as ``python -m pip`` in the environment."""


@functools.lru_cache(maxsize=1)
def find_installer() -> Installer:
    """uv from its Python package (``uv.find_uv_bin()``: works with no ``uv`` on PATH,
    e.g. in a venv run without activating it), else ``$UV`` or ``uv`` on PATH, else pip."""
    try:
        import uv

        return Installer("uv", uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which(os.environ.get("UV") or "uv")
    return Installer("uv", found) if found else Installer("pip")


def _last_line(text: str | bytes | None) -> str:
    """The last non-empty line a backend printed: where Python puts the exception."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


class Runner(Protocol):
    """What ``build.ProjectBuilder`` runs a backend hook with."""

    def __call__(self, cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None: ...


_NOT_INHERITED = frozenset({"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE"})


def backend_runner(source_date_epoch: int | None, *, environ: Mapping[str, str] | None = None) -> Runner:
    """A runner for ``build.ProjectBuilder``: the hook's output is captured (its last line
    is the reason of a failure, see ``backend_reason``), ``SOURCE_DATE_EPOCH`` is set, and
    ``environ`` added."""
    extra = {**(environ or {}), "SOURCE_DATE_EPOCH": _source_date_epoch(source_date_epoch)}

    def runner(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
        # The build environment is isolated (as pip's and uv's are): the caller's
        # PYTHONPATH or user site would put their own setuptools before the environment's.
        inherited = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env = {**inherited, "PYTHONNOUSERSITE": "1", **(extra_environ or {}), **extra}
        done = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, check=False)
        if done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, cmd, done.stdout, done.stderr)

    return runner


def backend_reason(error: BaseException) -> str:
    """Why a backend hook or an install failed: the last line it printed (``""`` if none)."""
    import build

    cause = error.exception if isinstance(error, build.BuildBackendException) else error
    if isinstance(cause, subprocess.CalledProcessError):
        return _last_line(cause.stderr) or _last_line(cause.output)
    return ""


def index_options(indexes: Sequence[str]) -> list[str]:
    """``--index-url FIRST --extra-index-url ...``: what uv pip and pip both understand."""
    if not indexes:
        return []
    return ["--index-url", indexes[0], *(arg for url in indexes[1:] for arg in ("--extra-index-url", url))]


def build_wheel(
    source: Path,
    out_dir: Path | None = None,
    *,
    name: str | None = None,
    source_date_epoch: int | None = None,
    config_settings: Mapping[str, str | Sequence[str]] | None = None,
    require_pure: bool = True,
    env_cache: Path | None = None,
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
    and the wheel is platform-specific.
    """
    source = Path(source).resolve()
    label = name or _project_name(source)
    out_dir = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix=scratch_prefix("wheel")))
    settings = dict(config_settings) if config_settings else None
    wheel = _build_distribution(source, "wheel", out_dir, label, source_date_epoch, settings, env_cache)
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
    return _build_distribution(source, "sdist", out_dir, name or _project_name(source), source_date_epoch, None, None)


def _build_distribution(
    source: Path,
    kind: Literal["wheel", "sdist"],
    out_dir: Path,
    label: str,
    source_date_epoch: int | None,
    settings: dict[str, str | Sequence[str]] | None,
    env_cache: Path | None,
) -> Path:
    """Run the backend's ``build_<kind>`` hook; a failure is one ``BuildError`` line whose
    message ends with the last line the backend printed (usually the reason)."""
    import build
    from build.env import DefaultIsolatedEnv

    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise BuildError(f"{label}: {source} has no pyproject.toml or setup.py", path=source)
    runner = backend_runner(source_date_epoch)
    with _backend_errors(label, kind, source):
        if env_cache is not None and kind == "wheel":
            python = kept_build_env(env_cache, source, source_date_epoch=source_date_epoch, settings=settings)
            builder = build.ProjectBuilder(source, python_executable=str(python), runner=_kept_env_runner(python, source_date_epoch))
            return Path(builder.build(kind, out_dir, settings))
        with DefaultIsolatedEnv(installer=find_installer().kind) as env:
            builder = build.ProjectBuilder.from_isolated_env(env, source, runner=runner)
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
            hint=f"run `python -m build --{kind} {source}` to see the backend's full output",
        ) from error
    except (build.BuildException, subprocess.CalledProcessError) as error:
        reason = backend_reason(error)
        raise BuildError(
            f"{label}: cannot prepare the build: " + (reason or str(error)),
            path=source,
            hint="check [build-system] in pyproject.toml and that the build requirements exist on the index",
        ) from error


def _build_requires(source: Path) -> list[str]:
    try:
        data, _ = _toml.load_toml(source / "pyproject.toml", BuildError)
    except BuildError:
        data = {}
    requires = data.get("build-system", {}).get("requires")
    # PEP 517's fallback for projects without [build-system]
    return sorted(str(r) for r in requires) if isinstance(requires, list) else ["setuptools>=40.8.0"]


def install_requirements(python: Path, requirements: Sequence[str], *, indexes: Sequence[str] = ()) -> None:
    """Install ``requirements`` into the environment of ``python`` (uv, else pip), from
    ``indexes`` (first is primary) when given, else the installer's default.
    Raise ``subprocess.CalledProcessError`` (``backend_reason`` tells why)."""
    installer = find_installer()
    if installer.executable is not None:
        command = [installer.executable, "pip", "install", "--quiet", "--python", str(python)]
    else:
        command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*command, *index_options(indexes), *requirements], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)


def new_environment(path: Path) -> None:
    """A build environment; with pip in it when uv is not there to install into it.

    A Python without ``ensurepip`` (Debian's, without python3-venv) cannot make one
    with pip: that is one line saying how to get an installer, not a traceback.
    """
    with_pip = find_installer().kind == "pip"
    try:
        venv.EnvBuilder(with_pip=with_pip, symlinks=True).create(path)
    except (subprocess.CalledProcessError, OSError) as error:
        raise BuildError(
            f"cannot create a build environment with {sys.executable}: {error}",
            hint="install uv beside layerplan (`pip install uv`), or Python's venv/ensurepip "
            "(Debian: apt-get install python3-venv)",
        ) from None


def _kept_env_runner(python: Path, source_date_epoch: int | None) -> Runner:
    # As an isolated environment does (build's, pip's, uv's): its scripts first on
    # PATH, where a backend finds its own tools (uv_build runs `uv-build` from there).
    path = os.pathsep.join([str(python.parent), *filter(None, [os.environ.get("PATH")])])
    return backend_runner(source_date_epoch, environ={"PATH": path})


def kept_build_env(
    env_cache: Path,
    source: Path,
    *,
    source_date_epoch: int | None = None,
    settings: Mapping[str, str | Sequence[str]] | None = None,
) -> Path:
    """The interpreter of the kept build environment for ``source`` (in ``env_cache``, by its
    ``build-system.requires``), with what the backend's ``get_requires_for_build_wheel``
    asks for installed too; made on first use. Raise ``BuildError`` as ``build_wheel`` does."""
    source = Path(source).resolve()
    try:
        python = _cached_build_env(env_cache, source, None)
    except subprocess.CalledProcessError as error:
        raise BuildError(
            f"{_project_name(source)}: cannot prepare the build: " + (backend_reason(error) or str(error)),
            path=source,
            hint="check [build-system] in pyproject.toml and that the build requirements exist on the index",
        ) from error
    marker = _wheel_requires_marker(python, source, settings)
    if marker.is_file():
        return python  # a rebuild: no backend call, and `build` is not even imported
    import build

    label = _project_name(source)
    with _backend_errors(label, "wheel", source):
        builder = build.ProjectBuilder(source, python_executable=str(python), runner=_kept_env_runner(python, source_date_epoch))
        _ensure_wheel_requires(builder, python, marker, settings)
    return python


def _wheel_requires_marker(python: Path, source: Path, settings: Mapping[str, str | Sequence[str]] | None) -> Path:
    """Where the environment records that it has what the backend asks for, for this content
    of pyproject.toml/setup.cfg/setup.py (and settings): the answer can only change with them."""
    text = b"".join(
        (source / name).read_bytes() for name in ("pyproject.toml", "setup.cfg", "setup.py") if (source / name).is_file()
    )
    key = hashlib.sha256(text + repr(sorted((settings or {}).items())).encode()).hexdigest()[:20]
    return python.parent.parent / f".wheel-requires-{key}"


def _ensure_wheel_requires(
    builder: Any, python: Path, marker: Path, settings: Mapping[str, str | Sequence[str]] | None
) -> None:
    """Install what ``get_requires_for_build_wheel`` asks for, once per ``marker``: each ask
    is a backend subprocess (~0.15 s) on the path of every code-change rebuild."""
    extra_requires = builder.get_requires_for_build("wheel", settings)
    if extra_requires:
        install_requirements(python, sorted(extra_requires))
    marker.write_text("\n".join(sorted(extra_requires)), encoding="utf-8")


def _cached_build_env(cache: Path, source: Path, runner: object) -> Path:
    """The interpreter of a build environment with ``source``'s build requirements,
    created once (temp dir + rename, so concurrent builds never see half an env)."""
    requires = _build_requires(source)
    key = hashlib.sha256("\n".join([sys.version, *requires]).encode()).hexdigest()[:20]
    env_dir = cache / key
    python = env_dir / "bin" / "python"
    if python.exists():
        with contextlib.suppress(OSError):
            os.utime(env_dir)  # its last use, which `layerplan cache prune --older-than` goes by
        return python
    with atomic_directory(env_dir, replace=False) as staging:  # another build made it first: use theirs
        new_environment(staging)
        install_requirements(staging / "bin" / "python", requires)
    return python


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
