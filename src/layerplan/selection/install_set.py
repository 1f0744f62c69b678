"""Compute the install set: walk (graph locks) or filter (flat locks) for one target."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from packaging.markers import Marker
from packaging.tags import Tag
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from layerplan._toml import bulk
from layerplan.errors import ConfigError, LockMismatchError, TargetError
from layerplan.lockfiles.model import Dependency, Lock, LockedPackage
from layerplan.project.model import Project
from layerplan.selection.model import InstallItem, InstallSet
from layerplan.selection.wheels import best_wheel, describe_wheels
from layerplan.target.model import Target

__all__ = ["compute_install_set"]

_PROJECT = "<project>"
_T = TypeVar("_T")
_RELOCK_HINT = {
    "uv": "run `uv lock`",
    "pylock": "run `uv export --format pylock.toml -o pylock.toml` (or your tool's export)",
    "poetry": "run `poetry lock`",
    "pdm": "run `pdm lock`",
    "pipfile": "run `pipenv lock`",
    "requirements": "regenerate it, e.g. `uv pip compile --universal --generate-hashes`",
}


@bulk()  # builds an item per package while a big lock is on the heap: no collector scans meanwhile
def compute_install_set(
    project: Project,
    lock: Lock,
    target: Target,
    *,
    package: str | None = None,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> InstallSet:
    """The packages ``target`` installs for ``project`` (or its workspace member ``package``).

    Raises ``LockMismatchError`` when the project requires something the lock lacks, and
    ``TargetError`` when the lock does not support the target's Python.
    """
    root_name = canonicalize_name(package) if package else project.name
    _check_python(lock, target)
    extras_set = frozenset(canonicalize_name(e) for e in extras)
    root_entry = next((p for p in lock.packages if p.name == root_name), None)
    _check_extras(project, lock, root_entry, extras_set)
    groups_set = frozenset(canonicalize_name(g) for g in groups)
    if lock.graph:
        chosen = _walk(project, lock, target, root_name, extras_set, groups_set)
    else:
        chosen = _filter(project, lock, target, root_name, extras_set, groups_set)
    _check_roots_present(project, lock, target, root_name, {pkg.name for pkg, _ in chosen}, extras_set)
    members = set(lock.workspace_members) | {m.name for m in project.workspace_members}
    priority = target.tag_priority()  # once: it rebuilds the platform list on each call
    items = [
        _item(pkg, target, priority, required_by, pkg.name in members)
        for pkg, required_by in chosen
        if pkg.name != root_name and pkg.source.kind != "virtual"
    ]
    items.sort(key=lambda item: (item.name, item.version or ""))
    return InstallSet(
        target=target,
        project=root_name,
        lock_format=lock.format,
        items=tuple(items),
        indexes=lock.indexes,
        project_is_virtual=root_entry is not None and root_entry.source.kind == "virtual",
    )


def _check_extras(project: Project, lock: Lock, root: LockedPackage | None, extras: frozenset[str]) -> None:
    known = set(root.optional_dependencies) if root is not None and root.optional_dependencies else set()
    known |= {canonicalize_name(e) for e in project.optional_dependencies}
    unknown = sorted(extras - known)
    if unknown:
        raise ConfigError(
            f"extra {', '.join(map(repr, unknown))} is not defined by the project",
            path=project.pyproject_path,
            key="project.optional-dependencies",
            hint=f"extras: {', '.join(sorted(known)) or 'none'}",
        )


def _check_python(lock: Lock, target: Target) -> None:
    if not lock.requires_python:
        return
    try:
        spec = SpecifierSet(lock.requires_python)
    except InvalidSpecifier:
        return  # readers validate what they can; an odd range must not block planning
    version = target.python_full_version or f"{target.python_version_text}.0"
    if not spec.contains(version, prereleases=True):
        raise TargetError(
            f"the lock supports Python {lock.requires_python}, the target is Python {target.python_version_text}",
            path=lock.path,
            hint="pick a target Python the lock supports (--python X.Y) or re-lock for it",
        )


def _env(target: Target, extra: str = "") -> dict[str, str]:
    env = target.marker_environment()
    env["extra"] = extra
    return env


def _applies(marker: Marker | None, env: Mapping[str, str], extras: Iterable[str] = ("",)) -> bool:
    """A marker holds when it holds for the bare environment or for any active extra."""
    if marker is None:
        return True
    return any(marker.evaluate({**env, "extra": extra}) for extra in extras)


def _roots(
    project: Project, lock: Lock, root: LockedPackage | None, extras: frozenset[str], groups: frozenset[str]
) -> list[Dependency]:
    """The first edges of the walk: the lock's own root entry, else pyproject's requirements."""
    if root is not None:
        deps = list(root.dependencies)
        for extra in sorted(extras):
            deps.extend(root.optional_dependencies.get(extra, ()))
        for group in sorted(groups):
            deps.extend(_group(root.dependency_groups, group, lock))
        return deps
    if lock.roots is not None:
        return list(lock.roots)
    requirements: list[Requirement] = list(project.dependencies)
    for extra in sorted(extras):
        requirements.extend(project.optional_dependencies.get(extra, ()))
    for group in sorted(groups):
        requirements.extend(_group(project.dependency_groups, group, lock))
    return [
        Dependency(
            name=canonicalize_name(req.name),
            extras=tuple(sorted(canonicalize_name(e) for e in req.extras)),
            marker=req.marker,
            specifier=req.specifier or None,
        )
        for req in requirements
    ]


def _group(table: Mapping[str, tuple[_T, ...]], group: str, lock: Lock) -> tuple[_T, ...]:
    normalised: dict[str, tuple[_T, ...]] = {canonicalize_name(name): deps for name, deps in table.items()}
    if group not in normalised:
        known = ", ".join(sorted(normalised)) or "none"
        raise LockMismatchError(
            f"dependency group {group!r} is not in the lock (groups: {known})",
            path=lock.path,
            hint="check the --group name, or re-lock after adding it",
        )
    return normalised[group]


def _walk(
    project: Project,
    lock: Lock,
    target: Target,
    root_name: NormalizedName,
    extras: frozenset[str],
    groups: frozenset[str],
) -> list[tuple[LockedPackage, tuple[str, ...]]]:
    by_name: dict[str, list[LockedPackage]] = {}
    for pkg in lock.packages:
        by_name.setdefault(pkg.name, []).append(pkg)
    root_candidates = by_name.get(root_name, [])
    root = root_candidates[0] if root_candidates else None
    if root is None and root_name != project.name:
        raise LockMismatchError(
            f"package {root_name!r} is not in the lock",
            path=lock.path,
            hint="pass the name of a workspace member (--package), or re-lock",
        )
    env = _env(target)
    # (package identity, active extras) -> already expanded
    expanded: dict[tuple[str, str | None], set[str]] = {}
    required_by: dict[tuple[str, str | None], set[str]] = {}  # a set: a list's `in` made popular packages quadratic
    order: list[LockedPackage] = []
    queue: deque[tuple[Dependency, str, tuple[str, ...]]] = deque(
        (dep, _PROJECT, ("",)) for dep in _roots(project, lock, root, extras, groups)
    )
    while queue:
        dep, parent, parent_extras = queue.popleft()
        if not _applies(dep.marker, env, parent_extras):
            continue
        pkg = _pick(by_name, dep, lock, project, parent, env)
        identity = (pkg.name, pkg.version)
        if identity not in expanded:
            expanded[identity] = set()
            required_by[identity] = set()
            order.append(pkg)
        required_by[identity].add(parent)
        new_extras = [e for e in ("", *dep.extras) if e not in expanded[identity]]
        if not new_extras:
            continue
        expanded[identity].update(new_extras)
        for extra in new_extras:
            edges = pkg.dependencies if extra == "" else pkg.optional_dependencies.get(extra, ())
            for child in edges:
                queue.append((child, pkg.name, (extra,) if extra else ("",)))
    return [(pkg, tuple(sorted(required_by[(pkg.name, pkg.version)]))) for pkg in order]


def _pick(
    by_name: Mapping[str, list[LockedPackage]],
    dep: Dependency,
    lock: Lock,
    project: Project,
    parent: str,
    env: Mapping[str, str],
) -> LockedPackage:
    candidates = by_name.get(dep.name, [])
    if dep.version is not None:
        candidates = [c for c in candidates if c.version == dep.version] or candidates
    if len(candidates) > 1 and dep.specifier is not None:
        candidates = [c for c in candidates if c.version and dep.specifier.contains(c.version, prereleases=True)] or candidates
    if len(candidates) > 1:
        # several versions of one name (a forked resolution): the one whose own marker fits
        fitting = [c for c in candidates if c.marker is None or _applies(c.marker, env)]
        candidates = fitting or candidates
    if candidates:
        return candidates[0]
    if parent == _PROJECT:
        raise LockMismatchError(
            f"{dep.name!r} is required by pyproject.toml but is not in the lock",
            path=lock.path,
            hint=f"the lock is out of date: {_RELOCK_HINT.get(lock.format, 're-lock')}",
        )
    raise LockMismatchError(
        f"{dep.name!r} (required by {parent}) is not in the lock",
        path=lock.path,
        hint=f"the lock is incomplete: {_RELOCK_HINT.get(lock.format, 're-lock')}",
    )


def _filter(
    project: Project,
    lock: Lock,
    target: Target,
    root_name: NormalizedName,
    extras: frozenset[str],
    groups: frozenset[str],
) -> list[tuple[LockedPackage, tuple[str, ...]]]:
    env: dict[str, str | frozenset[str]] = {**_env(target)}
    active_groups = frozenset(canonicalize_name(g) for g in lock.default_groups) | groups
    if lock.extras_are_groups:
        active_groups |= extras
    env["extras"] = extras
    env["dependency_groups"] = active_groups
    # A flat lock has no graph, but pyproject.toml says which packages are direct: the
    # plan's "why" and the REQUESTED marker in the image then match a graph lock's.
    requirements = [*project.dependencies]
    for extra in sorted(extras):
        requirements.extend(project.optional_dependencies.get(extra, ()))
    for group in sorted(groups):
        requirements.extend(project.dependency_groups.get(group, ()))
    direct = {canonicalize_name(req.name) for req in requirements} if root_name == project.name else set()
    chosen: list[tuple[LockedPackage, tuple[str, ...]]] = []
    for pkg in lock.packages:
        if pkg.groups and not active_groups.intersection(canonicalize_name(g) for g in pkg.groups):
            continue
        if pkg.marker is not None and not pkg.marker.evaluate(env, "lock_file"):
            continue
        chosen.append((pkg, (_PROJECT,) if pkg.name in direct else ("<lock>",)))
    return chosen


def _check_roots_present(
    project: Project,
    lock: Lock,
    target: Target,
    root_name: NormalizedName,
    present: set[NormalizedName],
    extras: frozenset[str],
) -> None:
    """Every direct requirement of pyproject.toml that applies to the target must be installed.

    This catches a stale lock: a dependency added to pyproject.toml but not locked yet.
    """
    if root_name != project.name:
        return
    env = _env(target)
    requirements = list(project.dependencies)
    for extra in extras:
        requirements.extend(project.optional_dependencies.get(extra, ()))
    for req in requirements:
        name = canonicalize_name(req.name)
        if name not in present and _applies(req.marker, env):
            raise LockMismatchError(
                f"{req.name!r} is required by pyproject.toml but is not in the lock for {target.describe()}",
                path=lock.path,
                hint=f"the lock is out of date: {_RELOCK_HINT.get(lock.format, 're-lock')}",
            )


def _item(
    pkg: LockedPackage, target: Target, priority: Mapping[Tag, int], required_by: tuple[str, ...], member: bool
) -> InstallItem:
    common = dict(
        name=pkg.name,
        version=pkg.version,
        source=pkg.source,
        index=pkg.index,
        required_by=required_by,
        workspace_member=member,
    )
    if pkg.source.kind in ("directory", "editable", "git") or (
        pkg.source.kind in ("path", "url") and not pkg.wheels
    ):
        return InstallItem(choice="build", hashes=pkg.sdist.hashes if pkg.sdist else pkg.hashes, **common)  # type: ignore[arg-type]
    if not pkg.wheels and not pkg.sdist and pkg.hashes:
        return InstallItem(choice="lookup", hashes=pkg.hashes, **common)  # type: ignore[arg-type]
    if pkg.source.kind == "registry" and pkg.version is None and not (pkg.wheels or pkg.sdist or pkg.hashes):
        return InstallItem(choice="none", note="not pinned for this target (no version, no hashes): re-lock", **common)  # type: ignore[arg-type]
    wheel = best_wheel(pkg, priority)
    if wheel is not None:
        return InstallItem(choice="wheel", wheel=wheel, hashes=wheel.hashes, **common)  # type: ignore[arg-type]
    if pkg.source.kind == "registry" and pkg.sdist is not None and pkg.sdist.hashes:
        # Hashed only: the sdist's bytes decide the wheel built from it (and its cache key).
        return InstallItem(
            choice="sdist", sdist=pkg.sdist, hashes=pkg.sdist.hashes, note=describe_wheels(pkg), **common  # type: ignore[arg-type]
        )
    return InstallItem(
        choice="none",
        hashes=pkg.sdist.hashes if pkg.sdist else pkg.hashes,
        note=describe_wheels(pkg),
        **common,  # type: ignore[arg-type]
    )

