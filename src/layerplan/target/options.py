"""Build a ``Target`` from user options (CLI flags, ``[tool.layerplan]``), with defaults."""

from __future__ import annotations

import re

from packaging.specifiers import SpecifierSet

from layerplan.errors import TargetError
from layerplan.target.model import ARCHES, Libc, Target

__all__ = ["DEFAULT_LIBC", "DEFAULT_PYTHON", "make_target", "parse_platform", "parse_python"]

DEFAULT_PYTHON = (3, 12)
"""Used when neither an option nor the base image says (``python:3.12-slim`` is the common base)."""
DEFAULT_LIBC = "glibc-2.36"
"""Debian 12 (bookworm), the distribution of the official ``python:*-slim`` images."""
_KNOWN_MINORS = range(8, 15)


def parse_python(text: str) -> tuple[tuple[int, int], str | None]:
    """``3.11`` -> ``((3, 11), None)``; ``3.11.2`` -> ``((3, 11), "3.11.2")``."""
    match = re.fullmatch(r"(?:cpython|cp|python)?-?(3)\.(\d+)(?:\.(\d+))?", text.strip().lower())
    if not match:
        raise TargetError(f"invalid Python version {text!r}", hint="write MAJOR.MINOR, e.g. --python 3.12")
    version = (int(match.group(1)), int(match.group(2)))
    full = f"{version[0]}.{version[1]}.{match.group(3)}" if match.group(3) is not None else None
    return version, full


def parse_platform(text: str) -> tuple[str, str]:
    """``linux/amd64`` -> ``("linux", "amd64")``; accepts x86_64/aarch64 spellings too."""
    os_name, _, arch = text.strip().lower().partition("/")
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64/v8": "arm64"}.get(arch, arch)
    if os_name != "linux" or arch not in ARCHES:
        raise TargetError(
            f"unsupported platform {text!r}", hint=f"use one of {', '.join('linux/' + a for a in ARCHES)}"
        )
    return os_name, arch


def make_target(
    *,
    python: str | None = None,
    platform: str | None = None,
    libc: str | None = None,
    requires_python: SpecifierSet | None = None,
) -> Target:
    """A target from option strings; missing ones take defaults.

    Without ``python``, the default (3.12) is used when ``requires_python`` allows it,
    else the newest known minor version it allows, so ``plan`` works out of the box.
    """
    if python is not None:
        version, full = parse_python(python)
    else:
        version, full = _default_python(requires_python), None
    os_name, arch = parse_platform(platform) if platform else ("linux", "amd64")
    return Target(
        python_version=version,
        python_full_version=full,
        os=os_name,
        arch=arch,
        libc=Libc.parse(libc or DEFAULT_LIBC),
    )


def _default_python(requires_python: SpecifierSet | None) -> tuple[int, int]:
    if requires_python is None or requires_python.contains(f"{DEFAULT_PYTHON[0]}.{DEFAULT_PYTHON[1]}.0", prereleases=True):
        return DEFAULT_PYTHON
    allowed = [minor for minor in _KNOWN_MINORS if requires_python.contains(f"3.{minor}.0", prereleases=True)]
    if not allowed:
        raise TargetError(
            f"no known Python version satisfies requires-python {requires_python}",
            hint="pass --python X.Y",
        )
    return (3, max(allowed))
