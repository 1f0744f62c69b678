"""Where the build daemon of one interpreter and one layerplan listens.

One server serves exactly the commands it would run the same way in a fresh process: its
key covers the interpreter, ``sys.path`` (so a ``PYTHONPATH`` or another venv is another
server) and the environment variables that change how Python itself starts (``PYTHON*``,
the locale). The socket lives in a directory only the user can enter: the user's runtime
directory (``$XDG_RUNTIME_DIR``) or ``<tmp>/layerplan-<uid>``, never the cache directory,
whose path can be longer than a socket's 107 bytes and may be shared by a CI runner.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys

TYPE_CHECKING = False  # typing's own flag, without importing typing (the client's start)
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Address", "UnsafeDirectory", "address_for", "key_of", "runtime_directory", "startup_environment"]

_STARTUP_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE")


class UnsafeDirectory(Exception):
    """The socket directory exists but another user owns it or others may enter it."""


class Address:
    """The files of one server: ``socket`` it listens on, ``lock`` it holds while it lives,
    ``log`` its standard error (what went wrong when it could not start).

    A plain class, not a dataclass: the client imports this module on every command, and
    ``dataclasses`` (with ``inspect``) would be most of its import time.
    """

    __slots__ = ("key", "directory")

    def __init__(self, key: str, directory: str) -> None:
        self.key = key
        self.directory = directory

    @property
    def socket(self) -> str:
        return os.path.join(self.directory, f"{self.key}.sock")

    @property
    def lock(self) -> str:
        return os.path.join(self.directory, f"{self.key}.lock")

    @property
    def log(self) -> str:
        return os.path.join(self.directory, f"{self.key}.log")


def key_of(identity: object) -> str:
    """The key of a server that serves exactly what ``identity`` (JSON) describes."""
    return hashlib.sha256(json.dumps(identity, separators=(",", ":"), sort_keys=True).encode()).hexdigest()[:20]


_LONGEST_DIRECTORY = 107 - len("/01234567890123456789.sock")
"""A socket's path is at most 107 bytes (``sun_path``); a key is 20 characters."""


def _directory(environ: Mapping[str, str]) -> str:
    # tempfile.gettempdir()'s choice, without importing tempfile (random, shutil...) on every
    # command; one whose sockets' paths would be too long to bind is passed over.
    candidates = [(environ.get("XDG_RUNTIME_DIR"), "layerplan")]
    candidates += [(environ.get(name), f"layerplan-{os.getuid()}") for name in ("TMPDIR", "TEMP", "TMP")]
    for parent, name in candidates:
        if parent and os.path.isdir(parent) and len(os.fsencode(directory := os.path.join(parent, name))) <= _LONGEST_DIRECTORY:
            return directory
    return f"/tmp/layerplan-{os.getuid()}"


def runtime_directory(environ: Mapping[str, str]) -> str:
    """The directory of the servers' sockets, made (mode 0700) if missing.

    Raises :class:`UnsafeDirectory` when the directory is another user's or open to others:
    a socket there could be someone else's server, which would run this user's commands.
    """
    directory = _directory(environ)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UnsafeDirectory(f"{directory} is not a directory of this user's alone (mode {stat.filemode(info.st_mode)}, owner uid {info.st_uid})")
    return directory


def startup_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What of ``environ`` changes how Python starts: the server's whole environment. Each
    command's process gets its client's; the server, which outlives the command that
    started it by hours, keeps none of its other variables (a registry password, a token)."""
    return {name: value for name, value in environ.items() if name.startswith("PYTHON") or name in _STARTUP_VARIABLES}


def address_for(environ: Mapping[str, str]) -> Address:
    """The address of layerplan's own server for this process (see the module's doc);
    raises :class:`UnsafeDirectory` as :func:`runtime_directory` does."""
    startup = sorted(startup_environment(environ).items())
    return Address(key=key_of(["layerplan", sys.executable, sys.version, sys.path, startup]), directory=runtime_directory(environ))
