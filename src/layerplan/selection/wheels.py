"""Pick the best wheel of a locked package for a target, by tag priority."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from packaging import tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from layerplan.lockfiles.model import LockedFile, LockedPackage

__all__ = ["best_wheel", "describe_wheels", "wheel_filename"]

# PEP 427's escaped project name in a wheel file name, as ``packaging.utils`` checks it.
_WHEEL_NAME = re.compile(r"^[\w._]+\Z", re.UNICODE)


def wheel_filename(file: LockedFile) -> str | None:
    """The file's name: recorded, or the last path segment of its URL."""
    if file.filename:
        return file.filename
    if file.url:
        return unquote(posixpath.basename(urlsplit(file.url).path)) or None
    return None


def _wheel_tags(file: LockedFile) -> frozenset[tags.Tag]:
    """The tags of a valid wheel file name (none for an invalid one).

    A file name's parts are checked independently by ``parse_wheel_filename``, so its
    name-and-version part and its build-and-tags part are each parsed once per distinct
    value (the first is shared by a release's wheels, the second by many releases) on a
    stand-in name: the same answer, without parsing tags for every wheel of a big lock.
    """
    name = wheel_filename(file)
    if not name or not name.endswith(".whl"):
        return frozenset()
    stem = name[:-4]
    if stem.count("-") not in (4, 5):
        return frozenset()
    name_part, version_part, rest = stem.split("-", 2)
    if not _valid_head(name_part, version_part):
        return frozenset()
    return _tags_of(rest)


def _valid_head(name_part: str, version_part: str) -> bool:
    """What ``parse_wheel_filename`` requires of the name and version parts (PEP 427's
    escaped name; a PEP 440 version)."""
    return "__" not in name_part and _WHEEL_NAME.match(name_part) is not None and _valid_version(version_part)


@functools.lru_cache(maxsize=4096)
def _valid_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _tags_of(rest: str) -> frozenset[tags.Tag]:
    """``[build-]python-abi-platform`` -> tags (empty when packaging refuses it)."""
    try:
        return parse_wheel_filename(f"x-0-{rest}.whl")[3]
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
