"""The app backend's warm process, kept while layerplan's build daemon is on.

A code change's wheel is one ``build_wheel`` call in the app's kept build environment: a
fresh interpreter that imports the backend (hatchling, setuptools...) and builds, ~0.1 s
of which ~0.06 s is the interpreter's start and the import. With the daemon on, the first
such call starts ``_hook_server.py`` in the background for the next ones: the
environment's interpreter, in the project's directory, with the hook's environment, which
imports the backend once and forks a process per call. Each call still runs in a process
of its own, with the environment's packages only (PEP 517's isolation), having imported
the backend and done nothing else. A server's key holds its interpreter, project, backend,
``backend-path`` and the hook's whole environment, so a call is served only by a server
that would have run it the same way; one whose loaded code changed (the environment made
again, an in-tree backend edited) declines and exits, and the call runs as before.

The front end turns this on (:func:`keep_warm`) where it turns the daemon on; nothing
below decides it again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from layerplan.warm.address import Address, key_of
from layerplan.warm.process import WarmProcess, spawn_server

__all__ = ["IDLE_SECONDS", "keep_warm", "server_for", "spawn", "start"]

IDLE_SECONDS = 3600.0
"""A backend's server exits after an hour without a call (it holds ~20 MB)."""

_SERVER = Path(__file__).with_name("_hook_server.py")
_directory: str | None = None


def keep_warm(directory: str | None) -> None:
    """Keep the app backends warm, with their sockets in ``directory`` (the daemon's); ``None``: not."""
    global _directory
    _directory = directory


def server_for(python: Path, source: Path, backend: str, backend_path: tuple[str, ...], environ: Mapping[str, str]) -> Address | None:
    """The address of the warm server for these calls, or ``None`` when backends are not kept warm."""
    if _directory is None:
        return None
    identity = ["backend", str(python), str(source), backend, list(backend_path), sorted(environ.items())]
    return Address(key=key_of(identity), directory=_directory)


def start(address: Address, request: str, *, source: Path, environ: Mapping[str, str], out: BinaryIO, err: BinaryIO) -> WarmProcess | None:
    """The hook call ``request`` (the driver's JSON) run by the server at ``address``, its
    output in ``out`` and ``err``; ``None`` when none serves there (nothing ran)."""
    with open(os.devnull, "rb") as devnull:
        try:
            return WarmProcess.start(
                address, ["_hook_driver", request], cwd=str(source), env=environ, fds=[devnull.fileno(), out.fileno(), err.fileno()]
            )
        except TimeoutError:
            return None  # a server that does not answer (stopped, hung): the call runs in a process of its own


def spawn(address: Address, python: Path, source: Path, backend: str, backend_path: tuple[str, ...], environ: Mapping[str, str]) -> None:
    """Start the server for ``address`` in the background (nothing when it cannot start)."""
    settings = {
        "key": address.key, "directory": address.directory, "backend": backend, "backend_path": list(backend_path),
        "idle_seconds": IDLE_SECONDS,
    }  # fmt: skip
    try:
        spawn_server(address, [str(python), str(_SERVER), json.dumps(settings)], cwd=str(source), env=environ)
    except OSError:
        pass  # the next call runs as this one did
