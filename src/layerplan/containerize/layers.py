"""Turn each planned layer into a reproducible layer blob, or take it from the cache.

A layer is rebuilt only when its cache key is new. The key is the plan's key plus what
else decides the bytes here (the time stamp and whether bytecode was compiled), so a
cache hit is always byte-identical to a rebuild.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from layerplan._units import format_size
from layerplan.cache.scratch import scratch_directory
from layerplan.cache.store import BlobCache, Store
from layerplan.events import Progress, StageAdvanced, StageFinished, StageStarted, no_progress
from layerplan.fetch.model import FetchedFile, WantedFile, tag_rank
from layerplan.image.build import build_layer_into_cache, cached_layer
from layerplan.image.model import Layer as ImageLayer
from layerplan.image.tarlayer import Compression, LayerOptions
from layerplan.install.bytecode import Compiler, find_compiler, start_compiler
from layerplan.install.layout import TargetVenv
from layerplan.install.errors import BuildError
from layerplan.materialize import LocalSource, MaterializedLayer, MaterializedPlan, RemoteWheel
from layerplan.plan.model import LayerPlan, PlannedLayer

if TYPE_CHECKING:  # the sdist builder loads only for a plan that has sdists
    from layerplan.containerize.registry_cache import ReusedLayer
    from layerplan.fetch.fetcher import Fetcher
    from layerplan.install.wheel import InstalledWheel
    from layerplan.containerize.source_builder import ContainerBuilder
    from layerplan.install.sdist_wheel import SdistWheel

__all__ = ["BuiltLayer", "LayerBuilder", "build_key", "describe_layer"]

CacheStatus = Literal["built", "cached", "reused"]


@dataclass(frozen=True, kw_only=True, slots=True)
class BuiltLayer:
    """A planned layer as an image layer, and whether this build made it."""

    planned: PlannedLayer
    layer: ImageLayer
    status: CacheStatus
    """``built`` here, ``cached`` (the local cache had it) or ``reused`` (a cache image had it)."""
    created_by: str
    build_key: str | None
    """The layer's key in the local cache (:meth:`LayerBuilder.cache_key`), which the
    manifest records so a later build can reuse the layer from the registry; ``None`` for
    the app layer, which is never reused from there: its key holds the digest of the
    app's wheel, which differs between front ends (hatch's in-process wheel, a PEP 517
    build) that make the very same layer, so recording it would make their images differ."""
    reused_from: str | None = None
    """The cache image a ``reused`` layer comes from."""


def build_key(
    plan_key: str, *, epoch: int, bytecode: str, compression: Compression, app_wheel: str | None = None, sdist: str | None = None
) -> str:
    """A layer's key in the local cache (and the ``dev.layerplan.key`` a push records): the
    plan's key plus everything else that decides the layer's compressed bytes here -- the
    time stamp, whether bytecode is compiled, the compressor's identity, the app wheel's
    digest, how wheels are made from sdists. A cache or a registry layer made with another
    compressor has another key, so it is never taken for this one."""
    text = f"{plan_key}:epoch={epoch}:bytecode={bytecode}:{compression.identity}"
    if app_wheel is not None:
        text += f":wheel={app_wheel}"
    if sdist is not None:
        text += f":sdist={sdist}"
    return hashlib.sha256(text.encode()).hexdigest()


def describe_layer(layer: PlannedLayer, plan: LayerPlan) -> str:
    """The ``history.created_by`` line: what the layer holds, as ``docker history`` shows it."""
    if layer.kind == "environment":
        return (
            f"layerplan: environment: venv {plan.venv} -> {plan.target.python_path} "
            f"(Python {plan.target.python_version_text}), HOME {plan.settings['home']} owned by {plan.settings['user']}"
        )
    if layer.kind == "app":
        version = f" {plan.project_version}" if plan.project_version else ""
        return f"layerplan: app: {plan.project_name}{version}"
    names = ", ".join(f"{item.name}=={item.version}" if item.version else str(item.name) for item in layer.packages)
    if len(names) > 400:
        names = names[:397] + "..."
    return f"layerplan: {layer.name}: {names}"


def _sdist_as_last_resort(wanted: WantedFile) -> WantedFile:
    """An index lookup that may pick the package's sdist when no wheel fits the target
    (only a lookup by hashes: a lock that names files has already chosen)."""
    if wanted.url is not None or wanted.filename is not None:
        return wanted
    rank = wanted.rank or tag_rank()

    def wheel_else_sdist(filename: str) -> int | None:
        found = rank(filename)
        if found is not None:
            return found
        return _SDIST_RANK if filename.endswith((".tar.gz", ".zip")) else None

    return dataclasses.replace(wanted, rank=wheel_else_sdist)


_SDIST_RANK = 1 << 30
"""After every wheel."""


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


class LayerBuilder:
    """Builds the file layers of one materialized plan into the blob cache."""

    def __init__(
        self,
        materialized: MaterializedPlan,
        *,
        cache: BlobCache,
        fetcher: Callable[[], Fetcher],
        epoch: int,
        base_symlinks: Mapping[str, str],
        app_wheel: Callable[[Path], Path],
        compile_bytecode: bool,
        app_wheel_building: Callable[[], bool] = lambda: False,
        source_builder: Callable[[str], ContainerBuilder] | None = None,
        reuse: Callable[[str], ReusedLayer | None] | None = None,
        progress: Progress = no_progress,
    ) -> None:
        """``progress`` hears of each layer built (``layer NAME``: install, compile,
        compress); a layer taken from the cache is not work and says nothing."""
        self.materialized = materialized
        self.progress = progress
        self.plan = materialized.plan
        self.cache = cache
        self.fetcher = fetcher
        """Makes the fetcher (once): the download stack loads only when something is fetched."""
        self.epoch = epoch
        uid, gid = (int(part) for part in self.plan.settings["user"].split(":"))
        self.home = PurePosixPath(self.plan.settings["home"])
        # HOME is the one path the user owns; everything else in the layers is root's.
        self.options = LayerOptions(epoch=epoch, base_symlinks=dict(base_symlinks), owners=((str(self.home).lstrip("/"), uid, gid),))
        self.app_wheel = app_wheel
        self.app_wheel_building = app_wheel_building
        """Whether a backend builds the app's wheel now (then the app layer will be built)."""
        self._app_compiler: Compiler | None = None
        self.source_builder = source_builder
        """Makes the builder of sdists that need compiling (the argument says which one
        asked); called at most once, and only when one does."""
        self._container_builder: ContainerBuilder | None = None
        self.reuse = reuse
        """Finds a layer the local cache lacks in a cache image, by its build key (see
        ``registry_cache``); asked before anything is fetched for the layer."""
        self.venv = TargetVenv(python_version=self.plan.target.python_version_text, prefix=PurePosixPath(self.plan.venv))
        # The target's Python decides, never the host's: its 3.X.Y's compiler when the
        # host has it (a pyc can differ between patch releases), and the key names it.
        store = Store(cache.root)
        compiler = (
            find_compiler(self.venv.python_version, self.plan.target.python_full_version, memo=store.interpreters)
            if compile_bytecode
            else None
        )
        self.interpreter = compiler[0] if compiler else None
        self.compiler_version = compiler[1] if compiler else None
        self.compile_bytecode = compile_bytecode
        self.env_cache = store.build_envs
        self.built_wheels = store.built_wheels
        self.bytecode = store.bytecode
        self._wheel_sha256: dict[Path, str] = {}
        """sha256 of each registry wheel fetched (or built from its sdist), by path: the
        key of its bytecode in the store."""
        self.warnings: list[str] = []
        self._app_digest: str | None = None
        self.from_source: list[SdistWheel] = []
        """The wheels this build needed from sdists, built or taken from the store, in plan order."""
        if compile_bytecode and self.interpreter is None:
            self.warnings.append(
                f"bytecode not compiled: no Python {self.venv.python_version} on this machine "
                f"(install one, e.g. `uv python install {self.venv.python_version}`, to ship .pyc files)"
            )

    @property
    def bytecode_state(self) -> str:
        if not self.compile_bytecode or self.interpreter is None:
            return "none"
        return f"compiled:{self.compiler_version}"

    def cache_key(self, layer: MaterializedLayer) -> str:
        """The plan's key plus what this builder adds to the bytes -- and, for the app, the
        digest of the wheel the backend built: the plan can only guess which files the
        backend takes (a ``py-modules`` module, the readme, package data...), the wheel is
        what the layer holds, so a cache hit is never stale code."""
        sdist = None
        if any(remote.sdist is not None for remote in layer.remote):
            from layerplan.install.sdist_wheel import SDIST_WHEEL_FORMAT

            sdist = SDIST_WHEEL_FORMAT  # how a wheel is made from an sdist decides these bytes too
        return build_key(
            layer.key, epoch=self.epoch, bytecode=self.bytecode_state, compression=self.options.compression,
            app_wheel=self._app_wheel_digest() if layer.planned.kind == "app" else None, sdist=sdist,
        )  # fmt: skip

    def _app_wheel_digest(self) -> str:
        if self._app_digest is None:
            wheel = self.app_wheel(Path(tempfile.gettempdir()))
            digest = hashlib.sha256()
            with wheel.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
            self._app_digest = digest.hexdigest()
        return self._app_digest

    def build_all(self) -> list[BuiltLayer]:
        """Every file layer of the plan in order: from the local cache, else (but the app's)
        from a cache image (``reuse``), else built; fetches what the built ones need.

        The app layer is looked up last: its key needs the app's wheel, which is still
        building in the background while the other layers are fetched and built.
        """
        file_layers = [layer for layer in self.materialized.layers if layer.planned.kind != "config"]
        others = [layer for layer in file_layers if layer.planned.kind != "app"]
        keys = {layer.planned.name: self.cache_key(layer) for layer in others}
        hits = {layer.planned.name: cached_layer(self.cache, keys[layer.planned.name]) for layer in others}
        reused: dict[str, ReusedLayer] = {}
        for layer in others:
            self._reuse_if_missing(layer.planned.name, keys[layer.planned.name], hits, reused)
        missing = [layer for layer in others if hits[layer.planned.name] is None and layer.planned.name not in reused]
        wheels = self._fetch([wheel for layer in missing for wheel in layer.remote])
        # Layers are independent: build them side by side (gzip and the bytecode compiler
        # run outside the GIL), biggest first so the longest one starts at once.
        order = sorted(missing, key=lambda layer: -(layer.planned.estimated_size or 0))
        apps = [layer for layer in file_layers if layer.planned.kind == "app"]
        if apps and self.interpreter is not None and self.app_wheel_building():
            # A backend builds a new wheel, so the app layer will be built: its bytecode
            # compiler's interpreter starts now, beside the backend, not after it (~0.02 s).
            self._app_compiler = start_compiler(self.interpreter)
        try:
            with ThreadPoolExecutor(max(1, min(len(file_layers), os.cpu_count() or 1)), thread_name_prefix="layerplan-layer") as pool:
                futures = {layer.planned.name: pool.submit(self._build_one, layer, wheels) for layer in order}
                for app in apps:
                    name = app.planned.name
                    keys[name] = self.cache_key(app)
                    hits[name] = cached_layer(self.cache, keys[name])
                    if hits[name] is None:
                        futures[name] = pool.submit(self._build_one, app, wheels)
                fresh = {key: future.result() for key, future in futures.items()}
        finally:
            if self._app_compiler is not None:
                self._app_compiler.stop()  # unused: the layer was in the cache after all
        return [self._result(layer, keys[layer.planned.name], hits, reused, fresh) for layer in file_layers]

    def _reuse_if_missing(
        self, name: str, key: str, hits: Mapping[str, ImageLayer | None], reused: dict[str, ReusedLayer]
    ) -> None:
        if hits[name] is None and self.reuse is not None:
            found = self.reuse(key)
            if found is not None:
                reused[name] = found

    def _result(
        self,
        layer: MaterializedLayer,
        key: str,
        hits: Mapping[str, ImageLayer | None],
        reused: Mapping[str, ReusedLayer],
        fresh: Mapping[str, ImageLayer],
    ) -> BuiltLayer:
        name, created_by = layer.planned.name, describe_layer(layer.planned, self.plan)
        hit = hits[name]
        build_key = key if layer.planned.kind != "app" else None
        if hit is not None:
            return BuiltLayer(planned=layer.planned, layer=hit, status="cached", created_by=created_by, build_key=build_key)
        if name in reused:
            return BuiltLayer(
                planned=layer.planned, layer=reused[name].layer, status="reused", created_by=created_by, build_key=build_key,
                reused_from=reused[name].source,
            )  # fmt: skip
        return BuiltLayer(planned=layer.planned, layer=fresh[name], status="built", created_by=created_by, build_key=build_key)

    def _build_one(self, layer: MaterializedLayer, wheels: Mapping[str, Path]) -> ImageLayer:
        stage = f"layer {layer.planned.name}"
        self.progress(StageStarted(stage=stage, detail=layer.planned.kind, total_bytes=layer.planned.estimated_size))
        timings: dict[str, float] = {}
        with scratch_directory(layer.planned.name) as tmp:
            staging = tmp / "root"
            staging.mkdir()
            reused = self._populate(layer, staging, wheels, tmp, timings)
            self.progress(StageAdvanced(stage=stage, detail="compress"))
            started = time.monotonic()
            built = build_layer_into_cache(
                staging, self.cache, options=self.options, key=self.cache_key(layer), built_for=layer.key
            )
            timings["compress"] = time.monotonic() - started
        size = built.descriptor.size
        summary = f"built {format_size(size)}" + (f" (bytecode of {', '.join(reused)} from the cache)" if reused else "")
        self.progress(StageFinished(stage=stage, summary=summary, bytes=size, timings=tuple(timings.items())))
        return built

    def _fetch(self, remote: Sequence[RemoteWheel]) -> dict[str, Path]:
        """Download (or find in the cache) the wheel of every registry package, or its sdist
        and the wheel built from it; name -> wheel path."""
        if not remote:
            return {}
        with_wheel = [wheel for wheel in remote if wheel.wanted is not None]
        wanted = [_sdist_as_last_resort(wheel.wanted) for wheel in with_wheel if wheel.wanted is not None]
        from_source = [wheel for wheel in remote if wheel.sdist is not None]
        fetched = self.fetcher().fetch([*wanted, *(wheel.sdist for wheel in from_source if wheel.sdist is not None)])
        wheels = {str(file.wanted.name): file.path for file in fetched[: len(wanted)]}
        self._wheel_sha256.update((file.path, file.sha256) for file in fetched[: len(wanted)] if file.filename.endswith(".whl"))
        # A lock of hashes only (requirements, Pipfile.lock) cannot say a package has no
        # wheel for the target: the index lookup finds that out, and takes its sdist then.
        looked_up = [(wheel, file) for wheel, file in zip(with_wheel, fetched, strict=False) if not file.filename.endswith(".whl")]
        for wheel, sdist in [*looked_up, *zip(from_source, fetched[len(wanted) :], strict=True)]:
            stage = f"sdist {wheel.item.name}"
            self.progress(StageStarted(stage=stage, detail=sdist.filename))
            started = time.monotonic()
            built = self._wheel_from_sdist(wheel, sdist)
            self.progress(
                StageFinished(
                    stage=stage, summary=f"wheel built ({built.backend})", skipped=built.cached,
                    timings=(("build", time.monotonic() - started),),
                )  # fmt: skip
            )
            self.from_source.append(built)
            wheels[str(wheel.item.name)] = built.wheel
            self._wheel_sha256[built.wheel] = _sha256(built.wheel)
        return wheels

    def _wheel_from_sdist(self, remote: RemoteWheel, sdist: FetchedFile) -> SdistWheel:
        """The wheel of a package built from source; its build requirements come from the
        lock's indexes (the materialized plan's), as the package's own files do."""
        from layerplan.install.errors import ImpureWheelError
        from layerplan.install.sdist_wheel import open_sdist, wheel_from_sdist

        name, version = str(remote.item.name), remote.item.version
        with scratch_directory(f"sdist-{remote.item.name}") as scratch:
            try:
                return wheel_from_sdist(
                    sdist.path, name=name, version=version, sha256=sdist.sha256, url=sdist.url, store=self.built_wheels,
                    indexes=self.materialized.indexes, scratch=Path(scratch) / "host",
                )  # fmt: skip
            except ImpureWheelError as impure:
                if self.source_builder is None:
                    raise
                if self._container_builder is None:
                    self._container_builder = self.source_builder(impure.message)
                source = open_sdist(
                    sdist.path, name=name, version=version, sha256=sdist.sha256, url=sdist.url, scratch=Path(scratch) / "container"
                )
                return self._container_builder.wheel(source, indexes=self.materialized.indexes, scratch=Path(scratch))

    def _populate(
        self, layer: MaterializedLayer, staging: Path, wheels: Mapping[str, Path], scratch: Path, timings: dict[str, float]
    ) -> tuple[str, ...]:
        """Install the layer's files into ``staging`` (and compile them); ``timings`` gets
        the seconds each step took. Return the wheels whose bytecode came from the store."""
        stage = f"layer {layer.planned.name}"
        # The compiler's interpreter starts now and waits: its start overlaps the install.
        compiles = self.interpreter is not None and layer.planned.kind != "environment"
        compiler = self._app_compiler if layer.planned.kind == "app" else None
        self._app_compiler = None if compiler is not None else self._app_compiler
        if compiler is None and compiles and self.interpreter is not None:
            compiler = start_compiler(self.interpreter)
        try:
            self.progress(StageAdvanced(stage=stage, detail="install"))
            started = time.monotonic()
            installed = self._install(layer, staging, wheels, scratch)
            timings["install"] = time.monotonic() - started
            if self.interpreter is None or compiler is None:
                return ()
            self.progress(StageAdvanced(stage=stage, detail="compile"))
            started = time.monotonic()
            from layerplan.install.compiled import compile_layer

            result = compile_layer(
                staging, self.venv, installed, interpreter=self.interpreter, store=self.bytecode, compiler=compiler
            )
            timings["compile"] = time.monotonic() - started
        finally:
            if compiler is not None:
                compiler.stop()  # not used (every pyc from the store), or a failure: not left waiting
        if result.failed:
            self.warnings.append(f"{layer.planned.name}: {len(result.failed)} file(s) did not compile (kept as source)")
        return result.reused

    def _install(
        self, layer: MaterializedLayer, staging: Path, wheels: Mapping[str, Path], scratch: Path
    ) -> list[tuple[InstalledWheel, str | None]]:
        """Install the layer's wheels; return each with its sha256 when its bytecode may be
        kept in the store (registry wheels), in install order."""
        # Loaded only when a layer is built: ``installer`` and the venv code are not needed
        # when every layer is in the cache (a no-change rebuild).
        from layerplan.install.venv import make_venv
        from layerplan.install.wheel import install_wheel

        kind = layer.planned.kind
        installed: list[tuple[InstalledWheel, str | None]] = []
        if kind == "environment":
            if not self.plan.target.python_path:
                raise BuildError("the base image's interpreter path is unknown", hint="build on a Python base image")
            make_venv(staging, self.venv, PurePosixPath(self.plan.target.python_path), version=self.plan.target.python_full_version)
            (staging / self.home.relative_to("/")).mkdir(parents=True, exist_ok=True)
            return installed
        if kind == "app":
            wheel = self.app_wheel(scratch)
            installed.append((install_wheel(wheel, staging, self.venv, requested=True), None))
        for remote in layer.remote:
            path = wheels[str(remote.item.name)]
            done = install_wheel(path, staging, self.venv, requested=remote.item.required_by == ("<project>",))
            installed.append((done, self._wheel_sha256.get(path)))
        for local in layer.local:
            wheel = self._local_wheel(local, scratch)
            installed.append((install_wheel(wheel, staging, self.venv, requested=local.item.required_by == ("<project>",)), None))
        return installed

    def _local_wheel(self, local: LocalSource, scratch: Path) -> Path:
        """Build (or take) the wheel of a local package: path, directory, workspace member, git, URL."""
        from layerplan.install.local_source import check_local_hash, local_source_path
        from layerplan.install.pep517 import local_wheel

        name = str(local.item.name)
        out = scratch / f"wheel-{name}"
        out.mkdir(exist_ok=True)
        if local.kind == "url":
            if local.wanted is None:
                raise BuildError(f"{name}: the lock gives no URL for this url source", hint="re-lock")
            (fetched,) = self.fetcher().fetch([local.wanted])
            source = fetched.path
        else:
            source = local_source_path(local, scratch)
        check_local_hash(local, source)
        return local_wheel(source, out, name=name, source_date_epoch=self.epoch, env_cache=self.env_cache)
