"""``layerplan dockerfile``: a plan becomes a build context directory.

The context holds the Dockerfile, its ``.dockerignore``, one hash-pinned requirements
file per dependency layer, the wheels of the local packages and of the app (built here),
the pip wheel that installs them, and with ``--offline`` every registry wheel.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
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
from layerplan.dockerfile.wheelhouse import fetch_wheelhouse
from layerplan.fetch import FetchedFile, Fetcher
from layerplan.oci.reference import ImageReference
from layerplan.plan.model import PlannedLayer, LayerPlan
from layerplan.planning import PlanRequest, plan_project, project_config
from layerplan.project import Project, member_root, read_project
from layerplan.target.model import Target

__all__ = ["DockerfileRequest", "EmittedContext", "default_base", "emit_context", "qualify_base"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DockerfileRequest:
    """What ``layerplan dockerfile`` was asked for."""

    plan: PlanRequest
    output: Path
    base: str | None = None
    """Base image; default ``[tool.layerplan] base``, else ``python:X.Y-slim`` for the target."""
    flavour: Flavour = "portable"
    offline: bool = False
    force: bool = False
    """Replace a non-empty output directory."""
    cache_dir: Path | None = None
    """Where fetched wheels are cached (default: layerplan's wheel cache)."""
    quiet: bool = True
    """No download progress bar."""
    app_wheel: Path | None = None
    """A wheel of the project built already (the hatch plugin passes hatchling's own)."""


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
    """``reference`` with its registry spelled out (buildah and kaniko need it); raise
    ``DockerfileError`` when it is not an image reference."""
    try:
        return str(ImageReference.parse(reference))
    except ValueError as error:
        raise DockerfileError(f"base image: {error}", key="--base", hint="e.g. python:3.12-slim or registry.example/python:3.12") from None


def emit_context(request: DockerfileRequest, *, fetcher: Fetcher | None = None) -> EmittedContext:
    """Plan the project and write its build context to ``request.output``.

    The directory appears whole or not at all. Raise ``LayerplanError`` subclasses: bad
    project, lock or options, ``OutputDirError``, ``LocalBuildError`` for a local package
    or the app that cannot be built, ``FetchError``/``OfflineError`` for ``--offline``.
    """
    project = read_project(request.plan.project)
    config = project_config(project).with_overrides(**request.plan.overrides)
    output = check_output(request.output, force=request.force, project_root=project.root)
    plan = plan_project(dataclasses.replace(request.plan, allow_missing_wheels=True))
    options = DockerfileOptions(
        base=qualify_base(request.base or config.base or default_base(plan.target)),
        flavour=request.flavour,
        offline=request.offline,
        compile_bytecode=config.compile_bytecode,
    )
    own_fetcher: list[Fetcher] = []

    def get_fetcher() -> Fetcher:
        if fetcher is not None:
            return fetcher
        if not own_fetcher:
            own_fetcher.append(Fetcher(request.cache_dir, quiet=request.quiet))
        return own_fetcher[0]

    try:
        with staged_output(output) as staging:
            writer = _Writer(
                staging, plan, project, options, get_fetcher,
                app_root=member_root(project, config.package), app_wheel=request.app_wheel,
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
        plan: LayerPlan,
        project: Project,
        options: DockerfileOptions,
        fetcher: Callable[[], Fetcher],
        *,
        app_root: Path,
        app_wheel: Path | None = None,
    ) -> None:
        self.root = root
        self.plan = plan
        self.project = project
        self.options = options
        self.fetcher = fetcher
        self.app_root = app_root
        self.app_wheel = app_wheel
        self.lock_dir = (project.root / plan.lock_path).parent
        self.warnings: list[str] = []

    def write(self) -> ContextLayout:
        pip = pip_for(self.plan.target.python_version)
        pip_path = self._copy(fetch_pip(pip, self.fetcher()), f"layerplan/{pip.filename}")
        layout = ContextLayout(
            pip_wheel=pip_path,
            python=self.plan.target.python_path or f"python{self.plan.target.python_version_text}",
            venv=self.plan.venv,
        )
        registry = [item for layer in self.plan.layers if layer.kind == "dependencies" for item in layer.packages]
        wheels = fetch_wheelhouse(registry, self.plan.target, self.fetcher()) if self.options.offline else {}
        dependencies: list[DependencyStep] = []
        for number, layer in enumerate(self.plan.layers, 1):
            if layer.kind == "environment":
                layout = dataclasses.replace(layout, environment_number=number)
            elif layer.kind == "dependencies" and layer.packages:
                dependencies.append(self._dependency_step(number, layer, wheels))
            elif layer.kind == "local" and layer.packages:
                layout = dataclasses.replace(layout, local=self._local_step(number, layer))
            elif layer.kind == "app":
                app_file, in_image = self._app()
                layout = dataclasses.replace(layout, app_wheel=app_file, app_number=number, app_needs_index=in_image)
            elif layer.kind == "config":
                layout = dataclasses.replace(layout, config_number=number)
        return dataclasses.replace(layout, dependencies=tuple(dependencies))

    def _dependency_step(self, number: int, layer: PlannedLayer, wheels: Mapping[str, FetchedFile]) -> DependencyStep:
        name = f"requirements/{step_filename(number, layer.name)}"
        file = requirements_file(
            layer,
            number=number,
            lock_name=Path(self.plan.lock_path).name,
            offline=self.options.offline,
            wheelhouse=WHEELHOUSE,
        )
        self.warnings.extend(file.warnings)
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        fetched = [wheels[str(item.name)] for item in layer.packages if str(item.name) in wheels]
        copied = tuple(self._copy(file.path, f"wheels/{file.filename}") for file in fetched)
        return DependencyStep(number=number, layer=layer, requirements=name, hashed=file.hashed, wheels=copied)

    def _local_step(self, number: int, layer: PlannedLayer) -> LocalStep:
        out = self.root / "local"
        built = [
            local_file(item, lock_dir=self.lock_dir, out_dir=out, fetcher=self.fetcher)
            for item in layer.packages
        ]
        in_image = [f.item.name for f in built if f.builds_in_image]
        if in_image and self.options.offline:
            raise OfflineError(
                f"{', '.join(in_image)}: compiled code, so pip builds it in the image, with build requirements from the index",
                hint="drop --offline, or ship these packages as wheels for the target",
            )
        if in_image:
            self.warnings.append(f"{', '.join(in_image)}: compiled code: pip builds the sdist in the image (needs a compiler there)")
        files = tuple(sorted(f"local/{f.path.name}" for f in built))
        return LocalStep(number=number, layer=layer, files=files, needs_index=bool(in_image))

    def _app(self) -> tuple[str, bool]:
        if self.app_wheel is not None:
            return self._copy(self.app_wheel, f"dist/{self.app_wheel.name}"), False
        with tempfile.TemporaryDirectory(prefix="layerplan-app-") as scratch:
            built, in_image = wheel_or_sdist(self.app_root, Path(scratch), name=self.plan.project_name)
            if in_image and self.options.offline:
                raise OfflineError(
                    f"{self.plan.project_name}: the project has compiled code, so pip builds it in the image, "
                    "with build requirements from the index",
                    path=self.app_root,
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
