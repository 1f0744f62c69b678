"""The project's own wheel, started in the background as soon as the project is resolved.

Building it is a PEP 517 backend call in a subprocess (~0.1 s). On a rebuild its process
is started at once, before the HTTP, image and planning code is imported and the lock
and the base are read (``install.project_wheel.start_project_wheel``: the fingerprint is
taken, the backend's process started, nothing waited for); the build joins it where the
app layer needs the wheel. When nothing the wheel is built from changed, its fingerprint
finds the wheel built last time and no backend runs. A first build (the kept build
environment still to be made) and a front end's own wheel maker run in a thread instead.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from layerplan.cache.scratch import ScratchDirectory
from layerplan.cache.store import Store
from layerplan.errors import LayerplanError
from layerplan.install.pending import Pending
from layerplan.install.project_wheel import ProjectWheel, project_wheel, start_project_wheel
from layerplan.resolution.resolved import ResolvedProject

__all__ = ["AppWheel"]


class AppWheel:
    """``get()`` returns the project's wheel: given, or built (once) in the background.
    ``close()`` kills a backend still running whose wheel nobody asked for (a build that
    failed elsewhere, Ctrl-C) and removes what it wrote."""

    def __init__(self, resolved: ResolvedProject) -> None:
        given = resolved.app_wheel
        self._prebuilt = given if isinstance(given, Path) else None
        self._maker = given if callable(given) else None
        self._source = resolved.app_root
        self._name = resolved.app.display_name  # as the project reader read it: not again
        self._epoch = resolved.epoch
        store = Store(resolved.cache_dir)
        self._env_cache = store.build_envs
        self._store = store.built_wheels
        self._built: ProjectWheel | None = None
        self._scratch = ScratchDirectory("app-wheel")
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[Path] | None = None
        self._started: Pending[ProjectWheel] | None = None
        # Only a project with a build backend is worth starting early: a virtual one
        # (a uv workspace root) has no app layer, and a legacy setup.py is not guessed at.
        if self._prebuilt is None and (self._maker is not None or resolved.app.build_backend is not None):
            if self._maker is None:
                try:
                    self._started = start_project_wheel(
                        self._source, self._scratch.path, env_cache=self._env_cache, store=self._store,
                        name=self._name, source_date_epoch=self._epoch,
                    )  # fmt: skip
                except LayerplanError:
                    pass  # said where the wheel is needed, after the errors of the lock and the base
            if self._started is None:
                self._future = self._submit()

    def _submit(self) -> Future[Path]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="layerplan-app-wheel")
        return self._pool.submit(self._build)

    def _build(self) -> Path:
        if self._maker is not None:
            return self._maker(self._scratch.path)
        self._built = project_wheel(
            self._source, self._scratch.path, env_cache=self._env_cache, store=self._store, name=self._name,
            source_date_epoch=self._epoch,
        )  # fmt: skip
        return self._built.path

    @property
    def status(self) -> str | None:
        """``built`` (the backend ran), ``cached`` (found by its fingerprint), ``given`` (a
        front end made it); ``None`` while nothing asked for it."""
        if self._prebuilt is not None or self._maker is not None:
            return "given"
        if self._built is None:
            return None
        return "cached" if self._built.cached else "built"

    @property
    def fingerprint(self) -> str | None:
        """The fingerprint of the wheel's inputs (``None``: none, or not built)."""
        return self._built.fingerprint.digest if self._built is not None else None

    @property
    def building(self) -> bool:
        """Whether a backend is building the wheel now (its fingerprint missed): the app
        layer will then be built, and what it needs can start while it waits."""
        if self._started is not None:
            return not self._started.ready
        return self._future is not None and not self._future.done()

    def get(self, _scratch: Path | None = None) -> Path:
        """The wheel; raises what the backend raised (a ``BuildError``)."""
        if self._prebuilt is not None:
            return self._prebuilt
        if self._started is not None:
            self._built = self._started.result()
            return self._built.path
        if self._future is None:
            self._future = self._submit()
        return self._future.result()

    def close(self) -> None:
        """Stop a backend still running (its output is not needed) and clean up; a build in
        the thread (a first build's environment being made) is waited for."""
        try:
            if self._started is not None:
                self._started.stop()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._scratch.cleanup()

    def __enter__(self) -> AppWheel:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
