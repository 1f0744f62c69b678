"""Read a project's ``pyproject.toml`` into a ``Project``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from layerplan._toml import line_of, load_toml
from layerplan.errors import ProjectError
from layerplan.project.legacy_tables import (
    pdm_dev_groups,
    poetry_dependencies,
    poetry_extras,
    poetry_groups,
    poetry_scripts,
)
from layerplan.project.about import read_about
from layerplan.project.model import PEP517_FALLBACK_BACKEND, PEP517_FALLBACK_REQUIRES, Project, WorkspaceMember
from layerplan.project.shapes import check_shapes

__all__ = ["read_project", "workspace_of", "workspace_root_of"]

_MAX_GROUP_DEPTH = 50
"""``include-group`` chains deeper than this are refused (no project has one)."""


def read_project(path: Path | str) -> Project:
    """Read the project at ``path`` (a directory or its ``pyproject.toml``).

    Raises ``ProjectError`` when the path or the file is missing or invalid.
    """
    path = Path(path).absolute()
    pyproject = path if path.name == "pyproject.toml" else path / "pyproject.toml"
    if not path.exists():
        raise ProjectError("project path does not exist", path=path, hint="pass the directory that holds pyproject.toml")
    legacy = not pyproject.is_file() and ((pyproject.parent / "setup.py").is_file() or (pyproject.parent / "setup.cfg").is_file())
    if not pyproject.is_file() and not legacy:
        raise ProjectError(
            "no pyproject.toml here",
            path=pyproject.parent,
            hint="run layerplan in (or pass) the directory that holds the project's pyproject.toml",
        )
    # A setup.py-only project (no pyproject.toml) is read as one with an empty pyproject,
    # as pip and `build` do.
    data, text = ({}, "") if legacy else load_toml(pyproject, ProjectError)
    check_shapes(data, pyproject, text)
    root = pyproject.parent
    table = _table(data, "project", pyproject, text)
    poetry = data.get("tool", {}).get("poetry", {})
    raw_name = table.get("name") or (poetry.get("name") if isinstance(poetry, dict) else None)
    virtual_root = not table and isinstance(data.get("tool", {}).get("uv", {}).get("workspace"), dict)
    if virtual_root:
        raw_name = root.name  # uv's own name for such a root: the members are the projects
    setup = None
    if not raw_name and not virtual_root:
        from layerplan.project.setup_py import read_setup_metadata  # setup.py/cfg projects only

        setup = read_setup_metadata(root)
    if setup is not None:
        raw_name = setup.name
    if not isinstance(raw_name, str) or not raw_name:
        raise ProjectError(
            "the project has no name",
            path=pyproject,
            line=line_of(text, "[project]"),
            key="project.name",
            hint="add name = \"...\" to [project]"
            + (" (setup.py's name is not a literal string, so it cannot be read without running it)" if setup else ""),
        )
    version = table.get("version")
    if version is None and isinstance(poetry, dict):
        # poetry-core reads [tool.poetry] version when [project] has none, listed in
        # `dynamic` (Poetry 2) or without a [project] table at all (Poetry 1).
        version = poetry.get("version")
    build_system = data.get("build-system", {})
    tool = data.get("tool", {})
    backend = build_system.get("build-backend")
    build_requires = tuple(build_system.get("requires", ()))
    if backend is None and (root / "setup.py").is_file():
        # PEP 517's fallback for a tree with setup.py and no declared backend (pip, build).
        backend, build_requires = PEP517_FALLBACK_BACKEND, build_requires or PEP517_FALLBACK_REQUIRES
    dependencies = _requirements(table.get("dependencies", []), "project.dependencies", pyproject, text)
    groups = _dependency_groups(data.get("dependency-groups", {}), pyproject, text)
    optional = {
        extra: _requirements(reqs, f"project.optional-dependencies.{extra}", pyproject, text)
        for extra, reqs in table.get("optional-dependencies", {}).items()
    }
    if isinstance(poetry, dict) and poetry and "dependencies" not in table:
        try:
            dependencies = dependencies or poetry_dependencies(poetry)
            groups = {**poetry_groups(poetry), **groups}
            optional = optional or poetry_extras(poetry)
        except ProjectError as exc:  # the legacy tables know the key, not the file
            leaf = (exc.key or "").rsplit(".", 1)[-1]
            exc.path, exc.line = pyproject, line_of(text, f"{leaf} =") or line_of(text, leaf)
            raise
    if isinstance(tool.get("pdm"), dict):
        groups = {**pdm_dev_groups(tool["pdm"]), **groups}
    scripts = _scripts(table, pyproject, text) or poetry_scripts(poetry if isinstance(poetry, dict) else {})
    requires_python = _specifier(table.get("requires-python"), pyproject, text)
    if setup is not None:
        version = version or setup.version
        scripts = scripts or setup.console_scripts
        requires_python = requires_python or _lenient_specifier(setup.requires_python)
        dependencies = dependencies or _lenient_requirements(setup.install_requires or ())
    return Project(
        root=root,
        pyproject_path=pyproject,
        name=canonicalize_name(raw_name),
        display_name=raw_name,
        version=str(version) if version is not None else None,
        scripts=scripts,
        file_scripts=setup.file_scripts if setup is not None else (),
        requires_python=requires_python,
        dependencies=dependencies,
        optional_dependencies=optional,
        dependency_groups=groups,
        build_backend=backend,
        build_requires=build_requires,
        source_paths=_source_paths(root, raw_name, data),
        workspace_members=_workspace_members(root, data, pyproject, text),
        config=data.get("tool", {}).get("layerplan", {}),
        image_target_table=_image_target(data, pyproject, text),
        virtual_root=virtual_root,
        pyproject_text=text,
        about=read_about(table, poetry if isinstance(poetry, dict) else {}),
    )


def workspace_root_of(member: Path) -> Path | None:
    """The nearest directory above ``member`` whose pyproject.toml declares a uv workspace
    (its lock covers the members), or ``None``."""
    for parent in Path(member).absolute().parents:
        pyproject = parent / "pyproject.toml"
        if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return parent
    return None


def workspace_of(project: Project) -> Project | None:
    """The uv workspace root ``project`` is a member of (listed in its
    ``tool.uv.workspace.members``), read; ``None`` when it is none's."""
    root = workspace_root_of(project.root)
    if root is None:
        return None
    workspace = read_project(root)
    member = project.root.resolve()
    return workspace if any((root / m.path).resolve() == member for m in workspace.workspace_members) else None


def _table(data: Mapping[str, Any], key: str, path: Path, text: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProjectError(f"[{key}] must be a table", path=path, line=line_of(text, key), key=key)
    return value


def _scripts(table: Mapping[str, Any], path: Path, text: str) -> dict[str, str]:
    scripts = table.get("scripts", {})
    if not isinstance(scripts, dict) or not all(isinstance(v, str) for v in scripts.values()):
        raise ProjectError(
            "[project.scripts] must map script names to 'module:function' strings",
            path=path,
            line=line_of(text, "[project.scripts]"),
            key="project.scripts",
        )
    return dict(scripts)


def _specifier(value: Any, path: Path, text: str) -> SpecifierSet | None:
    if value is None:
        return None
    try:
        return SpecifierSet(str(value))
    except InvalidSpecifier as exc:
        raise ProjectError(
            f"invalid requires-python {value!r}: {exc}",
            path=path,
            line=line_of(text, "requires-python"),
            key="project.requires-python",
        ) from exc


def _lenient_specifier(value: str | None) -> SpecifierSet | None:
    """setup.py's ``python_requires``: setuptools itself is lenient, so is this."""
    try:
        return SpecifierSet(value) if value else None
    except InvalidSpecifier:
        return None


def _lenient_requirements(values: tuple[str, ...]) -> tuple[Requirement, ...]:
    """setup.py's ``install_requires`` (informational here: the lock decides what is
    installed), skipping what ``packaging`` cannot read."""
    result = []
    for value in values:
        try:
            result.append(Requirement(value))
        except InvalidRequirement:
            continue
    return tuple(result)


def _requirements(values: Any, key: str, path: Path, text: str) -> tuple[Requirement, ...]:
    if not isinstance(values, list):
        raise ProjectError("must be a list of requirement strings", path=path, line=line_of(text, key.split(".")[-1]), key=key)
    result = []
    for value in values:
        try:
            result.append(Requirement(value))
        except (InvalidRequirement, TypeError) as exc:
            raise ProjectError(
                f"invalid requirement {value!r}: {_first_line(exc)}",
                path=path,
                line=line_of(text, str(value)),
                key=key,
                hint="write a PEP 508 requirement such as 'requests>=2.31; python_version >= \"3.10\"'",
            ) from exc
    return tuple(result)


def _dependency_groups(groups: Any, path: Path, text: str) -> dict[str, tuple[Requirement, ...]]:
    """Expand PEP 735 groups, following ``{include-group = "..."}`` entries."""
    if not isinstance(groups, dict):
        raise ProjectError("[dependency-groups] must be a table", path=path, key="dependency-groups")
    normalised: dict[str, Any] = {canonicalize_name(name): entries for name, entries in groups.items()}
    # Each group is expanded once (a chain of n groups costs n, not n squared).
    expanded: dict[str, tuple[Requirement, ...]] = {}

    def expand(name: str, seen: tuple[str, ...]) -> tuple[Requirement, ...]:
        if name in expanded:
            return expanded[name]
        if name in seen:
            raise ProjectError(f"dependency group {name!r} includes itself", path=path, key=f"dependency-groups.{name}")
        if name not in normalised:
            raise ProjectError(f"included dependency group {name!r} does not exist", path=path, key="dependency-groups")
        if len(seen) >= _MAX_GROUP_DEPTH:  # each level is a Python frame: stop well before RecursionError
            raise ProjectError(
                f"dependency groups include each other more than {_MAX_GROUP_DEPTH} levels deep",
                path=path, line=line_of(text, f"{name} ="), key=f"dependency-groups.{name}",
            )  # fmt: skip
        out: list[Requirement] = []
        if not isinstance(normalised[name], list):
            raise ProjectError(
                "must be an array of requirements and {include-group = ...} tables",
                path=path, line=line_of(text, f"{name} ="), key=f"dependency-groups.{name}",
            )  # fmt: skip
        for entry in normalised[name]:
            if isinstance(entry, dict) and "include-group" in entry:
                included = entry["include-group"]
                if not isinstance(included, str):
                    raise ProjectError(
                        f"`include-group` must be a group name (a string), not {included!r}",
                        path=path, line=line_of(text, "include-group"), key=f"dependency-groups.{name}",
                    )  # fmt: skip
                out.extend(expand(canonicalize_name(included), (*seen, name)))
            else:
                out.extend(_requirements([entry], f"dependency-groups.{name}", path, text))
        expanded[name] = tuple(out)
        return expanded[name]

    return {name: expand(name, ()) for name in normalised}


def _source_paths(root: Path, name: str, data: Mapping[str, Any]) -> tuple[Path, ...]:
    """Where the app's own code lives, relative to ``root``, best guess first.

    Hatchling's explicit ``packages`` wins; then the common layouts (``src/<pkg>``,
    ``<pkg>``, ``<pkg>.py``); then a whole ``src/``. Used only to key the app layer,
    so a guess that is too wide costs cache hits, never correctness.
    """
    tool = data.get("tool", {})
    wheel = tool.get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    packages = wheel.get("packages") if isinstance(wheel, dict) else None
    if isinstance(packages, list) and packages:
        return tuple(Path(p) for p in packages if _exists(root / p))
    import_name = canonicalize_name(name).replace("-", "_")
    for candidate in (Path("src") / import_name, Path(import_name), Path(f"{import_name}.py"), Path("src")):
        if _exists(root / candidate):
            return (candidate,)
    return ()


def _workspace_members(root: Path, data: Mapping[str, Any], path: Path, text: str) -> tuple[WorkspaceMember, ...]:
    workspace = data.get("tool", {}).get("uv", {}).get("workspace")
    if not isinstance(workspace, dict):
        return ()
    excluded = {p.resolve() for pattern in workspace.get("exclude", []) for p in _glob(root, pattern, "exclude", path, text)}
    members = []
    for pattern in workspace.get("members", []):
        for member_dir in sorted(_glob(root, pattern, "members", path, text)):
            if member_dir.resolve() in excluded or not (member_dir / "pyproject.toml").is_file():
                continue
            member_data, _ = load_toml(member_dir / "pyproject.toml", ProjectError)
            member_project = member_data.get("project", {})
            member_name = member_project.get("name") if isinstance(member_project, dict) else None
            if not isinstance(member_name, str) or not member_name:
                raise ProjectError(
                    "workspace member has no [project] name",
                    path=member_dir / "pyproject.toml",
                    hint=f"every directory matched by tool.uv.workspace.members ({pattern!r}) needs a [project] table",
                )
            members.append(WorkspaceMember(name=canonicalize_name(member_name), path=member_dir.relative_to(root)))
    return tuple(members)


def _exists(path: Path) -> bool:
    """``path.exists()``, but a name the system refuses (too long) is simply not there."""
    try:
        return path.exists()
    except OSError:
        return False


def _glob(root: Path, pattern: str, key: str, path: Path, text: str) -> list[Path]:
    """``root.glob(pattern)``, with a pattern pathlib refuses (empty, ``.``, ``a**``, a part
    longer than the system allows) reported as the ``tool.uv.workspace`` key it came from.
    A ``..`` part is refused too: members live under the root (as uv requires), and
    ``../../**`` would walk the whole file system."""

    def refused(problem: str, hint: str) -> ProjectError:
        return ProjectError(
            f"{pattern!r} {problem}", path=path, line=line_of(text, f"{key} =") or line_of(text, key),
            key=f"tool.uv.workspace.{key}", hint=hint,
        )  # fmt: skip

    if ".." in pattern.replace("\\", "/").split("/"):
        raise refused(
            "leads out of the workspace root",
            "workspace members live under the workspace root; depend on a package elsewhere with a path source",
        )
    try:
        return list(root.glob(pattern))
    except (ValueError, IndexError, NotImplementedError, OSError) as error:
        detail = str(error) if isinstance(error, (ValueError, OSError)) and str(error) else "not a usable glob"
        raise refused(f"is not a workspace glob: {detail}", 'give directories relative to the workspace root, e.g. "packages/*"') from None


def _image_target(data: Mapping[str, Any], path: Path, text: str) -> Mapping[str, Any] | None:
    targets = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
    table = targets.get("image") if isinstance(targets, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ProjectError(
            "[tool.hatch.build.targets.image] must be a table", path=path, line=line_of(text, "targets.image"),
            key="tool.hatch.build.targets.image",
        )
    return table


def _first_line(exc: Exception) -> str:
    """The message of a ``packaging`` error without the caret diagram under it."""
    return str(exc).partition("\n")[0]
