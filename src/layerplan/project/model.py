"""What layerplan knows about a project: a frozen value read once from disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

__all__ = ["Project", "WorkspaceMember"]


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
    pyproject_text: str = ""
    """The text of ``pyproject.toml``, kept to point errors at a line."""
