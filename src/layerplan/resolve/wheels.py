"""Pick the best wheel of a locked package for a target, by tag priority."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from packaging import tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from layerplan.lockfiles.model import LockedFile, LockedPackage

__all__ = ["best_wheel", "describe_wheels", "wheel_filename"]


def wheel_filename(file: LockedFile) -> str | None:
    """The file's name: recorded, or the last path segment of its URL."""
    if file.filename:
        return file.filename
    if file.url:
        return unquote(posixpath.basename(urlsplit(file.url).path)) or None
    return None


def _wheel_tags(file: LockedFile) -> frozenset[tags.Tag]:
    name = wheel_filename(file)
    if not name or not name.endswith(".whl"):
        return frozenset()
    try:
        return parse_wheel_filename(name)[3]
    except InvalidWheelFilename:
        return frozenset()


def best_wheel(package: LockedPackage, priority: Mapping[tags.Tag, int]) -> LockedFile | None:
    """The wheel whose best tag ranks highest for the target, or ``None`` if none fits.

    Ties (two files with an equally good tag) keep lock order, which is stable.
    """
    best: tuple[int, LockedFile] | None = None
    for file in package.wheels:
        ranks = [priority[tag] for tag in _wheel_tags(file) if tag in priority]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), file)
    return best[1] if best else None


def describe_wheels(package: LockedPackage) -> str:
    """What the package offers instead, for a "no wheel fits" message."""
    platforms = sorted({tag.platform for file in package.wheels for tag in _wheel_tags(file)})
    pythons = sorted({tag.interpreter for file in package.wheels for tag in _wheel_tags(file)})
    if not package.wheels:
        return "sdist only" if package.sdist is not None else "no files in the lock"
    shown = ", ".join(platforms[:6]) + (", ..." if len(platforms) > 6 else "")
    return f"wheels only for {shown} ({', '.join(pythons[:6])})" + ("; an sdist exists" if package.sdist else "")
