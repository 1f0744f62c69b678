"""Where things go inside the image: the target virtual environment's paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["TargetVenv", "staged"]

_MINOR = re.compile(r"^3\.\d+$")


def staged(staging: Path, path: PurePosixPath) -> Path:
    """The host path of image path ``path`` in the staging tree rooted at ``staging``."""
    if not path.is_absolute():
        raise ValueError(f"not an absolute image path: {path}")
    return Path(staging, *path.parts[1:])


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetVenv:
    """A virtual environment at ``prefix`` in the image, for CPython ``python_version``."""

    python_version: str
    """``major.minor`` of the image's interpreter, e.g. ``3.12``."""
    prefix: PurePosixPath = PurePosixPath("/app/.venv")

    def __post_init__(self) -> None:
        if not _MINOR.match(self.python_version):
            raise ValueError(f"python_version must be `3.X`, not {self.python_version!r}")
        if not isinstance(self.prefix, PurePosixPath) or not self.prefix.is_absolute():
            raise ValueError(f"the venv prefix must be an absolute POSIX path, not {self.prefix!r}")

    @property
    def bin(self) -> PurePosixPath:
        return self.prefix / "bin"

    @property
    def interpreter(self) -> PurePosixPath:
        """``<prefix>/bin/python``: what console scripts' shebangs name."""
        return self.bin / "python"

    @property
    def interpreter_links(self) -> tuple[PurePosixPath, ...]:
        """``bin/python``, ``bin/python3``, ``bin/python3.X``: links to the base interpreter."""
        return tuple(self.bin / name for name in ("python", "python3", f"python{self.python_version}"))

    @property
    def skeleton(self) -> tuple[PurePosixPath, ...]:
        """The files and links of the environment itself (``venv.make_venv`` writes them),
        which no package may replace: ``pyvenv.cfg``, the interpreter links, ``lib64``."""
        return (self.prefix / "pyvenv.cfg", *self.interpreter_links, self.prefix / "lib64")

    @property
    def site_packages(self) -> PurePosixPath:
        return self.prefix / "lib" / f"python{self.python_version}" / "site-packages"

    def headers(self, distribution: str) -> PurePosixPath:
        """Where a wheel's ``.data/headers`` go (as pip puts them in a venv)."""
        return self.prefix / "include" / "site" / f"python{self.python_version}" / distribution

    def scheme(self, distribution: str) -> dict[str, PurePosixPath]:
        """The install scheme (``purelib``, ``platlib``, ``scripts``, ``data``, ``headers``)."""
        return {
            "purelib": self.site_packages,
            "platlib": self.site_packages,
            "scripts": self.bin,
            "data": self.prefix,
            "headers": self.headers(distribution),
        }
