"""Turn each planned layer into a reproducible layer blob, or take it from the cache.

A layer is rebuilt only when its cache key is new. The key is the plan's key plus what
else decides the bytes here (the time stamp and whether bytecode was compiled), so a
cache hit is always byte-identical to a rebuild.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from layerplan.cache.store import BlobCache, Store
from layerplan.fetch import Fetcher, WantedFile, tag_rank
from layerplan.image.build import build_layer_into_cache, cached_layer
from layerplan.image.model import Layer as ImageLayer
from layerplan.image.tarlayer import LayerOptions
from layerplan.install import TargetVenv, compile_tree, find_interpreter, install_wheel, local_wheel, make_venv
from layerplan.install.errors import BuildError
from layerplan.install.local_source import local_source_path
from layerplan.plan.model import PlannedLayer
from layerplan.plan.model import LayerPlan
from layerplan.selection.model import InstallItem

__all__ = ["BuiltLayer", "LayerBuilder", "describe_layer"]

CacheStatus = Literal["built", "cached"]


@dataclass(frozen=True, kw_only=True, slots=True)
class BuiltLayer:
    """A planned layer as an image layer, and whether this build made it."""

    planned: PlannedLayer
    layer: ImageLayer
    status: CacheStatus
    created_by: str


def describe_layer(layer: PlannedLayer, plan: LayerPlan) -> str:
    """The ``history.created_by`` line: what the layer holds, as ``docker history`` shows it."""
    if layer.kind == "environment":
        return f"layerplan: environment: venv {plan.venv} -> {plan.target.python_path} (Python {plan.target.python_version_text})"
    if layer.kind == "app":
        version = f" {plan.project_version}" if plan.project_version else ""
        return f"layerplan: app: {plan.project_name}{version}"
    names = ", ".join(f"{item.name}=={item.version}" if item.version else str(item.name) for item in layer.packages)
    if len(names) > 400:
        names = names[:397] + "..."
    return f"layerplan: {layer.name}: {names}"


class LayerBuilder:
    """Builds the file layers of one plan into the blob cache."""

    def __init__(
        self,
        plan: LayerPlan,
        *,
        cache: BlobCache,
        fetcher: Fetcher,
        epoch: int,
        base_symlinks: Mapping[str, str],
        project_root: Path,
        lock_dir: Path,
        app_wheel: Callable[[Path], Path],
        compile_bytecode: bool,
    ) -> None:
        self.plan = plan
        self.cache = cache
        self.fetcher = fetcher
        self.epoch = epoch
        self.options = LayerOptions(epoch=epoch, base_symlinks=dict(base_symlinks))
        self.project_root = project_root
        self.lock_dir = lock_dir
        self.app_wheel = app_wheel
        self.venv = TargetVenv(python_version=plan.target.python_version_text, prefix=PurePosixPath(plan.venv))
        self.interpreter = find_interpreter(self.venv.python_version) if compile_bytecode else None
        self.compile_bytecode = compile_bytecode
        self.env_cache = Store(cache.root).build_envs
        self.warnings: list[str] = []
        if compile_bytecode and self.interpreter is None:
            self.warnings.append(
                f"bytecode not compiled: no Python {self.venv.python_version} on this machine "
                f"(install one, e.g. `uv python install {self.venv.python_version}`, to ship .pyc files)"
            )

    @property
    def bytecode_state(self) -> str:
        return "compiled" if self.compile_bytecode and self.interpreter is not None else "none"

    def cache_key(self, layer: PlannedLayer) -> str:
        """The plan's key plus what this builder adds to the bytes."""
        text = f"{layer.key}:epoch={self.epoch}:bytecode={self.bytecode_state}"
        return hashlib.sha256(text.encode()).hexdigest()

    def build_all(self) -> list[BuiltLayer]:
        """Every file layer of the plan in order, cached ones reused; fetches what is missing."""
        file_layers = [layer for layer in self.plan.layers if layer.kind != "config"]
        hits = {layer.name: cached_layer(self.cache, self.cache_key(layer)) for layer in file_layers}
        missing = [layer for layer in file_layers if hits[layer.name] is None]
        wheels = self._fetch([item for layer in missing for item in layer.packages if not _builds_locally(item)])
        # Layers are independent: build them side by side (gzip and the bytecode compiler
        # run outside the GIL), biggest first so the longest one starts at once.
        order = sorted(missing, key=lambda layer: -(layer.estimated_size or 0))
        with ThreadPoolExecutor(max(1, min(len(order), os.cpu_count() or 1)), thread_name_prefix="layerplan-layer") as pool:
            futures = {layer.name: pool.submit(self._build_one, layer, wheels) for layer in order}
            fresh = {name: future.result() for name, future in futures.items()}
        return [
            BuiltLayer(planned=layer, layer=hit, status="cached", created_by=describe_layer(layer, self.plan))
            if (hit := hits[layer.name]) is not None
            else BuiltLayer(planned=layer, layer=fresh[layer.name], status="built", created_by=describe_layer(layer, self.plan))
            for layer in file_layers
        ]

    def _build_one(self, layer: PlannedLayer, wheels: Mapping[str, Path]) -> ImageLayer:
        with tempfile.TemporaryDirectory(prefix=f"layerplan-{layer.name}-") as tmp:
            staging = Path(tmp) / "root"
            staging.mkdir()
            self._populate(layer, staging, wheels, Path(tmp))
            return build_layer_into_cache(staging, self.cache, options=self.options, key=self.cache_key(layer))

    def _fetch(self, items: Sequence[InstallItem]) -> dict[str, Path]:
        """Download (or find in the cache) the wheel of every registry item; name -> path."""
        rank = tag_rank(self.plan.target.wheel_tags())
        wanted: list[WantedFile] = []
        for item in items:
            if item.wheel is not None and item.wheel.url:
                wanted.append(
                    WantedFile.from_url(item.name, item.wheel.url, item.wheel.hashes, size=item.wheel.size, filename=item.wheel.filename)
                )
            elif item.wheel is not None:
                wanted.append(
                    WantedFile.from_index(item.name, item.version, item.wheel.hashes, filename=item.wheel.filename, index=item.index, rank=rank)
                )
            else:
                wanted.append(WantedFile.from_index(item.name, item.version, item.hashes, index=item.index, rank=rank))
        fetched = self.fetcher.fetch(wanted)
        return {str(item.name): file.path for item, file in zip(items, fetched, strict=True)}

    def _populate(self, layer: PlannedLayer, staging: Path, wheels: Mapping[str, Path], scratch: Path) -> None:
        if layer.kind == "environment":
            if not self.plan.target.python_path:
                raise BuildError("the base image's interpreter path is unknown", hint="build on a Python base image")
            make_venv(staging, self.venv, PurePosixPath(self.plan.target.python_path), version=self.plan.target.python_full_version)
            return
        if layer.kind == "app":
            wheel = self.app_wheel(scratch)
            install_wheel(wheel, staging, self.venv, requested=True)
        for item in layer.packages:
            package_wheel = wheels.get(str(item.name)) if not _builds_locally(item) else self._local_wheel(item, scratch)
            assert package_wheel is not None  # every registry item of a missing layer was fetched
            install_wheel(package_wheel, staging, self.venv, requested=item.required_by == ("<project>",))
        if self.interpreter is not None:
            result = compile_tree(staging, self.venv, interpreter=self.interpreter)
            if result.failed:
                self.warnings.append(f"{layer.name}: {len(result.failed)} file(s) did not compile (kept as source)")

    def _local_wheel(self, item: InstallItem, scratch: Path) -> Path:
        """Build (or take) the wheel of a local package: path, directory, workspace member, git."""
        out = scratch / f"wheel-{item.name}"
        out.mkdir(exist_ok=True)
        source = local_source_path(item, self.lock_dir, scratch)
        return local_wheel(source, out, name=str(item.name), source_date_epoch=self.epoch, env_cache=self.env_cache)

def _builds_locally(item: InstallItem) -> bool:
    """Local trees and files come from disk (or git), never from an index."""
    return item.choice == "build" or item.source.kind in ("path", "directory", "editable", "git")
