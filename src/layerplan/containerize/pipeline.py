"""The body of a direct build: plan, layers, image, outputs.

``entry.build_image`` resolves the request and starts the app wheel, then runs this
with the resolved build (the base is open, the target decided).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerplan._units import format_size
from layerplan.cache.store import BlobCache, Store
from layerplan.containerize.app import AppWheel
from layerplan.containerize.attachments import image_attachments
from layerplan.containerize.labels import OCI_PREFIX, describe_image
from layerplan.containerize.layers import BuiltLayer, LayerBuilder
from layerplan.containerize.registry_cache import RegistryLayerCache, layer_annotations
from layerplan.containerize.report import BuildReport, LayerResult
from layerplan.events import Progress, StageAdvanced, StageFinished, StageStarted, no_progress
from layerplan.image.build import NewLayer, assemble_image
from layerplan.image.image_index import ImageIndex
from layerplan.image.model import Image
from layerplan.image.config import RuntimeConfig
from layerplan.image.manifest import image_annotations
from layerplan.image.platform_record import ARTIFACT_TYPE as RECORD_TYPE
from layerplan.image.referrer import IN_TOTO_MEDIA_TYPE, Artifact
from layerplan.install.errors import BuildError
from layerplan.oci.platform import Platform
from layerplan.plan.model import LayerPlan
from layerplan.plan.multi import shared_layers
from layerplan.resolution import ResolvedBuild, materialize_build, plan_platforms
from layerplan.resolution.base import BaseImage
from layerplan.transports import ClientPool, ImageSink, OutputResult, TransportContext, remember_pulled

if TYPE_CHECKING:  # loaded only when an sdist needs compiling
    from layerplan.containerize.source_builder import ContainerBuilder
    from layerplan.fetch.fetcher import Fetcher
    from layerplan.install.sdist_wheel import SdistWheel

__all__ = ["run_build"]


def run_build(resolved: ResolvedBuild, app_wheel: AppWheel, *, progress: Progress = no_progress) -> BuildReport:
    """Plan for the resolved target(s), build missing layers, assemble, deliver; ``progress``
    hears of each stage (it finishes ``resolve``, which ``build_image`` started).

    With several platforms, each is planned and built in turn from its own base manifest
    and its own wheels; a layer whose key every platform shares is found in the cache by
    the later ones (built once, one digest), and the images go out as one index."""
    config = resolved.config
    cache = BlobCache(resolved.cache_dir)
    context = TransportContext(
        clients=ClientPool(config.insecure_registries), locations=Store(resolved.cache_dir).locations
    )
    planned = plan_platforms(resolved)
    if not resolved.several_platforms:
        ((one, plan),) = planned
        progress(StageFinished(stage="resolve", summary=f"{_file_layers(plan)} layers for {plan.target.describe()}"))
        made = _build_platform(one, plan, app_wheel, cache, context, progress)
        results = [_deliver(sink, made.image, context, resolved.tags, progress, made.referrers) for sink in resolved.outputs]
        return _platform_report(made, tuple(results), app_wheel)
    plans = [plan for _, plan in planned]
    progress(
        StageFinished(
            stage="resolve",
            summary=", ".join(f"{_file_layers(plan)} layers for {plan.target.describe()}" for plan in plans),
        )
    )
    made_all = [_build_platform(one, plan, app_wheel, cache, context, progress, several=True) for one, plan in planned]
    index = ImageIndex(images=tuple(m.image for m in made_all))
    referrers = tuple(a for m in made_all for a in m.referrers)
    results = [_deliver(sink, index, context, resolved.tags, progress, referrers) for sink in resolved.outputs]
    per_platform = tuple(_platform_report(m, (), app_wheel) for m in made_all)
    return BuildReport(
        image_digest=str(index.digest),
        config_digest="",
        base=per_platform[0].base,
        base_digest=None,
        target=", ".join(r.target for r in per_platform),
        layers=(),
        outputs=tuple(results),
        built_from_source=tuple(b for r in per_platform for b in r.built_from_source),
        sboms=tuple(s for r in per_platform for s in r.sboms),
        warnings=tuple(dict.fromkeys(w for r in per_platform for w in r.warnings)),
        platforms=per_platform,
        shared_layers=shared_layers(plans),
        app_wheel=app_wheel.status,
        app_fingerprint=app_wheel.fingerprint,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class _PlatformImage:
    """One platform's image and what making it found out."""

    resolved: ResolvedBuild
    base: BaseImage
    plan: LayerPlan
    image: Image
    built: tuple[BuiltLayer, ...]
    referrers: tuple[Artifact, ...]
    from_source: tuple[SdistWheel, ...]
    warnings: tuple[str, ...]


def _file_layers(plan: LayerPlan) -> int:
    return sum(1 for layer in plan.layers if layer.kind != "config")


def _build_platform(
    resolved: ResolvedBuild, plan: LayerPlan, app_wheel: AppWheel, cache: BlobCache, context: TransportContext,
    progress: Progress, *, several: bool = False,
) -> _PlatformImage:
    """The image of ``resolved``'s one platform: its layers from the cache or built, on its base."""
    base = resolved.base
    assert base is not None  # a direct build is resolved with need_base
    config = resolved.config
    warnings: list[str] = []
    if not base.pinned and base.reference is not None:
        which = f" for {plan.target.platform}" if several else ""
        warnings.append(f"base {base.name} is not pinned by digest; this build used {base.reference.digest}{which}")
    warnings += base.warnings
    materialized = materialize_build(resolved, plan)

    @functools.cache
    def fetcher() -> Fetcher:
        # the download stack loads only when something is fetched: not on a no-change rebuild
        from layerplan.fetch.fetcher import Fetcher

        return Fetcher(resolved.cache_dir, indexes=materialized.indexes, progress=progress)

    def source_builder(needed_by: str) -> ContainerBuilder:
        from layerplan.containerize.source_builder import container_builder

        if not plan.target.oci_platform.matches(Platform.host()):
            # A container of another architecture would run under emulation: never.
            raise BuildError(
                f"{needed_by}, for {plan.target.platform}: this {Platform.host()} machine would have to run a "
                f"{plan.target.platform} builder container under emulation, which layerplan never does",
                hint=f"lock a version with a wheel for {plan.target.platform}, or build that platform on a machine of it",
            )
        return container_builder(
            builder=config.builder, base=base.name, target=plan.target, fetcher=fetcher(),
            store=Store(resolved.cache_dir).built_wheels, needed_by=needed_by,
        )  # fmt: skip

    # The registry as a layer cache: what the local cache lacks may be in an earlier
    # image (cache-from, else each registry output's own), read only on a miss.
    registry_cache = RegistryLayerCache(
        resolved.cache_from, clients=context.clients, blobs=cache, platform=base.image.platform,
        locations=context.locations, reader=resolved.cache_images,
    )  # fmt: skip
    builder = LayerBuilder(
        materialized,
        cache=cache,
        fetcher=fetcher,
        epoch=resolved.epoch,
        base_symlinks=base.symlinks,
        app_wheel=app_wheel.get,
        app_wheel_building=lambda: app_wheel.building,
        compile_bytecode=config.compile_bytecode,
        source_builder=source_builder,
        reuse=registry_cache.find,
        progress=progress,
    )
    built = builder.build_all()
    described = describe_image(
        resolved.app, version=plan.project_version, git=resolved.git, created=resolved.created.epoch, base=base
    )
    image = assemble_image(
        base.image,
        [
            NewLayer(layer=b.layer, created_by=b.created_by, annotations=layer_annotations(b.planned.key, b.build_key))
            for b in built
        ],
        runtime=_runtime(plan, described),
        epoch=resolved.created.epoch,  # the config's created: no layer depends on it
        annotations=image_annotations(
            epoch=resolved.created.epoch, base_name=base.name, base_digest=base.image.digest,
            extra={key: value for key, value in described.items() if not key.startswith("base.")},
        ),
    )
    # The resolution opened the base with a context of its own: what its pull read (the
    # repository its layers are in) is recorded here, for the pushes of later builds.
    remember_pulled(context.locations, base.image)
    referrers = image_attachments(
        resolved, plan, image, {b.planned.name: b.layer for b in built},
        local={b.planned.name for b in built if b.status != "reused"}, reused_licenses=registry_cache.licenses,
    )  # fmt: skip
    return _PlatformImage(
        resolved=resolved, base=base, plan=plan, image=image, built=tuple(built), referrers=tuple(referrers),
        from_source=tuple(builder.from_source),
        warnings=(*warnings, *plan.warnings, *registry_cache.warnings, *builder.warnings),
    )  # fmt: skip


def _platform_report(made: _PlatformImage, results: tuple[OutputResult, ...], app_wheel: AppWheel) -> BuildReport:
    referrers = made.referrers
    return BuildReport(
        image_digest=str(made.image.digest),
        config_digest=str(made.image.config_descriptor.digest),
        base=made.base.name,
        base_digest=str(made.base.image.digest),
        base_platform_from=made.base.platform_from,
        target=made.plan.target.describe(),
        layers=_layer_results(made.base, list(made.built)),
        outputs=results,
        built_from_source=made.from_source,
        sboms=tuple((a.artifact_type, str(a.digest)) for a in referrers if a.artifact_type not in (IN_TOTO_MEDIA_TYPE, RECORD_TYPE)),
        provenance=next(((a.artifact_type, str(a.digest)) for a in referrers if a.artifact_type == IN_TOTO_MEDIA_TYPE), None),
        warnings=made.warnings,
        app_wheel=app_wheel.status,
        app_fingerprint=app_wheel.fingerprint,
    )


def _deliver(
    sink: ImageSink, image: Image | ImageIndex, context: TransportContext, tags: tuple[str, ...], progress: Progress,
    referrers: tuple[Artifact, ...],
) -> OutputResult:
    """Write one output (an image, or the index of several platforms' images) as the
    ``push OUTPUT`` (a registry, with its bytes) or ``write OUTPUT`` stage."""
    stage = f"push {sink}" if sink.kind == "registry" else f"write {sink}"
    progress(StageStarted(stage=stage))

    def sent(nbytes: int) -> None:
        progress(StageAdvanced(stage=stage, bytes=nbytes))

    context = dataclasses.replace(context, sent=sent)
    if sink.kind != "registry":
        # The base's platform record is for later builds reading the registry (a fresh
        # runner's cache image): not a document to write beside a file or load.
        referrers = tuple(a for a in referrers if a.artifact_type != RECORD_TYPE)
    if isinstance(image, ImageIndex):
        result = sink.write_index(image, context, tags=tags, referrers=referrers)
    else:
        result = sink.write(image, context, tags=tags, referrers=referrers)
    progress(StageFinished(stage=stage, summary=_delivered(result), bytes=result.bytes_uploaded if result.blobs else None))
    return result


def _delivered(result: OutputResult) -> str:
    """``sent 2 blobs (14.2 MB), 5 already present`` for a push, ``written`` or ``loaded as
    IMAGE`` otherwise; ``up to date`` when the output already held the image."""
    if result.unchanged:
        return "up to date"
    if result.kind == "docker":
        return f"loaded as {result.location}"
    if not result.blobs:
        return "written"
    parts = [f"sent {_blobs(result.count('pushed'))} ({format_size(result.bytes_uploaded)})"]
    if result.count("mounted"):
        parts.append(f"{_blobs(result.count('mounted'))} mounted ({format_size(result.bytes_mounted)})")
    if result.count("present"):
        parts.append(f"{_blobs(result.count('present'))} already present")
    return ", ".join(parts)


def _blobs(count: int) -> str:
    return f"{count} blob{'s' if count != 1 else ''}"


def _runtime(plan: LayerPlan, described: dict[str, str]) -> RuntimeConfig:
    """Entrypoint, env, user, workdir from the plan; labels: the OCI ones (so `docker
    inspect` shows version and revision), then the configured ones (``--label`` included)."""
    settings = plan.settings
    oci = {f"{OCI_PREFIX}{key}": value for key, value in described.items()}
    labels = {**oci, **settings.get("labels", {})}
    return RuntimeConfig(
        env=tuple(settings.get("env", {}).items()),
        entrypoint=tuple(settings["entrypoint"]) if settings.get("entrypoint") else None,
        user=settings.get("user"),
        working_dir=settings.get("workdir"),
        labels=tuple(sorted(labels.items())),
        drop_base_labels=(OCI_PREFIX,),
    )


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
            key=b.planned.key,
            reused_from=b.reused_from,
        )
        for b in built
    ]
    return tuple(rows)
