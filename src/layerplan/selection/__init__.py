"""Stage 4: the install set — every package a target installs, each with its chosen wheel."""

from layerplan.selection.install_set import compute_install_set
from layerplan.selection.model import FileChoice, InstallItem, InstallSet

__all__ = ["FileChoice", "InstallItem", "InstallSet", "compute_install_set"]
