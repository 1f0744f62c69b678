"""The fingerprint of a local project's wheel: every input its backend could read, hashed.

A rebuild with nothing changed should not run the backend (a subprocess, ~0.15-0.5 s).
The fingerprint decides that without it, so it must be a *superset* of what the backend
reads -- a spurious rebuild costs time, a missed input ships stale code:

* every regular file under the project directory, by relative path, executable bit, size
  and content (never mtimes: a ``touch`` or a fresh clone changes nothing), but for what no
  backend takes by default and the configuration does not name: ``.git``/``.hg``/``.svn``,
  ``__pycache__``, ``*.egg-info`` (written by setuptools during the build), virtual
  environments (a directory with a ``pyvenv.cfg``), and at the top only ``dist``,
  ``build``, ``.pdm-build``, ``.tox``, ``.nox``, ``node_modules``, the tool caches and the lock files;
* files outside it that the configuration names where layerplan knows how to read it:
  ``project.readme``, ``project.license`` files and ``license-files``, hatch's
  ``force-include`` sources;
* the configuration's bytes (pyproject.toml, setup.cfg), the build environment (its key
  and the distributions installed in it, with their versions), ``SOURCE_DATE_EPOCH``,
  the environment variables the backends read, layerplan's version and this format.

Where that cannot be a superset, there is no fingerprint (``digest`` is ``None``, the
reason in ``why_not``) and the project is built every time: code the project runs at build
time (``setup.py``, hatch/pdm build hooks, an in-tree backend, poetry's ``build`` script),
a version from version control (setuptools-scm, hatch-vcs, ...), a backend layerplan does
not know, a link out of the project, a path outside it in the backend's configuration
other than those above -- and a project too big to read on every build (``MAX_FILES``,
``MAX_BYTES``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FINGERPRINT_FORMAT", "MAX_BYTES", "MAX_FILES", "Fingerprint", "source_fingerprint"]

FINGERPRINT_FORMAT = 1
"""Changes whenever what the fingerprint covers changes, so old entries are never hits."""

KNOWN_BACKENDS = frozenset(
    {
        "hatchling.build", "setuptools.build_meta", "setuptools.build_meta:__legacy__", "flit_core.buildapi",
        "pdm.backend", "poetry.core.masonry.api", "uv_build",
    }
)  # fmt: skip
"""The backends whose inputs the rules here are written for."""

_VCS_VERSIONING = frozenset(
    {
        "setuptools-scm", "hatch-vcs", "versioningit", "poetry-dynamic-versioning", "dunamai", "pbr",
        "setuptools-git-versioning", "uv-dynamic-versioning", "pdm-backend-scm", "vcs-versioning",
    }
)  # fmt: skip
"""Build requirements that take the version from the repository's history, which is not a file."""

_NEVER_INPUTS = frozenset({".git", ".hg", ".svn", "__pycache__"})
"""Directory names skipped at any depth: no backend puts them in a wheel."""

_TOP_NON_INPUTS = frozenset(
    {
        "dist", "build", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "node_modules",
        "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock.toml",
        ".pdm-build",  # pdm-backend's own output (the dist-info it generates), remade by every build
    }
)  # fmt: skip
"""Skipped only at the top of the project (``src/app/build/`` is a package), and only when
the configuration does not name them. The lock files key the other layers, not the wheel."""

_ENV_PREFIXES = ("SETUPTOOLS_", "HATCH_", "PDM_", "POETRY_", "FLIT_", "UV_BUILD", "DISTUTILS_", "SOURCE_DATE_EPOCH")
"""Environment variables a backend reads (setuptools' ``SETUPTOOLS_USE_DISTUTILS``, ...)."""

_CHUNK = 1 << 20
MAX_FILES = 20_000
MAX_BYTES = 256 << 20
"""Above these (a repository root holding data, a frontend's ``node_modules`` deeper down),
hashing everything on every build would cost more than the backend: no fingerprint."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Fingerprint:
    """What a wheel of the project is built from, hashed."""

    digest: str | None
    """sha256 (hex); ``None``: the project may read what this cannot see, so always build."""
    why_not: str = ""
    """Why there is no digest, in words."""
    files: int = 0
    """How many files it covers (in and outside the project)."""
    outside: tuple[str, ...] = ()
    """The files outside the project it covers, as the configuration names them."""


def source_fingerprint(
    source: Path,
    *,
    build_env: Path | None,
    epoch: int,
    settings: Mapping[str, str | Sequence[str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Fingerprint:
    """The fingerprint of the wheel the backend of ``source`` builds in ``build_env`` (a
    kept build environment) with ``SOURCE_DATE_EPOCH`` ``epoch`` and ``settings``.

    Reads the project's files; never runs anything. An unreadable file (or one that
    vanishes while being read) gives no digest rather than an error: the build that
    follows reports it as the backend sees it.
    """
    from layerplan import __version__, _toml
    from layerplan.errors import LayerplanError

    source = Path(source).resolve()
    if build_env is None:
        return Fingerprint(digest=None, why_not="no kept build environment")
    if (source / "setup.py").exists():
        return Fingerprint(digest=None, why_not="setup.py runs code at build time")
    try:
        data, _ = _toml.load_toml(source / "pyproject.toml", LayerplanError)
    except LayerplanError:
        return Fingerprint(digest=None, why_not="no readable pyproject.toml")
    config_text = _config_text(source)
    why_not = _unsupported(source, data)
    if why_not:
        return Fingerprint(digest=None, why_not=why_not)
    outside, why_not = _outside_inputs(source, data)
    if why_not:
        return Fingerprint(digest=None, why_not=why_not)
    hasher = hashlib.sha256()

    def add(*parts: str) -> None:
        for part in parts:
            hasher.update(part.encode("utf-8", "surrogateescape") + b"\0")

    add(f"layerplan-fingerprint/{FINGERPRINT_FORMAT}", __version__, f"epoch={epoch}")
    add(repr(sorted((settings or {}).items())))
    env = os.environ if environ is None else environ
    add(*(f"{k}={env[k]}" for k in sorted(env) if k.startswith(_ENV_PREFIXES)))
    add("env", build_env.name, *_installed(build_env))
    try:
        inside = list(_project_files(source, config_text))
        size = sum(real.stat().st_size for _, real in (*inside, *outside) if real.is_file())
        if size > MAX_BYTES:
            return Fingerprint(digest=None, why_not=f"the project holds {size >> 20} MiB: reading it every build costs more than building")
        for relative, real in inside:
            add(relative, *_file_identity(real))
        add("outside")
        for name, real in outside:
            add(name, *_file_identity(real))
    except _LeadsOut as out:
        return Fingerprint(digest=None, why_not=f"{out.args[0]} leads out of the project")
    except _TooMany:
        return Fingerprint(digest=None, why_not=f"the project holds more than {MAX_FILES} files: reading them every build costs more than building")
    except OSError as error:
        return Fingerprint(digest=None, why_not=f"cannot read {error.filename}: {error.strerror}")
    return Fingerprint(digest=hasher.hexdigest(), files=len(inside) + len(outside), outside=tuple(name for name, _ in outside))


class _LeadsOut(Exception):
    """A link that leads out of the project: what it reads is not the project's."""


class _TooMany(Exception):
    """More files than :data:`MAX_FILES`."""


def _config_text(source: Path) -> str:
    parts = []
    for name in ("pyproject.toml", "setup.cfg"):
        try:
            parts.append((source / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            pass
    return "\n".join(parts)


def _table(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """``data[k1][k2]...`` when every step is a table, else ``{}``."""
    current: Any = data
    for key in keys:
        current = current.get(key) if isinstance(current, dict) else None
    return current if isinstance(current, dict) else {}


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _unsupported(source: Path, data: Mapping[str, Any]) -> str:
    """Why the project's build may read what the files do not show; ``""`` when it cannot."""
    system = _table(data, "build-system")
    backend = system.get("build-backend")
    if not isinstance(backend, str) or backend not in KNOWN_BACKENDS:
        return f"the backend {backend!r} is not one whose inputs layerplan knows"
    if system.get("backend-path"):
        return "an in-tree backend (backend-path) runs the project's code at build time"
    requires = system.get("requires")
    names = {_requirement_name(str(r)) for r in requires} if isinstance(requires, list) else set()
    vcs = sorted(names & _VCS_VERSIONING)
    if vcs:
        return f"{vcs[0]} takes the version from version control"
    hatch = _table(data, "tool", "hatch")
    if _table(hatch, "version").get("source") == "vcs":
        return "[tool.hatch.version] takes the version from version control"
    hooks = [
        _table(hatch, "build", "hooks"), _table(hatch, "metadata", "hooks"),
        *(_table(target, "hooks") for target in _table(hatch, "build", "targets").values() if isinstance(target, dict)),
    ]  # fmt: skip
    if any(hooks) or (source / "hatch_build.py").exists():
        return "a hatch build hook runs code at build time"
    pdm = _table(data, "tool", "pdm")
    if _table(pdm, "version").get("source") in ("scm", "call"):
        return "[tool.pdm.version] runs code or reads version control"
    if _table(pdm, "build").get("custom-hook") or (source / "pdm_build.py").exists():
        return "a pdm build hook runs code at build time"
    if _table(data, "tool", "poetry").get("build"):
        return "[tool.poetry] build runs a script at build time"
    return ""


def _named_paths(data: Mapping[str, Any]) -> list[str]:
    """The files the configuration names that layerplan reads when they are outside the
    project: the readme, license files, hatch's force-include sources."""
    project = _table(data, "project")
    named: list[str] = []
    readme = project.get("readme")
    if isinstance(readme, str):
        named.append(readme)
    elif isinstance(readme, dict) and isinstance(readme.get("file"), str):
        named.append(readme["file"])
    license_ = project.get("license")
    if isinstance(license_, dict) and isinstance(license_.get("file"), str):
        named.append(license_["file"])
    files = project.get("license-files")
    if isinstance(files, list):
        named += [str(f) for f in files]
    hatch = _table(data, "tool", "hatch", "build")
    tables = [hatch, *(t for t in _table(hatch, "targets").values() if isinstance(t, dict))]
    for table in tables:
        named += [str(key) for key in _table(table, "force-include")]
    return named


def _backend_strings(data: Mapping[str, Any]) -> Iterator[str]:
    """Every string of the backends' own configuration (where a path may hide)."""
    tool = _table(data, "tool")
    roots: list[Any] = [
        _table(data, "project"), {k: v for k, v in _table(tool, "hatch").items() if k != "envs"},
        _table(tool, "setuptools"), _table(tool, "flit"), _table(tool, "uv", "build-backend"),
        {k: v for k, v in _table(tool, "pdm").items() if k not in ("dev-dependencies", "scripts", "source", "resolution")},
        {k: v for k, v in _table(tool, "poetry").items() if k not in ("dependencies", "dev-dependencies", "group", "source")},
    ]  # fmt: skip
    stack = list(roots)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack += list(value.keys()) + list(value.values())
        elif isinstance(value, list):
            stack += value


def _leaves(path: str, *, anchored: bool) -> bool:
    """A path that points out of the project: through ``..``, from the home directory, or an
    absolute path that exists here (unless ``anchored``: hatch's ``/tests`` means the
    project's own ``tests``)."""
    if ".." in re.split(r"[/\\]", path) or path.startswith("~"):
        return True
    return path.startswith("/") and not anchored and os.path.exists(path)


def _outside_inputs(source: Path, data: Mapping[str, Any]) -> tuple[list[tuple[str, Path]], str]:
    """The named files outside the project, and why not (a path out of it that is not one of them)."""
    named = _named_paths(data)
    allowed = {path for path in named if _leaves(path, anchored=False)}
    anchored = _table(data, "build-system").get("build-backend") == "hatchling.build"
    for text in _backend_strings(data):
        if _leaves(text, anchored=anchored) and text not in allowed and "://" not in text and " @ " not in text:
            return [], f"the backend's configuration names {text!r}, outside the project"
    for name in ("setup.cfg", "MANIFEST.in"):
        try:
            text = (source / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if re.search(r"(^|[\s=:\"',])(\.\.|~)[/\\]", text, re.MULTILINE):
            return [], f"{name} names a path outside the project"
    found: list[tuple[str, Path]] = []
    for path in sorted(allowed):
        matches = sorted(glob.glob(str(source / path), recursive=True)) if glob.has_magic(path) else [str(source / path)]
        for match in matches:
            real = Path(os.path.realpath(os.path.expanduser(match)))
            if real.is_dir():
                found += [(f"{path}/{rel}", file) for rel, file in _tree_files(real, real)]
            elif real.exists():
                found.append((os.path.relpath(match, source), real))
            else:
                found.append((f"{path} (missing)", Path(os.devnull)))
    return found + _vcs_inputs(source, _table(data, "build-system").get("build-backend")), ""


def _vcs_inputs(source: Path, backend: object) -> list[tuple[str, Path]]:
    """What decides which files version control ignores, outside the project's own tree:
    hatchling skips what the nearest ``.gitignore``/``.hgignore`` up to the repository's
    root ignores; poetry-core asks git, so what git tracks (its index) and
    ``.git/info/exclude`` count too."""
    found: list[tuple[str, Path]] = []
    directory = source.parent
    while True:
        for name in (".gitignore", ".hgignore"):
            if (directory / name).is_file():
                found.append((os.path.relpath(directory / name, source), directory / name))
        if (directory / ".git").exists() or (directory / ".hg").exists() or directory.parent == directory:
            break
        directory = directory.parent
    git = next((d / ".git" for d in (source, *source.parents) if (d / ".git").exists()), None)
    if git is not None and git.is_dir():
        extra = [git / "info" / "exclude", *([git / "index"] if backend == "poetry.core.masonry.api" else [])]
        found += [(os.path.relpath(path, source), path) for path in extra if path.is_file()]
    return found


def _project_files(source: Path, config_text: str) -> Iterator[tuple[str, Path]]:
    skipped_top = {name for name in _TOP_NON_INPUTS if not _named_in(name, config_text)}
    yield from _tree_files(source, source, skipped_top=skipped_top)


def _named_in(name: str, config_text: str) -> bool:
    """True when the configuration mentions ``name`` as a path (``"build/gen"``, ``'dist'``)."""
    return re.search(rf"[\"'/]{re.escape(name)}(/|[\"'])", config_text) is not None


def _tree_files(root: Path, directory: Path, *, skipped_top: Iterable[str] = ()) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of every file below ``directory``, sorted, by the rules above
    (``skipped_top``: directory names skipped at its top). Raise ``_LeadsOut`` for a link
    out of ``root``."""
    skipped = frozenset(skipped_top)
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[str, Path]] = [("", directory)]
    found: list[tuple[str, Path]] = []
    while stack:
        relative_dir, path = stack.pop()
        info = path.stat()
        if (info.st_dev, info.st_ino) in seen:
            continue  # a link back into a directory already read
        seen.add((info.st_dev, info.st_ino))
        for entry in os.scandir(path):
            name = entry.name
            relative = f"{relative_dir}/{name}" if relative_dir else name
            if entry.is_symlink():
                real = Path(os.path.realpath(entry.path))
                if real != root and root not in real.parents:
                    raise _LeadsOut(relative)
            if entry.is_dir():
                if name in _NEVER_INPUTS or name.endswith(".egg-info") or (not relative_dir and name in skipped):
                    continue
                if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue  # a virtual environment
                stack.append((relative, Path(entry.path)))
            elif not relative_dir and name in skipped:
                continue
            else:
                found.append((relative, Path(entry.path)))
                if len(found) > MAX_FILES:
                    raise _TooMany
    return iter(sorted(found))


def _file_identity(path: Path) -> tuple[str, ...]:
    """Mode, size and content hash of a file (followed through links); a special file by its
    kind only (never read: a FIFO would block)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return (f"broken link:{os.readlink(path)}",)
        raise
    if not stat.S_ISREG(info.st_mode):
        return (f"special:{stat.S_IFMT(info.st_mode):o}",)
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    executable = "x" if info.st_mode & 0o111 else "-"
    return (executable, str(info.st_size), digest.hexdigest())


def _installed(build_env: Path) -> list[str]:
    """The distributions in a build environment (``name-version.dist-info``), sorted: the
    backend's version and its plugins'. A missing environment lists nothing."""
    names: list[str] = []
    for site in sorted(glob.glob(str(build_env / "lib" / "python*" / "site-packages"))):
        try:
            names += [name for name in os.listdir(site) if name.endswith(".dist-info")]
        except OSError:
            continue
    return sorted(names)
