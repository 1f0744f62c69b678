"""Stage 2: lockfiles of every common format, read into one ``Lock`` shape."""

from layerplan.lockfiles.detect import find_lock, read_lock
from layerplan.lockfiles.format import LockFormat
from layerplan.lockfiles.model import Dependency, Lock, LockedFile, LockedPackage, Source

__all__ = [
    "Dependency",
    "Lock",
    "LockFormat",
    "LockedFile",
    "LockedPackage",
    "Source",
    "find_lock",
    "read_lock",
]
