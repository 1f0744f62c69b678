"""The Docker engine as a sink (``docker load``) and as a source (``docker save``), via the
``docker`` package. Nothing here runs a container."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from layerplan.cache.scratch import scratch_file
from layerplan.errors import ConfigError
from layerplan.image.errors import BaseImageError
from layerplan.image.image_index import ImageIndex
from layerplan.image.index import Platform
from layerplan.image.model import Image
from layerplan.image.referrer import Artifact
from layerplan.oci.reference import ImageReference
from layerplan.transports.docker_archive import read_docker_archive, stream_docker_archive
from layerplan.transports._files import LocalTransport
from layerplan.transports.errors import DaemonError
from layerplan.transports.spellings import SPELLINGS
from layerplan.transports.protocol import OutputResult, TransportContext

if TYPE_CHECKING:
    import docker  # type: ignore[import-untyped]

__all__ = ["DockerEngine", "engine_platform", "load_into_daemon", "read_from_daemon"]

_CHUNK = 1 << 20
_HINT = "start the Docker engine, or set DOCKER_HOST to its socket"


def _client(client: docker.DockerClient | None) -> docker.DockerClient:
    if client is not None:
        return client
    try:
        import docker
    except ImportError as exc:
        raise DaemonError("the `docker` Python package is needed to talk to the Docker engine",
                          hint="pip install docker") from exc
    try:
        return docker.from_env()
    except docker.errors.DockerException as exc:
        raise DaemonError(f"cannot reach the Docker engine: {exc}", hint=_HINT) from exc


def load_into_daemon(image: Image, *, tags: Sequence[str], client: docker.DockerClient | None = None) -> list[str]:
    """Stream ``image`` as a docker-archive into the engine's ``images.load``; return the
    loaded image's ids/tags as the engine reports them.

    The archive is produced by a thread into a pipe, so nothing is written to disk.
    Raise ``DaemonError`` when the engine refuses it (the archive writer's own error,
    e.g. a layer that cannot be read, wins when there is one).
    """
    engine = _client(client)
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=_CHUNK) as out:
                stream_docker_archive(image, out, tags=tags)
        except BrokenPipeError:
            pass  # the engine stopped reading; its error is reported below
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=produce, name="layerplan-docker-archive", daemon=True)
    thread.start()
    loaded: list[Any] = []
    engine_error: Exception | None = None
    with os.fdopen(read_fd, "rb") as reader:

        def chunks() -> Iterator[bytes]:
            while data := reader.read(_CHUNK):
                yield data

        try:
            loaded = engine.images.load(chunks())
        except Exception as exc:  # noqa: BLE001 - the SDK raises APIError, ImageLoadError, requests errors
            engine_error = exc
    thread.join()
    if failure:
        raise failure[0]
    if engine_error is not None:
        raise DaemonError(f"the Docker engine did not load the image: {engine_error}", hint=_HINT) from engine_error
    names: list[str] = []
    for item in loaded:
        names.extend(getattr(item, "tags", None) or [getattr(item, "id", str(item))])
    return names


def engine_platform(client: docker.DockerClient | None = None) -> Platform:
    """The platform the Docker engine runs (``docker version``'s ``Os``/``Arch``): what it
    loads of a multi-platform build. Raise ``DaemonError`` when it cannot be asked."""
    engine = _client(client)
    try:
        version = engine.version()
    except Exception as exc:  # noqa: BLE001 - the SDK raises APIError or requests errors
        raise DaemonError(f"cannot ask the Docker engine its platform: {exc}", hint=_HINT) from exc
    return Platform(os=str(version.get("Os") or "linux"), architecture=str(version.get("Arch") or ""))


@contextlib.contextmanager
def read_from_daemon(
    name: str,
    *,
    platform: Platform | None = None,
    client: docker.DockerClient | None = None,
    workdir: Path | None = None,
) -> Iterator[Image]:
    """Yield the engine's image ``name`` (``docker save`` to a temporary file, read lazily).

    The file is removed when the block ends, so use the image inside it. Raise
    ``BaseImageError`` when the engine has no such image.
    """
    engine = _client(client)
    import docker.errors  # type: ignore[import-untyped]

    try:
        found = engine.images.get(name)
    except docker.errors.ImageNotFound as exc:
        raise BaseImageError(f"the Docker engine has no image {name!r}", hint="docker pull it first") from exc
    except docker.errors.APIError as exc:
        raise DaemonError(f"cannot read image {name!r} from the Docker engine: {exc}", hint=_HINT) from exc
    # Locked while the image is used (its layers are read from it lazily), so a sweep by
    # another build leaves it; a killed build's goes in the next build's sweep.
    with scratch_file("docker-save", directory=workdir, suffix=".tar") as (_, tmp):
        with open(tmp, "wb") as out:
            for chunk in found.save(chunk_size=_CHUNK):
                out.write(chunk)
        yield read_docker_archive(tmp, platform=platform)


@dataclass(frozen=True, kw_only=True, slots=True)
class DockerEngine(LocalTransport):
    """The Docker engine, spelled as in skopeo: base ``docker-daemon:NAME``, output
    ``docker-daemon:REF`` (load, tagged REF). ``kind`` stays ``docker``, as reports say."""

    kind: ClassVar[str] = "docker"
    source_prefixes: ClassVar[tuple[str, ...]] = SPELLINGS["docker"].sources
    sink_prefix: ClassVar[str | None] = SPELLINGS["docker"].sink
    usage: ClassVar[str] = SPELLINGS["docker"].usage

    tag: str | None = None
    """Output only: the name the engine tags the loaded image with."""

    @classmethod
    def parse_source(cls, spec: str, rest: str) -> DockerEngine:
        return cls(spec=spec, target=rest)

    @classmethod
    def parse_sink(cls, spec: str, rest: str) -> DockerEngine:
        try:
            reference = ImageReference.parse(rest)
        except ValueError as exc:
            raise ConfigError(f"invalid image reference in output {spec!r}: {exc}", key="--output") from None
        return cls(spec=spec, target=rest, tag=_docker_tag(str(reference)))

    @contextlib.contextmanager
    def open(self, platform: Platform | None, context: TransportContext) -> Iterator[Image]:
        with read_from_daemon(self.target, platform=platform, client=context.docker) as image:
            yield image

    def write(
        self, image: Image, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        del referrers  # the Docker engine (and its archive format) keeps no referrers
        name = self.tag or self.target
        if engine_holds(image, name, client=context.docker):
            return OutputResult(spec=self.spec, kind=self.kind, location=self.target, unchanged=True)
        load_into_daemon(image, tags=[name], client=context.docker)
        return OutputResult(spec=self.spec, kind=self.kind, location=self.target)

    def write_index(
        self, index: ImageIndex, context: TransportContext, *, tags: Sequence[str] = (), referrers: Sequence[Artifact] = ()
    ) -> OutputResult:
        """The engine keeps one image per name: it gets the image of its own platform."""
        platform = engine_platform(context.docker)
        image = index.image_for(platform)
        if image is None:
            raise DaemonError(
                f"{self.spec}: the Docker engine runs {platform}, which this build did not make "
                f"({', '.join(str(p) for p in index.platforms)})",
                hint=f"add {platform.os}/{platform.architecture} to --platform, or push the index to a registry",
            )
        return self.write(image, context, tags=tags, referrers=[a for a in referrers if a.subject == image.digest])


def engine_holds(image: Image, name: str, *, client: docker.DockerClient | None = None) -> bool:
    """True when the engine's image ``name`` is ``image``: its id is the image's config digest
    (the classic image store) or its manifest digest (the containerd store). Anything the
    engine cannot answer is ``False``: the load that follows says what is wrong."""
    try:
        found = _client(client).images.get(name)
    except Exception:  # noqa: BLE001 - ImageNotFound, an API error, no engine: load as usual
        return False
    return str(found.id) in (str(image.config_descriptor.digest), str(image.digest))


def _docker_tag(reference: str) -> str:
    """Docker names images of Docker Hub without the ``docker.io/library/`` prefix."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    return reference
