"""The resolution step: the project (``project.py``), then the lock, the base (opened
once), the target (decided once) and the outputs -- handed to whichever back end runs."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from layerplan.cache.store import BlobCache
from layerplan.errors import ConfigError, LockfileError
from layerplan.events import Progress, no_progress
from layerplan.planning import load_lock
from layerplan.resolution.project import resolve_project
from layerplan.resolution.resolved import CacheImage, PlatformBuild, Request, ResolvedBuild, ResolvedProject
from layerplan.resolution.target import decide_target, requested_platforms

if TYPE_CHECKING:
    from layerplan.transports import ImageSink

__all__ = ["lock_path", "resolve_build"]

_OUTPUT_FORMS = "docker://REF, docker-daemon:REF, oci:DIR, oci-archive:FILE or docker-archive:FILE"


@contextlib.contextmanager
def resolve_build(
    request: Request, *, resolved_project: ResolvedProject | None = None, progress: Progress = no_progress
) -> Iterator[ResolvedBuild]:
    """Decide every fact of the build ``request`` asks for; the base image stays open
    while the block runs. ``resolved_project`` is ``resolve_project(request)`` when the
    caller made it already. Raise ``LayerplanError`` subclasses for bad input, before any
    slow work where it can be known then (no base, no output, a bad option). ``progress``
    hears of the ``base`` stage."""
    first = resolved_project or resolve_project(request)
    project, app, settings = first.project, first.app, first.settings
    config = settings.config
    lock = load_lock(project, lock_path(config.lock, project.root, settings.origin("lock")))
    fill = _template(app.display_name, request.app_version or app.version)
    if request.one_of_several:
        shared = [spec for spec in settings.config.outputs if "{name}" not in spec]
        if shared:
            raise ConfigError(
                f"{shared[0]!r} would be written by every member built",
                key=settings.origin("outputs"),
                hint="put {name} in it, e.g. docker://ghcr.io/org/{name}:{version} or oci-archive:dist/{name}.tar",
            )
    outputs = _outputs(
        request, tuple(fill(spec, "outputs") for spec in settings.config.outputs), project.pyproject_path,
        untagged=fill("{version}", "outputs"), tags=tuple(fill(tag, "tags") for tag in config.tags),
    )  # fmt: skip
    cache_from = _cache_images(
        tuple(fill(ref, "cache_from") for ref in config.cache_from), outputs, settings.origin("cache_from") or "cache-from"
    )
    if request.need_base and not config.base:
        raise ConfigError(
            "no base image",
            path=project.pyproject_path,
            key="tool.layerplan.base",
            hint="pass --base REF (e.g. python:3.12-slim) or set base in [tool.layerplan]",
        )
    cache_images = None
    clients = None
    if config.base:
        # Imported only when there is a base: `plan` without one loads no HTTP or image code.
        from layerplan.resolution.base import ClientPool

        clients = ClientPool(config.insecure_registries)
        if request.need_base and cache_from:
            # A direct build reads its cache images anyway (for layers): the base's platform
            # record attached to them spares a fresh runner the base's download and scan.
            from layerplan.resolution.cache_images import CacheImages

            cache_images = CacheImages(cache_from, clients)
    with contextlib.ExitStack() as stack:
        platforms = []
        # Each platform's target comes from its own entry of the base's index (opened once
        # per platform); a platform the base lacks is one error naming it.
        for platform in requested_platforms(settings):
            base = None
            if config.base and clients is not None:
                from layerplan.resolution.base import open_base_image

                base = stack.enter_context(
                    open_base_image(
                        config.base,
                        platform,
                        BlobCache(first.cache_dir),
                        clients,
                        key=settings.origin("base") or "base",
                        progress=progress,
                        records=cache_images.base_record if cache_images is not None else None,
                    )
                )
            decision = decide_target(
                settings, app.requires_python, base.platform if base else None, config.base, platform=platform
            )
            platforms.append(PlatformBuild(target_decision=decision, base=base))
        if len(platforms) > 1:
            _check_outputs_hold_an_index(outputs, platforms)
        yield ResolvedBuild(
            project=project,
            app=app,
            settings=settings,
            lock=lock,
            target=platforms[0].target,
            target_decision=platforms[0].target_decision,
            base=platforms[0].base,
            platforms=tuple(platforms),
            outputs=outputs,
            tags=tuple(fill(tag, "tags") for tag in config.tags) or (_default_tag(app.display_name, request.app_version or app.version),),
            cache_from=cache_from,
            cache_images=cache_images,
            cache_dir=first.cache_dir,
            epoch=first.epoch,
            created=first.created,
            git=first.git,
            app_wheel=first.app_wheel,
            app_version=request.app_version or app.version,
            index_sizes=request.index_sizes,
            allow_missing_wheels=request.allow_missing_wheels,
        )


def _check_outputs_hold_an_index(outputs: tuple[ImageSink, ...], platforms: list[PlatformBuild]) -> None:
    """A docker-archive holds one image (``docker load`` takes no index): refused before
    any layer is built, not after."""
    for sink in outputs:
        if sink.kind == "docker-archive":
            names = ", ".join(p.target.platform for p in platforms)
            raise ConfigError(
                f"{sink}: a docker-archive holds one platform's image, and {names} were asked for",
                key="--output",
                hint="write oci-archive:FILE (it holds the index), or build one --platform for the docker-archive",
            )


def lock_path(text: str | None, project_root: Path, origin: str | None) -> Path | None:
    """The lockfile an option names: as it is when absolute, else in the project, else in
    the current directory; ``LockfileError`` naming every place tried when it is nowhere."""
    if text is None:
        return None
    given = Path(text)
    if given.is_absolute():
        return given
    tried = list(dict.fromkeys([(project_root / given).absolute(), (Path.cwd() / given).absolute()]))
    for candidate in tried:
        if candidate.exists():
            return candidate
    raise LockfileError(
        f"lockfile {text!r} not found (tried {' and '.join(str(p) for p in tried)})",
        key=origin,
        hint="give a path relative to the project or to the current directory, or an absolute one",
    )


def _outputs(
    request: Request, configured: tuple[str, ...], pyproject: Path, *, untagged: str, tags: tuple[str, ...] = ()
) -> tuple[ImageSink, ...]:
    """The outputs, parsed. A registry output without a tag is pushed as the project's
    version (``untagged``; ``latest`` without one), as archives are named ``NAME:VERSION``:
    a silent ``:latest`` is overwritten by every build of every branch. A ``tags`` name in
    a registry output's repository (``--tag ghcr.io/org/app:latest``) is pushed there too,
    as ``docker build -t A -t B`` names both."""
    from layerplan.oci.reference import ImageReference
    from layerplan.transports import Registry, parse_output  # the OCI stack: only with outputs to parse

    texts = [*request.extra_outputs, *(configured or request.default_outputs)]
    if request.need_outputs and not texts:
        raise ConfigError(
            "no output",
            path=pyproject,
            key="tool.layerplan.outputs",
            hint=f"pass --output {_OUTPUT_FORMS}, or set outputs in [tool.layerplan] or the build tool's image table",
        )
    sinks = [parse_output(text) for text in dict.fromkeys(texts)]
    named = []
    for tag in tags:
        try:
            named.append(ImageReference.parse(tag))
        except ValueError:  # a name for archives only; they say what is wrong with it
            continue
    out: list[ImageSink] = []
    for sink in sinks:
        if isinstance(sink, Registry):
            sink = sink.tagged(untagged) if sink.tag_implied else sink
            where = (sink.reference.registry, sink.reference.repository)
            sink = sink.with_tags([n.tag for n in named if n.tag and (n.registry, n.repository) == where])
        out.append(sink)
    return tuple(out)


def _cache_images(refs: tuple[str, ...], outputs: tuple[ImageSink, ...], origin: str) -> tuple[CacheImage, ...]:
    """The images named by ``cache-from`` (``REF``, ``docker://REF`` or the old
    ``registry:REF``); without any, each
    registry output's own reference: its previous image holds the layers a rebuild needs."""
    from layerplan.transports import Registry, registry_reference

    if not refs:
        return tuple(
            dict.fromkeys(CacheImage(reference=s.reference, explicit=False) for s in outputs if isinstance(s, Registry))
        )
    images = []
    for ref in dict.fromkeys(refs):
        try:
            reference = registry_reference(ref)
        except ValueError as exc:
            raise ConfigError(f"invalid cache image {ref!r}: {exc}", key=origin, hint="give REF, e.g. ghcr.io/org/app:1.0") from None
        images.append(CacheImage(reference=reference, explicit=True))
    return tuple(images)


def _template(name: str, version: str | None) -> Callable[[str, str], str]:
    """Fills ``{name}`` and ``{version}`` in an output or a tag (one per workspace member:
    ``docker://ghcr.io/org/{name}:{version}``), with the image-name spellings of both."""
    values = {"name": _default_tag(name, version).split(":")[0], "version": _default_tag(name, version).split(":")[1]}

    def fill(text: str, option: str) -> str:
        if "{" not in text:
            return text
        try:
            return text.format_map(values)
        except (KeyError, ValueError, IndexError) as error:
            raise ConfigError(
                f"{text!r}: only {{name}} and {{version}} can be filled in ({error})",
                key=option,
                hint="e.g. docker://ghcr.io/org/{name}:{version}",
            ) from None

    return fill


def _default_tag(name: str, version: str | None) -> str:
    """``name:version``, made valid as an image name (``name:latest`` without a version)."""
    repository = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "image"
    tag = re.sub(r"[^\w.-]", "-", version)[:128] if version else "latest"
    return f"{repository}:{tag or 'latest'}"
