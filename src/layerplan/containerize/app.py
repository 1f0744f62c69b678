"""The project's own wheel, started in the background as soon as a build begins.

Building it is a PEP 517 backend call in a subprocess (~0.15 s). Starting it before the
base image is fetched and the plan is made takes it off the path of a code-change
rebuild; when the app layer turns out to be cached, the result is simply not used.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from layerplan.install import build_wheel
from layerplan.project.model import Project, member_root

__all__ = ["AppWheel"]


class AppWheel:
    """``get()`` returns the project's wheel: given, or built (once) in the background."""

    def __init__(
        self, project: Project, package: str | None, *, epoch: int, env_cache: Path, prebuilt: Path | None = None
    ) -> None:
        self._prebuilt = prebuilt
        self._source = member_root(project, package)
        self._epoch = epoch
        self._env_cache = env_cache
        self._scratch = tempfile.TemporaryDirectory(prefix="layerplan-app-wheel-")
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="layerplan-app-wheel")
        self._future: Future[Path] | None = None
        # Only a project with a build backend is worth starting early: a virtual one
        # (a uv workspace root) has no app layer, and a legacy setup.py is not guessed at.
        if prebuilt is None and project.build_backend is not None:
            self._future = self._pool.submit(self._build)

    def _build(self) -> Path:
        return build_wheel(
            self._source, Path(self._scratch.name), source_date_epoch=self._epoch, env_cache=self._env_cache
        )

    def get(self, _scratch: Path | None = None) -> Path:
        """The wheel; raises what the backend raised (a ``BuildError``)."""
        if self._prebuilt is not None:
            return self._prebuilt
        if self._future is None:
            self._future = self._pool.submit(self._build)
        return self._future.result()

    def close(self) -> None:
        """Wait for a build still running (its output is not needed), then clean up."""
        self._pool.shutdown(wait=True)
        self._scratch.cleanup()

    def __enter__(self) -> AppWheel:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
