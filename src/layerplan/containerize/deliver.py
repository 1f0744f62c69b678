"""Send a finished image to each requested output; report what each one did."""

from __future__ import annotations

from pathlib import Path

from layerplan.containerize.base import BaseImage, ClientPool
from layerplan.containerize.report import BlobResult, OutputResult
from layerplan.containerize.request import OutputSpec
from layerplan.image.model import Image
from layerplan.transports import OutputError, load_into_daemon, write_docker_archive, write_oci_archive, write_oci_layout
from layerplan.registry import BlobStatus, push_image

__all__ = ["deliver"]


def deliver(image: Image, spec: OutputSpec, base: BaseImage, clients: ClientPool, tags: tuple[str, ...]) -> OutputResult:
    """Write/push/load ``image`` to ``spec``; raises the sink's ``LayerplanError`` on failure."""
    name = tags[0] if tags else "latest"
    if spec.kind in ("oci", "oci-archive", "docker-archive"):
        try:
            if spec.kind == "oci":
                write_oci_layout(image, Path(spec.target), ref_name=name)
            elif spec.kind == "oci-archive":
                write_oci_archive(image, Path(spec.target), ref_name=name)
            else:
                write_docker_archive(image, Path(spec.target), tags=tags)
        except OSError as exc:
            raise OutputError(
                f"cannot write the {spec.kind} output: {exc.strerror or exc}",
                path=spec.target,
                hint="choose a writable path for --output",
            ) from exc
    elif spec.kind == "docker":
        assert spec.reference is not None
        load_into_daemon(image, tags=[_docker_tag(str(spec.reference))])
    else:
        assert spec.reference is not None
        # base layers mount from the repository they were pulled from (Layer.origin)
        report = push_image(clients.get(spec.reference.registry), spec.reference, image)
        blobs = tuple(
            BlobResult(digest=str(b.digest), size=b.size, status=_status(b.status), bytes_uploaded=b.bytes_uploaded)
            for b in report.blobs
        )
        return OutputResult(spec=str(spec), kind=spec.kind, location=str(spec.reference), blobs=blobs)
    return OutputResult(spec=str(spec), kind=spec.kind, location=spec.target)


def _status(status: BlobStatus) -> str:
    return {BlobStatus.PUSHED: "pushed", BlobStatus.PRESENT: "present", BlobStatus.MOUNTED: "mounted"}[status]


def _docker_tag(reference: str) -> str:
    """Docker names images of Docker Hub without the ``docker.io/library/`` prefix."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    return reference
