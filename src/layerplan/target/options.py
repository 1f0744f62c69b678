"""Target options as users write them, parsed once, with the one place defaults live.

Every front end (CLI flags, ``[tool.layerplan]``, ``[tool.hatch.build.targets.image]``,
``setup.py build_image``) hands its strings to these parsers, so ``linux/aarch64``,
``Linux/ARM64`` and ``linux/arm64/v8`` mean the same everywhere, and a bad value is the
same one-line error wherever it was written.
"""

from __future__ import annotations

import re

from packaging.specifiers import SpecifierSet

from layerplan.errors import TargetError
from layerplan.oci.platform import Platform
from layerplan.target.model import ARCHES, Libc, Target

__all__ = [
    "DEFAULT_LIBC",
    "DEFAULT_PLATFORM",
    "DEFAULT_PYTHON",
    "default_python",
    "make_target",
    "parse_platform",
    "parse_platforms",
    "parse_python",
]

DEFAULT_PYTHON = (3, 12)
"""Used when neither an option nor the base image says (``python:3.12-slim`` is the common base)."""
DEFAULT_PLATFORM = Platform(os="linux", architecture="amd64")
"""Used when neither an option nor the base image says (Jib's and ko's default too)."""
DEFAULT_LIBC = Libc("glibc", 2, 36)
"""Debian 12 (bookworm), the distribution of the official ``python:*-slim`` images."""
_KNOWN_MINORS = range(8, 15)
_ARCH_SPELLINGS = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "arm64/v8": "arm64"}


def parse_python(text: str) -> tuple[tuple[int, int], str | None]:
    """``3.11`` -> ``((3, 11), None)``; ``3.11.2`` -> ``((3, 11), "3.11.2")``."""
    match = re.fullmatch(r"(?:cpython|cp|python)?-?(3)\.(\d+)(?:\.(\d+))?", text.strip().lower())
    if not match:
        raise TargetError(f"invalid Python version {text!r}", hint="write MAJOR.MINOR, e.g. --python 3.12")
    version = (int(match.group(1)), int(match.group(2)))
    full = f"{version[0]}.{version[1]}.{match.group(3)}" if match.group(3) is not None else None
    return version, full


def parse_platform(text: str) -> Platform:
    """``linux/amd64`` -> ``Platform(linux, amd64)``: the one parser of platform text.

    Accepts ``x86_64``/``aarch64`` and ``linux/arm64/v8``; raises ``TargetError`` for
    anything layerplan cannot build (another OS, another architecture).
    """
    os_name, _, arch = text.strip().lower().partition("/")
    arch = _ARCH_SPELLINGS.get(arch, arch)
    if os_name != "linux" or arch not in ARCHES:
        raise TargetError(
            f"unsupported platform {text!r}", hint=f"use one of {', '.join('linux/' + a for a in ARCHES)}"
        )
    return Platform(os=os_name, architecture=arch)


def parse_platforms(text: str) -> tuple[Platform, ...]:
    """``linux/amd64,linux/arm64`` -> both, in the order written, each once; raise
    ``TargetError`` for an empty list or a platform :func:`parse_platform` refuses."""
    parts = [part for part in (p.strip() for p in text.split(",")) if part]
    if not parts:
        raise TargetError(f"no platform in {text!r}", hint="write OS/ARCH, e.g. linux/amd64,linux/arm64")
    return tuple(dict.fromkeys(parse_platform(part) for part in parts))


def default_python(requires_python: SpecifierSet | None) -> tuple[int, int]:
    """3.12 when ``requires_python`` allows it, else the newest known minor it allows."""
    if requires_python is None or requires_python.contains(f"{DEFAULT_PYTHON[0]}.{DEFAULT_PYTHON[1]}.0", prereleases=True):
        return DEFAULT_PYTHON
    allowed = [minor for minor in _KNOWN_MINORS if requires_python.contains(f"3.{minor}.0", prereleases=True)]
    if not allowed:
        raise TargetError(
            f"no known Python version satisfies requires-python {requires_python}",
            hint="pass --python X.Y",
        )
    return (3, max(allowed))


def make_target(
    *,
    python: str | None = None,
    platform: str | Platform | None = None,
    libc: str | Libc | None = None,
    requires_python: SpecifierSet | None = None,
) -> Target:
    """A target from option values; missing ones take the defaults above."""
    if python is not None:
        version, full = parse_python(python)
    else:
        version, full = default_python(requires_python), None
    chosen = platform if isinstance(platform, Platform) else parse_platform(platform) if platform else DEFAULT_PLATFORM
    return Target(
        python_version=version,
        python_full_version=full,
        os=chosen.os,
        arch=chosen.architecture,
        libc=libc if isinstance(libc, Libc) else Libc.parse(libc) if libc else DEFAULT_LIBC,
    )
