"""Where everything lives under the cache root: every area is named here, and only here.

Layout under the cache root (default :func:`default_cache_dir`)::

    blobs/sha256/<hex>               blobs by sha256: layers built, base layers pulled
    keys/<k[:2]>/<key>.json          a layer key -> {"digest", "diff_id", "size"}
    wheels/sha256/<hex>/<filename>   downloaded files by sha256, under their real name
                                     (the installer needs the wheel's file name)
    wheels/names/<hex>               the file name the index gives a sha256 (offline lookups)
    built-wheels/<key>/              a wheel built from an sdist (normalized) and build.json,
                                     by a key of what decides its bytes (sdist sha256, build
                                     requirements as resolved, ...: ``install.sdist_wheel``);
                                     or a local project's wheel, by the fingerprint of its
                                     inputs (``install.project_wheel``)
    sizes/<hex>                      "<size> <filename>" the index gives a sha256
    platforms/<hex>.json             what a base image digest holds: Python, libc, symlinks
    locations/<hex>.json             which repositories of which registries hold a blob
                                     (pushed, mounted, found or pulled there): mount sources
    build-envs/<key>/                a PEP 517 build environment per set of build requirements
    bytecode/<key>/                  the .pyc files of one installed wheel, by a key of what
                                     decides them (wheel sha256, Python, install path, ...:
                                     ``install.bytecode``)
    tmp/                             files being written: ``.<label>.tmp-*``
    leases/                          one locked ``.build.tmp-*`` per running build; the
                                     directory's own ``flock`` is the gate ``prune``
                                     closes (:mod:`~layerplan.cache.lease`)

A temporary's name (:func:`is_temporary`) anywhere in an area is a temporary too: a
directory being filled by :func:`~layerplan.cache.atomic.atomic_directory`, or a leftover
of an older layerplan (which also wrote downloads under ``wheels/tmp/``). Anything else
under the root is not layerplan's: ``cache info`` counts it as ``other`` and ``prune``
leaves it, so a wrong ``--cache-dir`` (a home directory with a ``tmp/``) loses nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from layerplan.cache.atomic import is_temp_name
from layerplan.errors import LayerplanError

__all__ = [
    "AREAS",
    "BLOBS",
    "BUILD_ENVS",
    "BUILT_WHEELS",
    "BYTECODE",
    "KEYS",
    "LEASES",
    "LICENSES",
    "LOCATIONS",
    "NAMES",
    "PLATFORMS",
    "SIZES",
    "TEMP",
    "WHEELS",
    "Area",
    "CacheError",
    "default_cache_dir",
    "is_temporary",
]


class CacheError(LayerplanError):
    """The local cache cannot be used, or a blob does not have the expected digest."""


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$LAYERPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/layerplan``, else ``~/.cache/layerplan``."""
    env = os.environ if environ is None else environ
    if env.get("LAYERPLAN_CACHE_DIR"):
        return Path(env["LAYERPLAN_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "layerplan"
    return Path.home() / ".cache" / "layerplan"


def is_temporary(name: str) -> bool:
    """A temporary's file or directory name: ``.<name>.tmp-*`` (:mod:`~layerplan.cache.atomic`)
    or ``*.part`` (what layerplan wrote before it); no entry's name looks like either."""
    return is_temp_name(name) or name.endswith(".part")


@dataclass(frozen=True, kw_only=True, slots=True)
class Area:
    """One kind of thing the cache keeps, in one directory."""

    name: str
    """What ``cache info`` and ``cache prune`` call it; areas sharing a name are summed."""
    path: str
    """Its directory, relative to the cache root (``/``-separated)."""
    entry: str
    """Regular expression for one entry's path relative to :attr:`path`; other names there
    (but temporaries) are not layerplan's. Unused for temp areas."""
    depth: int = 1
    """How many path components an entry has below :attr:`path` (2: fanned out by digest)."""
    suffix: str = ""
    """For record areas (one small file per key): what follows the key in the file name."""
    tree: bool = False
    """An entry is a directory, counted and removed whole (a build environment)."""
    temp: bool = False
    """It holds temporaries only: each is removed once its writer is gone, whatever its age."""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(self.entry))

    def under(self, root: Path) -> Path:
        """The area's directory in the cache at ``root``."""
        return root.joinpath(*self.path.split("/"))


_HEX = r"[0-9a-f]{64}"

BLOBS = Area(name="blobs", path="blobs/sha256", entry=_HEX)
KEYS = Area(name="keys", path="keys", entry=r"[0-9a-f]{2}/[0-9a-f]{16,128}\.json", depth=2)
WHEELS = Area(name="wheels", path="wheels/sha256", entry=_HEX + r"/[^/]+", depth=2)
NAMES = Area(name="names", path="wheels/names", entry=_HEX)
BUILT_WHEELS = Area(name="built-wheels", path="built-wheels", entry=_HEX, tree=True)
SIZES = Area(name="sizes", path="sizes", entry=_HEX)
PLATFORMS = Area(name="platforms", path="platforms", entry=r"[0-9a-f]{64,128}\.json", suffix=".json")  # any image digest
LOCATIONS = Area(name="locations", path="locations", entry=_HEX + r"\.json", suffix=".json")  # by sha256 blob digest
BYTECODE = Area(name="bytecode", path="bytecode", entry=_HEX, tree=True)
INTERPRETERS = Area(name="interpreters", path="interpreters", entry=_HEX + r"\.json", suffix=".json")  # by executable identity
LICENSES = Area(name="licenses", path="licenses", entry=_HEX + r"\.json", suffix=".json")  # by a key of what was read
BUILD_ENVS = Area(name="build-envs", path="build-envs", entry=r"[0-9a-f]{16,64}", tree=True)
TEMP = Area(name="temp", path="tmp", entry="", temp=True)
# A lease is a temporary whose writer is a running build: counted and pruned as one.
LEASES = Area(name="temp", path="leases", entry="", temp=True)
_OLD_WHEEL_TEMP = Area(name="temp", path="wheels/tmp", entry="", temp=True)

AREAS = (BLOBS, KEYS, WHEELS, NAMES, BUILT_WHEELS, BYTECODE, SIZES, PLATFORMS, LOCATIONS, INTERPRETERS, LICENSES, BUILD_ENVS, TEMP, LEASES, _OLD_WHEEL_TEMP)
"""Every area, in the order ``cache info`` shows them."""
