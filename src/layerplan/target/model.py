"""The platform an image is built for, and what it implies for markers and wheel tags."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from packaging import tags

from layerplan.errors import TargetError
from layerplan.oci.platform import Platform

__all__ = ["ARCHES", "Libc", "Target"]

# OCI architecture name -> (machine as `platform.machine()` says it, wheel platform suffix)
ARCHES: dict[str, tuple[str, str]] = {
    "amd64": ("x86_64", "x86_64"),
    "arm64": ("aarch64", "aarch64"),
}

_OLDEST_MANYLINUX_GLIBC = 17  # manylinux2014 == manylinux_2_17; older wheels are rare and aliases cover them
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


@dataclass(frozen=True, slots=True, order=True)
class Libc:
    """The C library of the target: ``glibc`` or ``musl`` and its ``major.minor``."""

    family: Literal["glibc", "musl"]
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Libc:
        """Parse ``glibc-2.36`` / ``musl-1.2``; raise ``TargetError`` otherwise."""
        match = re.fullmatch(r"(glibc|musl)[-_ ]?(\d+)\.(\d+)", text.strip().lower())
        if not match:
            raise TargetError(
                f"invalid libc {text!r}",
                hint="write glibc-X.Y (e.g. glibc-2.36 for Debian 12) or musl-X.Y (e.g. musl-1.2 for Alpine)",
            )
        family: Literal["glibc", "musl"] = "glibc" if match.group(1) == "glibc" else "musl"
        return cls(family, int(match.group(2)), int(match.group(3)))

    def __str__(self) -> str:
        return f"{self.family}-{self.major}.{self.minor}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """A Linux container platform for CPython: everything that decides which wheel fits."""

    python_version: tuple[int, int]
    """``(3, 11)``: the interpreter's major and minor version."""
    python_full_version: str | None = None
    """``3.11.2`` when known (from the base image); markers on it use ``X.Y.0`` otherwise."""
    os: str
    arch: str
    """OCI architecture name: ``amd64`` or ``arm64`` (the default lives in ``target.options``)."""
    libc: Libc
    python_path: str | None = None
    """Interpreter path inside the base image (e.g. ``/usr/local/bin/python3.12``), when known."""

    def __post_init__(self) -> None:
        if self.os != "linux":
            raise TargetError(f"unsupported os {self.os!r}", hint="container images here are linux/amd64 or linux/arm64")
        if self.arch not in ARCHES:
            raise TargetError(f"unsupported architecture {self.arch!r}", hint=f"use one of {', '.join(ARCHES)}")
        if self.python_version[0] != 3 or self.python_version[1] < 8:
            raise TargetError(f"unsupported Python {self.python_version_text}", hint="use CPython 3.8 or newer")

    @property
    def python_version_text(self) -> str:
        """``3.11``."""
        return f"{self.python_version[0]}.{self.python_version[1]}"

    @property
    def platform(self) -> str:
        """``linux/amd64``."""
        return f"{self.os}/{self.arch}"

    @property
    def oci_platform(self) -> Platform:
        """The platform as an OCI index names it (what a base image is chosen by)."""
        return Platform(os=self.os, architecture=self.arch)

    @property
    def machine(self) -> str:
        """``x86_64`` / ``aarch64``, as ``platform.machine()`` says on the target."""
        return ARCHES[self.arch][0]

    def marker_environment(self) -> dict[str, str]:
        """The PEP 508 marker environment of this target (without ``extra``)."""
        full = self.python_full_version or f"{self.python_version_text}.0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": full,
            "python_version": self.python_version_text,
            "sys_platform": "linux",
        }

    def platform_tags(self) -> tuple[str, ...]:
        """Wheel platform tags the target accepts, best first (newest libc first)."""
        suffix = ARCHES[self.arch][1]
        out: list[str] = []
        if self.libc.family == "glibc":
            for minor in range(self.libc.minor, _OLDEST_MANYLINUX_GLIBC - 1, -1):
                out.append(f"manylinux_{self.libc.major}_{minor}_{suffix}")
                legacy = _LEGACY_MANYLINUX.get((self.libc.major, minor))
                if legacy:
                    out.append(f"{legacy}_{suffix}")
            if suffix == "x86_64":  # manylinux2010/1 exist only for x86 (and i686)
                out.extend(f"{legacy}_{suffix}" for key, legacy in _LEGACY_MANYLINUX.items() if key < (2, 17))
        else:
            out.extend(f"musllinux_{self.libc.major}_{minor}_{suffix}" for minor in range(self.libc.minor, -1, -1))
        out.append(f"linux_{suffix}")
        return tuple(out)

    def wheel_tags(self) -> tuple[tags.Tag, ...]:
        """Every wheel tag the target installs, in priority order (best first)."""
        return _wheel_tags(self.python_version, self.platform_tags())

    def tag_priority(self) -> dict[tags.Tag, int]:
        """Tag -> rank (0 is best); a wheel's rank is the best rank of its tags."""
        return _tag_priority(self.python_version, self.platform_tags())

    def describe(self) -> str:
        """``cpython3.11 linux/amd64 glibc-2.36``."""
        return f"cpython{self.python_version_text} {self.platform} {self.libc}"


@functools.lru_cache(maxsize=32)
def _wheel_tags(python_version: tuple[int, int], platforms: tuple[str, ...]) -> tuple[tags.Tag, ...]:
    cpython = tags.cpython_tags(python_version=python_version, platforms=platforms)
    generic = tags.compatible_tags(python_version=python_version, interpreter=f"cp{python_version[0]}{python_version[1]}", platforms=platforms)
    seen: dict[tags.Tag, None] = {}
    for tag in (*cpython, *generic):
        seen.setdefault(tag, None)
    return tuple(seen)


@functools.lru_cache(maxsize=32)
def _tag_priority(python_version: tuple[int, int], platforms: tuple[str, ...]) -> dict[tags.Tag, int]:
    return {tag: rank for rank, tag in enumerate(_wheel_tags(python_version, platforms))}
