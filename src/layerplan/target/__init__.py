"""Stage 3: the target platform (Python version, os/arch, libc) and its markers and tags."""

from layerplan.target.model import Libc, Target
from layerplan.target.options import make_target, parse_platform, parse_python

__all__ = ["Libc", "Target", "make_target", "parse_platform", "parse_python"]
