"""What a warm server's children imported, imported by the server for the children after.

A server imports up front what it knows of (layerplan's preload list, a backend's module),
but much is imported only while a command runs: hatchling imports 170 modules of its
builders and plugins inside ``build_wheel`` (~0.07 s of its ~0.08 s). So each child, as
it ends, names the modules it imported that live under the server's ``sys.path`` (the
environment's packages and the standard library: never a module loaded from a file by
path, such as a project's ``hatch_build.py``, which is not importable by name), one per
line on a pipe; the server, between commands, imports them too. The next child then has
them, as the server's own code: the stale check watches their files from then on.
"""

from __future__ import annotations

import importlib
import os
import sys

__all__ = ["Learner"]


class Learner:
    """The pipe from the children to the server, and what goes through it."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self._roots = tuple(os.path.join(os.path.abspath(entry), "") for entry in sys.path if entry)
        self._pending = b""

    def before(self) -> frozenset[str]:
        """What is imported now (the child's starting point)."""
        return frozenset(sys.modules)

    def report(self, before: frozenset[str]) -> None:
        """In a child that ends: tell the server what it imported since ``before``."""
        for name, module in list(sys.modules.items()):
            if name not in before and self._importable(name, module):
                try:
                    os.write(self.write_fd, (name + "\n").encode())  # < PIPE_BUF: one write is atomic
                except OSError:
                    return

    def _importable(self, name: str, module: object) -> bool:
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if spec is None or getattr(spec, "name", None) != name or not isinstance(origin, str) or len(name) > 1000:
            return False
        return origin.startswith(self._roots)

    def learn(self) -> int:
        """In the server: import what the children reported (each once); how many were new."""
        try:
            while chunk := os.read(self.read_fd, 65536):
                self._pending += chunk
        except BlockingIOError:
            pass
        lines = self._pending.split(b"\n")
        self._pending = lines.pop()
        imported = 0
        for line in lines:
            name = line.decode("utf-8", "replace")
            if name and name not in sys.modules:
                try:
                    importlib.import_module(name)
                except BaseException:  # noqa: BLE001 - a module that fails here is imported by the child, as before
                    continue
                imported += 1
        return imported

    def close_in_child(self) -> None:
        os.close(self.read_fd)
