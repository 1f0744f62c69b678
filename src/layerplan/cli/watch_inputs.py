"""What ``layerplan watch`` watches: the trees a build's app and local layers are made from.

The same inputs the build fingerprints (``project.sources``): the project (its
``pyproject.toml`` and sources), the app's directory when it is a workspace member, the
lockfile's directory (the workspace, where local members live) and every local
(``path``/``directory``/``editable``) package the lock names. A change under a name the
digests skip (``.git``, ``.venv``, ``__pycache__``, ``dist``, ``build``, ``*.egg-info``...)
rebuilds nothing, and neither does one in the cache or in a file output (or its SBOMs) written inside
the project (nor in the temporaries it is staged in) -- else each build would start the next.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from layerplan.cache.temps import is_temp_name
from layerplan.planning import load_lock
from layerplan.project import workspace_of
from layerplan.project.sources import digest_skips
from layerplan.resolution.project import resolve_project
from layerplan.resolution.resolve import lock_path
from layerplan.resolution.resolved import Request
from layerplan.provenance import FILE_NAME as PROVENANCE_FILE
from layerplan.sbom.formats import FILE_NAMES

__all__ = ["WatchedInputs", "fallback_inputs", "watched_inputs"]

_LOCAL_KINDS = ("path", "directory", "editable")
_FILE_OUTPUTS = ("oci:", "oci-archive:", "docker-archive:")


@dataclass(frozen=True, kw_only=True, slots=True)
class WatchedInputs:
    """The paths a rebuild follows, and the ones inside them it does not."""

    roots: tuple[Path, ...]
    """Absolute, existing, none inside another."""
    excluded: tuple[Path, ...] = ()
    """Absolute: the cache and file outputs."""
    outputs: tuple[str, ...] = ()
    """The build's output specs, as configured (flags, else the project's tables)."""

    def wants(self, path: Path) -> bool:
        """True when a change to ``path`` (absolute) can change the image."""
        if any(path == place or place in path.parents for place in self.excluded):
            return False
        for root in self.roots:
            if path == root or root in path.parents:
                # A temporary of layerplan's own (an output staged beside its target) is
                # the build writing, not the user.
                relative = path.relative_to(root)
                return not (digest_skips(relative) or any(is_temp_name(part) for part in relative.parts))
        return False

    def describe(self) -> str:
        """``a, b and c`` (relative to the working directory where shorter)."""
        shown = [_short(root) for root in self.roots]
        return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def watched_inputs(request: Request) -> WatchedInputs:
    """The inputs of the build ``request`` describes. Reads the project and its lock (no
    base, no network); raise ``LayerplanError`` when they cannot be read -- the caller
    keeps watching what it watched before (or ``fallback_inputs``)."""
    resolved = resolve_project(request)
    project, app = resolved.project, resolved.app
    config = resolved.settings.config
    lock = load_lock(project, lock_path(config.lock, project.root, resolved.settings.origin("lock")))
    lock_dir = lock.path.parent.absolute()
    places = [project.root, app.root, lock_dir, lock.path]
    workspace = workspace_of(project)
    if workspace is not None:
        places.append(workspace.pyproject_path)  # its tables are options of the build
    places += [lock_dir / p.source.path for p in lock.packages if p.source.kind in _LOCAL_KINDS and p.source.path]
    excluded = [resolved.cache_dir]
    files = [spec.partition(":")[2] for spec in config.outputs if spec.startswith(_FILE_OUTPUTS)]
    # and the SBOMs and the provenance the build writes beside an oci:/oci-archive: output
    beside = [*FILE_NAMES.values(), PROVENANCE_FILE]
    excluded += [Path(target) for target in files] + [Path(f"{t}.{name}") for t in files for name in beside]
    if config.digest_file:
        excluded.append(Path(config.digest_file))
    return WatchedInputs(
        roots=_outermost(places), excluded=tuple(_absolute(p) for p in excluded), outputs=tuple(config.outputs)
    )


def fallback_inputs(project: Path) -> WatchedInputs:
    """The project directory alone: what a watch follows when the project cannot be read
    yet (a broken ``pyproject.toml`` at start), so that fixing it rebuilds."""
    root = _absolute(project)
    return WatchedInputs(roots=(root if root.is_dir() else root.parent,))


def _outermost(places: list[Path]) -> tuple[Path, ...]:
    """The existing ``places``, absolute, without those inside another (one watch each)."""
    found = sorted({_absolute(p) for p in places if p.exists()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for place in found:
        if not any(place == k or k in place.parents for k in kept):
            kept.append(place)
    return tuple(kept)


def _absolute(path: Path) -> Path:
    # normpath, not resolve(): the build reads through links, and so do change events.
    return Path(os.path.normpath(path.absolute()))


def _short(path: Path) -> str:
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return str(relative) if relative.parts else "."

