"""Stage 4: the install set — every package a target installs, each with its chosen wheel."""

from layerplan.resolve.install_set import compute_install_set
from layerplan.resolve.model import FileChoice, InstallItem, InstallSet

__all__ = ["FileChoice", "InstallItem", "InstallSet", "compute_install_set"]
