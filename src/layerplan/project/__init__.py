"""Stage 1: the project itself, read from ``pyproject.toml`` and its source tree."""

from layerplan.project.model import Project, WorkspaceMember, member_root
from layerplan.project.reader import read_project, workspace_of, workspace_root_of
from layerplan.project.sources import tree_digest

__all__ = ["Project", "WorkspaceMember", "member_root", "read_project", "tree_digest", "workspace_of", "workspace_root_of"]
