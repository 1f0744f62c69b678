"""The body of a direct build: base image, plan, layers, image, outputs.

``containerize.build_image`` validates the request and starts the app wheel, then runs
this with everything it decided (see ``BuildInputs``).
"""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass
from pathlib import Path

from layerplan.containerize.app import AppWheel
from layerplan.containerize.base import BaseImage, ClientPool, base_platform, open_base_image
from layerplan.containerize.layers import BuiltLayer, LayerBuilder
from layerplan.containerize.report import BuildReport, LayerResult, OutputResult
from layerplan.containerize.request import BuildRequest
from layerplan.cache.store import BlobCache
from layerplan.errors import TargetError
from layerplan.fetch import Fetcher
from layerplan.image.build import NewLayer, assemble_image
from layerplan.image.config import RuntimeConfig
from layerplan.image.index import Platform
from layerplan.image.manifest import image_annotations
from layerplan.plan.config import PlanConfig
from layerplan.plan.model import LayerPlan
from layerplan.planning import plan_project
from layerplan.project.model import Project
from layerplan.target import Target
from layerplan.transports import ImageSink, TransportContext

__all__ = ["BuildInputs", "run_build"]


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildInputs:
    """What ``build_image`` settled before the heavy work starts."""

    request: BuildRequest
    project: Project
    config: PlanConfig
    base_spec: str
    outputs: tuple[ImageSink, ...]
    epoch: int
    cache_root: Path
    platform: tuple[str, str]
    """``(os, arch)`` used to pick the base from a multi-platform index."""
    app_wheel: AppWheel


def run_build(inputs: BuildInputs) -> BuildReport:
    """Open the base, plan for its platform, build missing layers, assemble, deliver."""
    request, project, config, base_spec, epoch = (
        inputs.request, inputs.project, inputs.config, inputs.base_spec, inputs.epoch
    )
    cache = BlobCache(inputs.cache_root)
    clients = ClientPool(request.insecure_registries)
    os_name, arch = inputs.platform
    warnings: list[str] = []
    with open_base_image(base_spec, Platform(os=os_name, architecture=arch), cache, clients) as base:
        if not base.pinned and base.reference is not None:
            warnings.append(f"base {base_spec} is not pinned by digest; this build used {base.reference.digest}")
        detected, symlinks = base_platform(base, cache)
        plan = _plan(request, detected.to_target())
        builder = LayerBuilder(
            plan,
            cache=cache,
            fetcher=Fetcher(request.cache_dir, quiet=request.quiet, indexes=_indexes(plan)),
            epoch=epoch,
            base_symlinks=symlinks,
            project_root=project.root,
            lock_dir=(project.root / plan.lock_path).parent,
            app_wheel=inputs.app_wheel.get,
            compile_bytecode=config.compile_bytecode,
        )
        built = builder.build_all()
        described = _annotations(plan, project.root)
        image = assemble_image(
            base.image,
            [NewLayer(layer=b.layer, created_by=b.created_by) for b in built],
            runtime=_runtime(plan, request, described),
            epoch=epoch,
            annotations=image_annotations(
                epoch=epoch, base_name=base_spec, base_digest=base.image.digest, extra=described
            ),
        )
        context = TransportContext(clients=clients)
        results: list[OutputResult] = [sink.write(image, context, tags=request.tags) for sink in inputs.outputs]
    return BuildReport(
        image_digest=str(image.digest),
        config_digest=str(image.config_descriptor.digest),
        base=base_spec,
        base_digest=str(base.image.digest),
        target=plan.target.describe(),
        layers=_layer_results(base, built),
        outputs=tuple(results),
        warnings=(*warnings, *plan.warnings, *builder.warnings),
    )


def _plan(request: BuildRequest, base_target: Target) -> LayerPlan:
    """Plan for the base's platform; a Python option that contradicts the base is an error."""
    plan = plan_project(
        dataclasses.replace(
            request.plan, target=base_target, allow_missing_wheels=False, cache_dir=request.cache_dir or request.plan.cache_dir
        )
    )
    if plan.target.python_version != base_target.python_version:
        raise TargetError(
            f"the base image has Python {base_target.python_version_text}, "
            f"but the target asks for Python {plan.target.python_version_text}",
            hint="drop the python option (the base decides), or pick a base image with that Python",
        )
    return plan


def _indexes(plan: LayerPlan) -> tuple[str, ...]:
    """The lock's indexes first (its order), then any other a package names."""
    named = (item.index for item in plan.install_set.items if item.index)
    return tuple(dict.fromkeys([*plan.install_set.indexes, *named]))


def _runtime(plan: LayerPlan, request: BuildRequest, described: dict[str, str]) -> RuntimeConfig:
    """Entrypoint, env, user, workdir from the plan; labels: the OCI ones (so `docker
    inspect` shows version and revision), then the configured ones, then ``--label``."""
    settings = plan.settings
    oci = {f"org.opencontainers.image.{key}": value for key, value in described.items()}
    labels = {**oci, **settings.get("labels", {}), **request.labels}
    return RuntimeConfig(
        env=tuple(settings.get("env", {}).items()),
        entrypoint=tuple(settings["entrypoint"]) if settings.get("entrypoint") else None,
        user=settings.get("user"),
        working_dir=settings.get("workdir"),
        labels=tuple(sorted(labels.items())),
    )


def _annotations(plan: LayerPlan, root: Path) -> dict[str, str]:
    """title/version, and revision/source when the project is a git checkout."""
    out = {"title": plan.project_name}
    if plan.project_version:
        out["version"] = plan.project_version
    revision = _git(root, "rev-parse", "HEAD")
    if revision:
        out["revision"] = revision
    remote = _git(root, "remote", "get-url", "origin")
    if remote and remote.startswith(("https://", "http://", "git@", "ssh://")):
        out["source"] = remote  # a local path would differ between two clones
    return out


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _layer_results(base: BaseImage, built: list[BuiltLayer]) -> tuple[LayerResult, ...]:
    history = [h for h in base.image.config_json.get("history", []) if not h.get("empty_layer")]
    rows = [
        LayerResult(
            name=f"base-{index}",
            kind="base",
            digest=str(layer.digest),
            size=layer.descriptor.size,
            status="base",
            created_by=str(history[index - 1].get("created_by", "")) if index - 1 < len(history) else "",
        )
        for index, layer in enumerate(base.image.layers, start=1)
    ]
    rows += [
        LayerResult(
            name=b.planned.name,
            kind=b.planned.kind,
            digest=str(b.layer.digest),
            size=b.layer.descriptor.size,
            status=b.status,
            created_by=b.created_by,
        )
        for b in built
    ]
    return tuple(rows)
