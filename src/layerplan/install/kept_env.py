"""The kept build environment of a local project (``build-envs/<key>/`` in the store, by its
``build-system.requires``) and the wheel its backend builds there.

Made once: a venv filled with uv (else pip) in a hidden sibling directory, then renamed
into place. Its hooks cache the bytecode of what they import in its ``pycache/``
(``build_env.backend_environ``): the first call compiles what it imports, later calls
nothing. What the backend's ``get_requires_for_build_wheel`` asks for is installed on
first use and recorded by a marker, so a rebuild after a code change is one hook call:
``build_wheel``, through ``hooks.call_hook`` -- or started in the background
(``start_build_in_kept_env``), for a caller with other work to do meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from layerplan.cache.atomic import atomic_directory
from layerplan.install.build_env import backend_environ, install_requirements, new_environment
from layerplan.install.errors import PREPARE_HINT, BuildError, backend_hint
from layerplan.install.hook_bytecode import (
    BYTECODE_DIR,
    forget_tree_bytecode,
    link_stdlib_bytecode,
    linking_stdlib_bytecode,
)
from layerplan.install.hooks import (
    BuildSystem,
    HookError,
    call_hook,
    call_hook_then,
    project_label,
    read_build_system,
    start_hook,
)
from layerplan.install.pending import Pending

__all__ = ["build_in_kept_env", "kept_build_env", "kept_env_dir", "last_line", "ready_build_env", "start_build_in_kept_env"]

Settings = Mapping[str, str | Sequence[str]]


def last_line(text: str | bytes | None) -> str:
    """The last non-empty line a backend printed: where Python puts the exception."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _reason(error: subprocess.CalledProcessError) -> str:
    return last_line(error.stderr) or last_line(error.output)


def kept_build_env(
    env_cache: Path,
    source: Path,
    *,
    system: BuildSystem | None = None,
    source_date_epoch: int | None = None,
    settings: Settings | None = None,
) -> Path:
    """The interpreter of the kept build environment for ``source`` (in ``env_cache``, by its
    ``build-system.requires``), with what the backend's ``get_requires_for_build_wheel``
    asks for installed too; made on first use. Raise ``BuildError`` as ``build_in_kept_env`` does.

    ``system``: the project's ``[build-system]``, as the caller read it (once per build,
    handed down); ``None``: read here. So for every function below."""
    source = Path(source).resolve()
    return _prepared(env_cache, source, None, system or read_build_system(source), source_date_epoch, settings)


def kept_env_dir(env_cache: Path, source: Path, *, system: BuildSystem | None = None) -> Path:
    """The directory of the kept build environment for ``source``, made on first use, with
    ``build-system.requires`` installed but no backend asked anything: a first build then
    asks ``get_requires_for_build_wheel`` and builds in one backend process
    (``build_in_kept_env``). Raise ``BuildError`` as ``build_in_kept_env`` does."""
    source = Path(source).resolve()
    with _errors(None, source, "cannot prepare the build", PREPARE_HINT):
        return _cached_build_env(env_cache, system or read_build_system(source)).parent.parent


def _prepared(
    env_cache: Path,
    source: Path,
    label: str | None,
    system: BuildSystem,
    source_date_epoch: int | None,
    settings: Settings | None,
) -> Path:
    with _errors(label, source, "cannot prepare the build", PREPARE_HINT):
        python = _cached_build_env(env_cache, system)
    marker = _wheel_requires_marker(python, source, settings)
    if marker.is_file():
        return python  # a rebuild: no backend call
    with _errors(label, source, "building the wheel failed", backend_hint("wheel", source)):
        extra = call_hook(python, source, system, "get_requires_for_build_wheel", [dict(settings) if settings else None],
                          _environ(python, source, source_date_epoch))  # fmt: skip
    _record_requires(python, source, label, marker, extra)
    return python


def _record_requires(python: Path, source: Path, label: str | None, marker: Path, extra: object) -> None:
    """Install what ``get_requires_for_build_wheel`` answered, then write ``marker``."""
    requires = sorted(str(r) for r in extra) if isinstance(extra, list) else []
    with _errors(label, source, "cannot prepare the build", PREPARE_HINT):
        if requires:
            install_requirements(python, requires)
    marker.write_text("\n".join(requires), encoding="utf-8")


def build_in_kept_env(
    source: Path,
    out_dir: Path,
    *,
    env_cache: Path,
    system: BuildSystem | None = None,
    label: str | None = None,
    source_date_epoch: int | None = None,
    settings: Settings | None = None,
) -> Path:
    """Build ``source``'s wheel into ``out_dir`` with its backend in the kept environment and
    return its path. Raise ``BuildError`` (starting with ``label``, default the project's
    name) ending with the backend's last output line."""
    source = Path(source).resolve()
    system = system or read_build_system(source)
    with _errors(label, source, "cannot prepare the build", PREPARE_HINT):
        python = _cached_build_env(env_cache, system)
    out_dir = Path(os.path.abspath(out_dir))  # a backend runs in the project's directory
    out_dir.mkdir(parents=True, exist_ok=True)
    config = dict(settings) if settings else None
    build_call = ("build_wheel", [str(out_dir), config, None])
    environ = _environ(python, source, source_date_epoch)
    name: object = None
    marker = _wheel_requires_marker(python, source, settings)
    if not marker.is_file():
        # The first build for this configuration asks what the backend needs, and builds in
        # the same process when it needs nothing more (the usual answer): one backend start.
        with _errors(label, source, "building the wheel failed", backend_hint("wheel", source)):
            extra, name = call_hook_then(python, source, system, ("get_requires_for_build_wheel", [config]), build_call, environ)
        _record_requires(python, source, label, marker, extra)
    if name is None:  # a rebuild, or the backend asked for more, now installed
        with _errors(label, source, "building the wheel failed", backend_hint("wheel", source)):
            name = call_hook(python, source, system, *build_call, environ)
    return _built(name, out_dir, label, source)


def start_build_in_kept_env(
    source: Path,
    out_dir: Path,
    *,
    env_cache: Path,
    system: BuildSystem | None = None,
    label: str | None = None,
    source_date_epoch: int | None = None,
) -> Pending[Path] | None:
    """:func:`build_in_kept_env` started in the background when it is one hook call (a
    rebuild: the environment is made and has what the backend asks for): the backend's
    process runs while the caller goes on; ``result()`` gives the wheel or raises the same
    ``BuildError``, ``stop()`` kills it. ``None`` when the environment is not ready: the
    caller builds with :func:`build_in_kept_env`, which prepares it."""
    source = Path(source).resolve()
    system = system or read_build_system(source)
    python = ready_build_env(env_cache, source, system=system)
    if python is None:
        return None
    out_dir = Path(os.path.abspath(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    hook = start_hook(
        python, source, system, "build_wheel", [str(out_dir), None, None], _environ(python, source, source_date_epoch), warm=True
    )

    def built() -> Path:
        with _errors(label, source, "building the wheel failed", backend_hint("wheel", source)):
            name = hook.result()
        return _built(name, out_dir, label, source)

    return Pending(built, hook.stop)


def ready_build_env(env_cache: Path, source: Path, *, system: BuildSystem | None = None) -> Path | None:
    """The interpreter :func:`kept_build_env` gives when that needs no install and no backend
    call (the environment is made and has what the backend asks for), else ``None``."""
    source = Path(source).resolve()
    system = system or read_build_system(source)
    python = _env_dir(env_cache, system) / "bin" / "python"
    if not python.exists() or not _wheel_requires_marker(python, source, None).is_file():
        return None
    return _prepared(env_cache, source, None, system, None, None)


def _built(name: object, out_dir: Path, label: str | None, source: Path) -> Path:
    if not isinstance(name, str) or not (out_dir / name).is_file():
        raise BuildError(f"{label or project_label(source)}: the backend returned {name!r}, not a file it built", path=source)
    return out_dir / name





@contextlib.contextmanager
def _errors(label: str | None, source: Path, what: str, hint: str) -> Iterator[None]:
    """A failing install or backend as one ``BuildError`` line (``label`` default: the
    project's name, read only then) ending with its last output line."""
    try:
        yield
    except subprocess.CalledProcessError as error:
        reason = _reason(error) or str(error)
        raise BuildError(f"{label or project_label(source)}: {what}: {reason}", path=source, hint=hint) from error
    except HookError as error:
        raise BuildError(f"{label or project_label(source)}: {what}: {error}", path=source, hint=PREPARE_HINT) from error


def _environ(python: Path, source: Path, source_date_epoch: int | None) -> dict[str, str]:
    """The environment of a hook about to run for ``source``; the pycs cached for
    ``source``'s own modules are dropped first (``hook_bytecode``: they may be stale)."""
    # As an isolated environment does (build's, pip's, uv's): its scripts first on
    # PATH, where a backend finds its own tools (uv_build runs `uv-build` from there).
    path = os.pathsep.join([str(python.parent), *filter(None, [os.environ.get("PATH")])])
    cache = python.parent.parent / BYTECODE_DIR
    forget_tree_bytecode(cache, source)
    return backend_environ(source_date_epoch, {"PATH": path}, bytecode_cache=cache)


def _wheel_requires_marker(python: Path, source: Path, settings: Settings | None) -> Path:
    """Where the environment records that it has what the backend asks for, for this content
    of pyproject.toml/setup.cfg/setup.py (and settings): the answer can only change with them."""
    text = b"".join(
        (source / name).read_bytes() for name in ("pyproject.toml", "setup.cfg", "setup.py") if (source / name).is_file()
    )
    key = hashlib.sha256(text + repr(sorted((settings or {}).items())).encode()).hexdigest()[:20]
    return python.parent.parent / f".wheel-requires-{key}"


def _env_dir(cache: Path, system: BuildSystem) -> Path:
    """Where the environment for ``system``'s requirements (and this Python) is kept."""
    return cache / hashlib.sha256("\n".join([sys.version, *system.requires]).encode()).hexdigest()[:20]


def _cached_build_env(cache: Path, system: BuildSystem) -> Path:
    """The interpreter of a build environment with the build requirements, created once
    (temp dir + rename, so concurrent builds never see half an env).

    Its ``pycache/`` (``hook_bytecode``) gets the links to the standard library's pycs while
    the requirements install. One an older layerplan made has none (its modules compiled in
    ``__pycache__`` directories, which a hook with the prefix no longer reads): it gets
    them on its next use, and its hooks cache the rest in ``pycache/`` as they import it."""
    env_dir = _env_dir(cache, system)
    python = env_dir / "bin" / "python"
    if python.exists():
        with contextlib.suppress(OSError):
            os.utime(env_dir)  # its last use, which `layerplan cache prune --older-than` goes by
        if not (env_dir / BYTECODE_DIR).is_dir():  # made by an older layerplan
            link_stdlib_bytecode(env_dir / BYTECODE_DIR)
        return python
    with atomic_directory(env_dir, replace=False) as staging:  # another build made it first: use theirs
        new_environment(staging)
        with linking_stdlib_bytecode(staging / BYTECODE_DIR):
            install_requirements(staging / "bin" / "python", list(system.requires))
    return python
