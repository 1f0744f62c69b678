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


def _platform_family(platform: str) -> str:
    """``macosx_11_0_arm64`` -> ``macosx``; ``manylinux_2_17_aarch64`` -> ``manylinux aarch64``."""
    if platform.startswith("macosx"):
        return "macosx"
    for family in ("manylinux", "musllinux"):
        if platform.startswith(family):
            return f"{family} {platform.rsplit('_', 1)[-1] if not platform.endswith('x86_64') else 'x86_64'}"
    return platform


def describe_wheels(package: LockedPackage) -> str:
    """What the package offers instead, for a "no wheel fits" message."""
    if not package.wheels:
        return "sdist only" if package.sdist is not None else "no files in the lock"
    tag_sets = [_wheel_tags(file) for file in package.wheels]
    families = sorted({_platform_family(tag.platform) for tags_ in tag_sets for tag in tags_})
    pythons = sorted({tag.interpreter for tags_ in tag_sets for tag in tags_})
    return f"wheels only for {', '.join(families)} ({', '.join(pythons)})" + (
        "; an sdist exists" if package.sdist else ""
    )
