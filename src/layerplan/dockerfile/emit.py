"""``layerplan dockerfile``: a plan becomes a build context directory.

The context holds the Dockerfile, its ``.dockerignore``, one hash-pinned requirements
file per dependency layer, the wheels of the local packages and of the app (built here),
the pip wheel that installs them, and with ``--offline`` every registry wheel.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from layerplan.dockerfile.context import check_output, staged_output
from layerplan.dockerfile.errors import DockerfileError, OfflineError
from layerplan.dockerfile.ignore import dockerignore_text
from layerplan.dockerfile.installer import fetch_pip, pip_for
from layerplan.dockerfile.local import local_file, wheel_or_sdist
from layerplan.dockerfile.model import (
    WHEELHOUSE,
    ContextLayout,
    DependencyStep,
    DockerfileOptions,
    Flavour,
    LocalStep,
)
from layerplan.dockerfile.render import render_dockerfile
from layerplan.dockerfile.requirements import requirements_file, step_filename
from layerplan.dockerfile.wheelhouse import WheelhouseFile, fetch_wheelhouse
from layerplan.cache.built_wheels import BuiltWheels
from layerplan.cache.scratch import scratch_directory
from layerplan.cache.store import Store
from layerplan.events import Progress, no_progress
from layerplan.fetch import Fetcher
from layerplan.materialize import MaterializedLayer, MaterializedPlan
from layerplan.transports import registry_reference
from layerplan.plan.model import LayerPlan
from layerplan.resolution import Request, materialize_build, plan_build, resolve_build
from layerplan.resolution.resolved import AppWheelSource
from layerplan.target.model import Target

__all__ = ["DockerfileRequest", "EmittedContext", "default_base", "emit_context", "qualify_base"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DockerfileRequest:
    """What ``layerplan dockerfile`` was asked for."""

    build: Request
    """The project and its options, as for every back end (``layerplan.resolution``)."""
    output: Path
    flavour: Flavour = "portable"
    offline: bool = False
    force: bool = False
    """Replace a non-empty output directory."""
    quiet: bool = True
    """No line while it waits for the cache (a ``cache prune`` running)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EmittedContext:
    """What was written."""

    output: Path
    plan: LayerPlan
    options: DockerfileOptions
    layout: ContextLayout
    files: tuple[tuple[str, int], ...]
    """Every file of the context (path relative to it, size in bytes), sorted."""
    warnings: tuple[str, ...] = ()


def default_base(target: Target) -> str:
    """The official Python image for ``target``: ``python:X.Y-slim`` (``-alpine`` for musl)."""
    flavour = "alpine" if target.libc.family == "musl" else "slim"
    return f"docker.io/library/python:{target.python_version_text}-{flavour}"


def qualify_base(reference: str) -> str:
    """``reference`` with its registry spelled out (buildah and kaniko need it), without
    a ``docker://`` (skopeo's spelling of the same image); raise ``DockerfileError`` when
    it is not an image reference."""
    try:
        return str(registry_reference(reference))
    except ValueError as error:
        raise DockerfileError(f"base image: {error}", key="--base", hint="e.g. python:3.12-slim or registry.example/python:3.12") from None


def emit_context(
    request: DockerfileRequest, *, fetcher: Fetcher | None = None, progress: Progress = no_progress
) -> EmittedContext:
    """Resolve and plan the project, then write its build context to ``request.output``.

    The base is the configured one (its target read from it, as a direct build does),
    else ``python:X.Y-slim`` for the target. The directory appears whole or not at all.
    Raise ``LayerplanError`` subclasses: bad project, lock or options,
    ``OutputDirError``, ``LocalBuildError`` for a local package or the app that cannot
    be built, ``FetchError``/``OfflineError`` for ``--offline``. ``progress`` hears of
    the downloads (the ``fetch`` stage).
    """
    with (
        resolve_build(dataclasses.replace(request.build, allow_missing_wheels=True)) as resolved,
        # The wheels it copies into the context come from the cache: `cache prune` waits.
        Store(resolved.cache_dir).lease(say=None if request.quiet else _say),
    ):
        resolved.require_one_platform("a Dockerfile")
        output = check_output(request.output, force=request.force, project_root=resolved.project.root)
        plan = plan_build(resolved)
        materialized = materialize_build(resolved, plan)
        options = DockerfileOptions(
            base=qualify_base(resolved.config.base or default_base(resolved.target)),
            flavour=request.flavour,
            offline=request.offline,
            compile_bytecode=resolved.config.compile_bytecode,
        )
        own_fetcher: list[Fetcher] = []

        def get_fetcher() -> Fetcher:
            if fetcher is not None:
                return fetcher
            if not own_fetcher:
                own_fetcher.append(Fetcher(resolved.cache_dir, indexes=materialized.indexes, progress=progress))
            return own_fetcher[0]

        try:
            with staged_output(output) as staging:
                writer = _Writer(
                    staging, materialized, options, get_fetcher, app_wheel=resolved.app_wheel, epoch=resolved.epoch,
                    built_wheels=Store(resolved.cache_dir).built_wheels,
                )
                layout = writer.write()
                (staging / "Dockerfile").write_text(render_dockerfile(plan, layout, options), encoding="utf-8")
                (staging / ".dockerignore").write_text(dockerignore_text(layout.copied_files), encoding="utf-8")
                files = tuple(
                    sorted((p.relative_to(staging).as_posix(), p.stat().st_size) for p in staging.rglob("*") if p.is_file())
                )
        finally:
            for own in own_fetcher:
                own.http.close()
    warnings = tuple(dict.fromkeys([*plan.warnings, *writer.warnings]))
    return EmittedContext(output=output, plan=plan, options=options, layout=layout, files=files, warnings=warnings)


class _Writer:
    """Writes every file but the Dockerfile into the staging directory; returns the layout."""

    def __init__(
        self,
        root: Path,
        materialized: MaterializedPlan,
        options: DockerfileOptions,
        fetcher: Callable[[], Fetcher],
        *,
        app_wheel: AppWheelSource,
        epoch: int,
        built_wheels: BuiltWheels,
    ) -> None:
        self.root = root
        self.materialized = materialized
        self.plan = materialized.plan
        self.options = options
        self.fetcher = fetcher
        self.app_wheel = app_wheel
        self.epoch = epoch
        self.built_wheels = built_wheels
        self.warnings: list[str] = []

    def write(self) -> ContextLayout:
        pip = pip_for(self.plan.target.python_version)
        pip_path = self._copy(fetch_pip(pip, self.fetcher()), f"layerplan/{pip.filename}")
        layout = ContextLayout(
            pip_wheel=pip_path,
            python=self.plan.target.python_path or f"python{self.plan.target.python_version_text}",
            venv=self.plan.venv,
        )
        registry = [wheel for layer in self.materialized.layers if layer.planned.kind == "dependencies" for wheel in layer.remote]
        wheels = (
            fetch_wheelhouse(
                registry, self.plan.target, self.fetcher(), built_wheels=self.built_wheels, indexes=self.materialized.indexes
            )
            if self.options.offline
            else {}
        )
        dependencies: list[DependencyStep] = []
        for number, layer in enumerate(self.materialized.layers, 1):
            kind = layer.planned.kind
            if kind == "environment":
                layout = dataclasses.replace(layout, environment_number=number)
            elif kind == "dependencies" and layer.remote:
                dependencies.append(self._dependency_step(number, layer, wheels))
            elif kind == "local" and layer.local:
                layout = dataclasses.replace(layout, local=self._local_step(number, layer))
            elif kind == "app":
                app_file, in_image = self._app()
                layout = dataclasses.replace(layout, app_wheel=app_file, app_number=number, app_needs_index=in_image)
            elif kind == "config":
                layout = dataclasses.replace(layout, config_number=number)
        return dataclasses.replace(layout, dependencies=tuple(dependencies))

    def _dependency_step(self, number: int, layer: MaterializedLayer, wheels: Mapping[str, WheelhouseFile]) -> DependencyStep:
        name = f"requirements/{step_filename(number, layer.planned.name)}"
        file = requirements_file(
            layer.planned,
            number=number,
            lock_name=Path(self.plan.lock_path).name,
            offline=self.options.offline,
            wheelhouse=WHEELHOUSE,
            indexes=layer.indexes,
            built_from_source={name: f"sha256:{w.sha256}" for name, w in wheels.items() if w.from_source},
        )
        self.warnings.extend(file.warnings)
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        ours = [wheels[str(wheel.item.name)] for wheel in layer.remote if str(wheel.item.name) in wheels]
        copied = tuple(self._copy(found.path, f"wheels/{found.filename}") for found in ours)
        return DependencyStep(number=number, layer=layer.planned, requirements=name, hashed=file.hashed, wheels=copied)

    def _local_step(self, number: int, layer: MaterializedLayer) -> LocalStep:
        out = self.root / "local"
        built = [local_file(local, out_dir=out, fetcher=self.fetcher, epoch=self.epoch) for local in layer.local]
        in_image = [f.item.name for f in built if f.builds_in_image]
        if in_image and self.options.offline:
            raise OfflineError(
                f"{', '.join(in_image)}: compiled code, so pip builds it in the image, with build requirements from the index",
                hint="drop --offline, or ship these packages as wheels for the target",
            )
        if in_image:
            self.warnings.append(f"{', '.join(in_image)}: compiled code: pip builds the sdist in the image (needs a compiler there)")
        files = tuple(sorted(f"local/{f.path.name}" for f in built))
        return LocalStep(number=number, layer=layer.planned, files=files, needs_index=bool(in_image))

    def _app(self) -> tuple[str, bool]:
        app_root = self.materialized.app_root
        with scratch_directory("app") as scratch:
            if self.app_wheel is not None:
                wheel = self.app_wheel if isinstance(self.app_wheel, Path) else self.app_wheel(Path(scratch))
                return self._copy(wheel, f"dist/{wheel.name}"), False
            built, in_image = wheel_or_sdist(app_root, Path(scratch), name=self.plan.project_name, epoch=self.epoch)
            if in_image and self.options.offline:
                raise OfflineError(
                    f"{self.plan.project_name}: the project has compiled code, so pip builds it in the image, "
                    "with build requirements from the index",
                    path=app_root,
                    hint="drop --offline",
                )
            if in_image:
                self.warnings.append(f"{self.plan.project_name}: compiled code: pip builds the sdist in the image (needs a compiler there)")
            return self._copy(built, f"dist/{built.name}"), in_image

    def _copy(self, source: Path, name: str) -> str:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return name


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
