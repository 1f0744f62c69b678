"""What layerplan knows about a project: a frozen value read once from disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from layerplan.errors import ProjectError
from layerplan.project.about import About

__all__ = ["PEP517_FALLBACK_BACKEND", "PEP517_FALLBACK_REQUIRES", "Project", "WorkspaceMember", "member_root"]

PEP517_FALLBACK_BACKEND = "setuptools.build_meta:__legacy__"
PEP517_FALLBACK_REQUIRES = ("setuptools>=40.8.0",)
"""PEP 517's backend and requirements for a tree that declares none (pip's and build's):
the project reader, the kept build environment and the sdist builder all take them from here."""


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkspaceMember:
    """A member of a uv workspace: its normalised name and directory."""

    name: NormalizedName
    path: Path


@dataclass(frozen=True, kw_only=True, slots=True)
class Project:
    """A Python project as declared in its ``pyproject.toml``."""

    root: Path
    """Absolute directory that holds ``pyproject.toml``."""
    pyproject_path: Path
    name: NormalizedName
    """Normalised distribution name (PEP 503)."""
    display_name: str
    """The name as written in ``pyproject.toml``."""
    version: str | None
    """Static version, or ``None`` when the version is dynamic."""
    scripts: Mapping[str, str] = field(default_factory=dict)
    """``[project.scripts]``: console script name -> ``module:function``."""
    file_scripts: tuple[str, ...] = ()
    """A setuptools project's ``scripts=[...]`` files (names in the venv's ``bin/``)."""
    requires_python: SpecifierSet | None = None
    dependencies: tuple[Requirement, ...] = ()
    optional_dependencies: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict)
    dependency_groups: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict)
    """PEP 735 ``[dependency-groups]``, includes already expanded."""
    build_backend: str | None = None
    build_requires: tuple[str, ...] = ()
    source_paths: tuple[Path, ...] = ()
    """Files and directories that make up the app's own code (relative to ``root``)."""
    workspace_members: tuple[WorkspaceMember, ...] = ()
    """Members of a uv workspace rooted here (empty when this is not a workspace root)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[tool.layerplan]`` table; validated by the planner's config module."""
    image_target_table: Mapping[str, Any] | None = None
    """The raw ``[tool.hatch.build.targets.image]`` table (hatch's image target), when present."""
    virtual_root: bool = False
    """A uv workspace root with no ``[project]`` of its own (the layout of many service
    templates): nothing to build here, only its members (``--package``). ``name`` is then
    the directory's name."""
    pyproject_text: str = ""
    """The text of ``pyproject.toml``, kept to point errors at a line."""
    about: About = field(default_factory=About)
    """Description, license and URLs (the image's ``org.opencontainers.image.*`` labels)."""


def member_root(project: Project, member: str | None) -> Path:
    """The directory of workspace member ``member`` (the project's own root when ``None``).

    Raises ``ProjectError`` naming the members when there is no such member.
    """
    if not member:
        return project.root
    wanted = canonicalize_name(member)
    for candidate in project.workspace_members:
        if candidate.name == wanted:
            return project.root / candidate.path
    raise ProjectError(
        f"{member!r} is not a member of this workspace",
        path=project.pyproject_path,
        key="tool.uv.workspace.members",
        hint=f"members: {', '.join(m.name for m in project.workspace_members) or 'none'}",
    )
