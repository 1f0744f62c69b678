"""Stage 3: the target platform (Python version, os/arch, libc) and its markers and tags."""

from layerplan.target.model import Libc, Target
from layerplan.target.options import (
    DEFAULT_LIBC,
    DEFAULT_PLATFORM,
    DEFAULT_PYTHON,
    default_python,
    make_target,
    parse_platform,
    parse_platforms,
    parse_python,
)

__all__ = [
    "DEFAULT_LIBC",
    "DEFAULT_PLATFORM",
    "DEFAULT_PYTHON",
    "Libc",
    "Target",
    "default_python",
    "make_target",
    "parse_platform",
    "parse_platforms",
    "parse_python",
]
