"""``--digest-file``: what a build pushed, by digest, for the next CI step to sign.

Like ko's ``--image-refs``: one line per pushed image, ``REGISTRY/REPOSITORY@sha256:...``
(``cosign sign $(cat FILE)``, or a loop over its lines). A digest, not a tag: a
signature is about bytes, and a tag can move between the push and the signing. An image
pushed under several tags of one repository is one line. Written atomically, so a
signing step never reads half a file; written (empty) when nothing was pushed, so that
step finds the file either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from layerplan.cache.atomic import atomic_write
from layerplan.containerize.report import BuildReport
from layerplan.oci.reference import ImageReference
from layerplan.transports.errors import OutputError

__all__ = ["digest_lines", "write_digest_file"]


def digest_lines(report: BuildReport) -> list[str]:
    """``REGISTRY/REPOSITORY@DIGEST`` of each registry output of ``report``, in output order."""
    lines = []
    for output in report.outputs:
        if output.kind != "registry":
            continue
        reference = ImageReference.parse(output.location)
        lines.append(f"{reference.registry}/{reference.repository}@{report.image_digest}")
    return list(dict.fromkeys(lines))


def write_digest_file(path: Path, reports: Iterable[BuildReport]) -> None:
    """Write the pushed images of ``reports`` to ``path``, one a line (replacing the file)."""
    lines = list(dict.fromkeys(line for report in reports for line in digest_lines(report)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as out:
            out.write("".join(f"{line}\n" for line in lines).encode())
    except OSError as exc:
        raise OutputError(
            f"cannot write the digest file: {exc.strerror or exc}", path=path, hint="choose a writable path for --digest-file"
        ) from exc
