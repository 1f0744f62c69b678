"""Wheels of locked sdists that need compiling, built in a container of the builder image.

A compiled wheel must fit the image, not this host: so it is built by the image's own
Python, headers and C library, in a container of the builder image (the base, unless the
``builder`` option names another, e.g. the ``-bookworm`` variant of a ``-slim`` base that
has a compiler) run through the Docker engine:

1. the host resolves the sdist's build requirements for the target (wheels only) on the
   lock's indexes and downloads them, hash-checked, through the fetcher;
2. the sdist, those wheels, ``_source_build_driver.py`` and copies of ``installer``,
   ``pyproject_hooks`` and ``packaging`` are copied into a new container, which runs with
   no network (``--network none``), ``SOURCE_DATE_EPOCH`` and a fixed hash seed, always in
   the same directory (``/lpb/src``: paths compiled into the binaries do not vary);
3. when the backend asks for more requirements, the host adds them and runs it again;
4. the wheel is copied out, checked against the target's tags, normalized and kept in
   the store under a key of the sdist, the pins, the target and the builder image's id.

Written by hand: ``docker build`` of a generated Dockerfile would need the index inside
the build (the engine here reaches no index) and leaves image layers behind; ko and Jib
have no Python counterpart to borrow from.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from layerplan.cache.built_wheels import BuiltWheels
from layerplan.fetch import Fetcher
from layerplan.fetch.model import WantedFile, tag_rank
from layerplan.install.build_requirements import TargetPin
from layerplan.install.errors import BuildError
from layerplan.install.sdist_wheel import WHEEL_EPOCH, OpenedSdist, SdistWheel, keep_wheel, stored_wheel, wheel_key
from layerplan.target.model import Target
from layerplan.urls import public_url

if TYPE_CHECKING:
    import docker  # type: ignore[import-untyped]

__all__ = ["ContainerBuilder", "container_builder", "engine_reachable"]

_DRIVER = Path(__file__).with_name("_source_build_driver.py")
_ROOT = PurePosixPath("/lpb")
_NEEDS_MORE = 3
_ROUNDS = 3
"""Rounds of "the backend asks for more requirements" before giving up."""


def engine_reachable(client: docker.DockerClient | None = None) -> docker.DockerClient | None:
    """A client of the Docker engine (``DOCKER_HOST`` or the default socket) when it
    answers a ping, else ``None``."""
    try:
        import docker
    except ImportError:
        return None
    try:
        client = client or docker.from_env(timeout=30)
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - any failure means "no engine to build in"
        return None


def container_builder(
    *, builder: str | None, base: str, target: Target, fetcher: Fetcher, store: BuiltWheels, needed_by: str
) -> ContainerBuilder:
    """The builder for ``target``: the ``builder`` option's image, else the base (when the
    engine can run it). Raise ``BuildError`` (one line: what, and the two ways out) when
    there is no engine or no image it can run; ``needed_by`` says which package asked."""
    image = builder or _engine_name(base)
    hint = (
        "start a Docker engine (or set DOCKER_HOST) so layerplan can compile it in a container of "
        "the builder image (the `builder` option, default the base), or use `layerplan dockerfile`, "
        "which builds it in the image"
    )
    if image is None:
        raise BuildError(
            f"{needed_by}, and the base {base} is not an image the Docker engine can run to compile it in",
            hint="set the `builder` option (--builder IMAGE) to an image of the target with a C compiler, "
            "or use `layerplan dockerfile`",
        )
    client = engine_reachable()
    if client is None:
        raise BuildError(f"{needed_by}, and no Docker engine answers to compile it in a builder container", hint=hint)
    python = target.python_path if builder is None and target.python_path else f"python{target.python_version_text}"
    return ContainerBuilder(image=image, python=python, target=target, client=client, fetcher=fetcher, store=store)


def _engine_name(base: str) -> str | None:
    """How the engine names the base: a registry reference as written, without a
    ``docker://`` (the engine pulls it), ``docker-daemon:NAME`` as NAME; a file or
    directory (``oci:``, archives) is none of its images."""
    from layerplan.transports.daemon import DockerEngine
    from layerplan.transports.kinds import parse_source
    from layerplan.transports.remote import Registry

    source = parse_source(base)
    if isinstance(source, Registry):
        return str(source)
    if isinstance(source, DockerEngine):
        return source.target
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerBuilder:
    """Builds compiled wheels for ``target`` in containers of ``image``."""

    image: str
    """The builder image, as the engine names it."""
    python: str
    """Its interpreter: the base's path when the builder is the base, else ``pythonX.Y``."""
    target: Target
    client: Any
    """A ``docker.DockerClient``."""
    fetcher: Fetcher
    store: BuiltWheels

    def wheel(self, source: OpenedSdist, *, indexes: Sequence[str], scratch: Path) -> SdistWheel:
        """The normalized wheel of ``source`` for the target: from the store, else built
        in a builder container. Raise ``BuildError`` naming the step that failed."""
        image_id = self._image_id()
        requires = list(source.requires)
        pins = self._resolve(source, requires, indexes)
        for _ in range(_ROUNDS):
            key = wheel_key(
                sdist_sha256=source.sha256, backend=source.backend, requirements=[str(p) for p in pins],
                python_tag=f"{self.target.describe()}|builder={image_id}",
            )  # fmt: skip
            found = stored_wheel(source, key=key, pins=tuple(str(p) for p in pins), indexes=indexes, store=self.store)
            if found is not None:
                return found
            wheels = [fetched.path for fetched in self.fetcher.fetch([self._wanted(pin, indexes) for pin in pins])]
            outcome = self._run(source, wheels, scratch)
            if isinstance(outcome, list):  # the backend wants more
                requires = sorted({*requires, *outcome})
                pins = self._resolve(source, requires, indexes)
                continue
            wheel, installed = outcome
            if tag_rank(self.target.wheel_tags())(wheel.name) is None:
                raise BuildError(
                    f"{source.label}: the builder {self.image} built {wheel.name}, which does not fit {self.target.describe()}",
                    hint="name a builder image of the target's platform and Python (the `builder` option)",
                )
            return keep_wheel(
                source, wheel, key=key, installed=installed, indexes=indexes, store=self.store, scratch=scratch,
                record={"builder": {"image": self.image, "id": image_id}, "target": self.target.describe()},
            )  # fmt: skip
        raise BuildError(f"{source.label}: the backend of {source.filename} kept asking for more build requirements")

    def _image_id(self) -> str:
        import docker

        try:
            try:
                return str(self.client.images.get(self.image).id)
            except docker.errors.ImageNotFound:
                return str(self.client.images.pull(self.image).id)
        except docker.errors.DockerException as error:
            raise BuildError(
                f"the Docker engine cannot get the builder image {self.image}: {_first_line(error)}",
                hint="set the `builder` option (or --builder) to an image the engine can pull or has, with a C compiler",
            ) from None

    def _resolve(self, source: OpenedSdist, requires: Sequence[str], indexes: Sequence[str]) -> tuple[TargetPin, ...]:
        import subprocess

        from layerplan.install.build_requirements import resolve_for_target
        from layerplan.install.pep517 import backend_reason

        try:
            return resolve_for_target(requires, indexes=indexes, target=self.target)
        except subprocess.CalledProcessError as error:
            shown = ", ".join(public_url(index) for index in indexes) or "the default index"
            raise BuildError(
                f"{source.label}: cannot resolve the build requirements of {source.filename} ({', '.join(requires)}) "
                f"as wheels for {self.target.describe()} on {shown}: " + (backend_reason(error) or f"exit status {error.returncode}")
            ) from None

    def _wanted(self, pin: TargetPin, indexes: Sequence[str]) -> WantedFile:
        return WantedFile.from_index(pin.name, pin.version, pin.hashes, indexes=indexes, rank=tag_rank(self.target.wheel_tags()))

    def _run(self, source: OpenedSdist, wheels: Sequence[Path], scratch: Path) -> tuple[Path, tuple[str, ...]] | list[str]:
        """One container run: the wheel and what the environment held, or what the backend
        asked for in addition."""
        import docker

        container = None
        try:
            container = self.client.containers.create(
                self.image,
                command=[self.python, str(_ROOT / "driver.py")],
                network_mode="none",
                user="0:0",
                working_dir=str(_ROOT),
                environment={"SOURCE_DATE_EPOCH": str(WHEEL_EPOCH), "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"},
                labels={"org.layerplan.role": "sdist-builder"},
            )
            container.put_archive("/", _inputs(source, wheels))
            container.start()
            status = int(container.wait().get("StatusCode", 1))
            if status == _NEEDS_MORE:
                need = _read_out(container, "need.json", scratch)
                return list(json.loads(need.read_text())) if need is not None else []
            if status != 0:
                log = container.logs(stdout=True, stderr=True).decode("utf-8", "replace").strip().splitlines()
                reason = _failure_reason(log)
                raise BuildError(
                    f"{source.label}: the build of {source.filename} in the builder {self.image} failed "
                    f"(exit status {status}): {reason.strip()[:300]}",
                    hint="the builder image needs a C compiler and Python's headers (e.g. a -bookworm image, not -slim); "
                    "set it with the `builder` option",
                )
            result = _read_out(container, "result.json", scratch)
            if result is None:
                raise BuildError(f"{source.label}: the builder container wrote no result", hint="report this as a bug")
            done = json.loads(result.read_text())
            wheel = _read_out(container, f"dist/{done['wheel']}", scratch)
            if wheel is None:
                raise BuildError(f"{source.label}: the builder container wrote no wheel", hint="report this as a bug")
            return wheel, tuple(done["installed"])
        except docker.errors.DockerException as error:
            raise BuildError(
                f"{source.label}: the Docker engine failed building {source.filename}: {_first_line(error)}",
                hint="check that the engine is running and can run the builder image",
            ) from None
        finally:
            if container is not None:
                try:
                    container.remove(force=True)
                except docker.errors.DockerException:
                    pass


def _inputs(source: OpenedSdist, wheels: Sequence[Path]) -> bytes:
    """The tar ``put_archive`` unpacks at ``/``: the driver, its libraries, the sdist tree,
    the wheels and the request."""
    import installer
    import packaging
    import pyproject_hooks

    root = _ROOT.relative_to("/")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(_DRIVER, arcname=str(root / "driver.py"))
        for module in (installer, pyproject_hooks, packaging):
            package = Path(module.__file__ or "").parent
            tar.add(package, arcname=str(root / "lib" / package.name), filter=_no_bytecode)
        tar.add(source.tree, arcname=str(root / "src"), filter=_no_bytecode)
        for wheel in wheels:
            tar.add(wheel, arcname=str(root / "wheels" / wheel.name))
        request = json.dumps({"backend": source.backend, "backend_path": _backend_path(source.tree)}).encode()
        info = tarfile.TarInfo(str(root / "request.json"))
        info.size = len(request)
        tar.addfile(info, io.BytesIO(request))
        out = tarfile.TarInfo(str(root / "out"))
        out.type, out.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(out)
    return buffer.getvalue()


def _no_bytecode(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name.split("/") else info


def _backend_path(tree: Path) -> list[str] | None:
    from layerplan import _toml

    if not (tree / "pyproject.toml").is_file():
        return None
    data, _ = _toml.load_toml(tree / "pyproject.toml", BuildError)
    paths = data.get("build-system", {}).get("backend-path")
    return [str(p) for p in paths] if isinstance(paths, list) else None


def _read_out(container: Any, name: str, scratch: Path) -> Path | None:
    """Copy ``/lpb/out/NAME`` out of the container into ``scratch``; ``None`` when absent."""
    import docker

    try:
        stream, _ = container.get_archive(str(_ROOT / "out" / name))
    except docker.errors.NotFound:
        return None
    target = Path(tempfile.mkdtemp(prefix="out-", dir=scratch))
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        if member is None or not member.isfile():
            return None
        extracted = tar.extractfile(member)
        if extracted is None:
            return None
        path = target / PurePosixPath(member.name).name
        path.write_bytes(extracted.read())
    return path


def _failure_reason(log: Sequence[str]) -> str:
    """The line of a failed build's log that says why: the backend's own ``error: ...``
    (setuptools: ``error: command 'gcc' failed: No such file or directory``), else the last."""
    errors = [line for line in log if line.lstrip().lower().startswith("error:") or ": error:" in line]
    return (errors[0] if errors else log[-1] if log else "").strip()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
