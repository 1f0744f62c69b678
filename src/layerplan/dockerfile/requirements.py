"""Hash-pinned requirements files, one per dependency layer of the plan.

Each line pins ``name==version`` with every hash the lock allows for the file the plan
chose: the wheel's hashes (``wheel``), all of the package's hashes (``lookup``: the lock
knows hashes but not which file), or the sdist's (``sdist`` and ``none``: pip builds it
from source in the image). With hashes given, pip keeps only index files whose hash is allowed, so it
installs the very file the plan picked, and refuses anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layerplan.dockerfile.errors import DockerfileError
from layerplan.urls import has_credentials, public_url
from layerplan.plan.model import PlannedLayer
from layerplan.selection.model import InstallItem

__all__ = ["PIP_HASH_ALGORITHMS", "RequirementsFile", "allowed_hashes", "requirements_file", "step_filename"]

PIP_HASH_ALGORITHMS = ("sha256", "sha384", "sha512")
"""The algorithms pip's ``--hash`` accepts."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RequirementsFile:
    """The text of one layer's requirements file."""

    text: str
    hashed: bool
    """Every package has a hash: install with ``--require-hashes``."""
    warnings: tuple[str, ...] = ()


def step_filename(number: int, layer_name: str) -> str:
    """``02-dep-numpy.txt``: the plan position, then the layer name made file-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", layer_name).strip("-.") or "layer"
    return f"{number:02d}-{safe}.txt"


def allowed_hashes(item: InstallItem) -> tuple[str, ...]:
    """The ``algorithm:hex`` hashes pip may accept for ``item``, sorted, pip's algorithms only."""
    hashes = item.wheel.hashes if item.wheel is not None and item.wheel.hashes else item.hashes
    kept = {h.lower() for h in hashes if h.partition(":")[0].lower() in PIP_HASH_ALGORITHMS and h.partition(":")[2]}
    return tuple(sorted(kept))


def requirements_file(
    layer: PlannedLayer,
    *,
    number: int,
    lock_name: str,
    offline: bool,
    wheelhouse: str,
    indexes: Sequence[str] = (),
    built_from_source: Mapping[str, str] | None = None,
) -> RequirementsFile:
    """The requirements file of dependency ``layer``.

    ``indexes`` are the lock's index URLs (first: primary); the items' own indexes come
    first. Credentials in an index URL are dropped (the file ends up in the image), with
    a warning. ``built_from_source``: package name -> ``sha256:HEX`` of the wheel
    layerplan built from its locked sdist (offline contexts ship that wheel, so it is the
    file pip must accept). Raise ``DockerfileError`` when a package has no pinned version.
    """
    built = dict(built_from_source or {})
    warnings: list[str] = []
    lines = [f"# {step_filename(number, layer.name)[:-4]}: written by `layerplan dockerfile` from {lock_name}; installed with --no-deps"]
    if offline:
        lines += ["--no-index", f"--find-links {wheelhouse}"]
    else:
        wanted = [*(item.index for item in layer.packages if item.index), *indexes]
        urls = list(dict.fromkeys(_public_url(url, warnings) for url in wanted))
        if urls:
            lines.append(f"--index-url {urls[0]}")
            lines += [f"--extra-index-url {url}" for url in urls[1:]]
    unhashed = [item.name for item in layer.packages if not allowed_hashes(item)]
    if unhashed:
        warnings.append(
            f"{layer.name}: the lock gives no hash for {', '.join(unhashed)}: this layer installs without --require-hashes"
        )
    for item in layer.packages:
        if not item.version:
            raise DockerfileError(
                f"{item.name}: the lock pins no version for it",
                key=f"layer {layer.name}",
                hint="re-lock so that every package has an exact version",
            )
        pin = f"{item.name}=={item.version}"
        hashes = () if unhashed else (built[str(item.name)],) if str(item.name) in built else allowed_hashes(item)
        lines.append(" \\\n    ".join([pin, *(f"--hash={h}" for h in hashes)]))
    return RequirementsFile(text="\n".join(lines) + "\n", hashed=not unhashed, warnings=tuple(warnings))


def _public_url(url: str, warnings: list[str]) -> str:
    """``url`` without user:password (they would be baked into the image), with a warning."""
    clean = public_url(url).rstrip("/")
    if has_credentials(url):
        warnings.append(
            f"index {clean}: its credentials were left out of the requirements files (they would end up in the image); "
            "give them to pip at build time, e.g. a PIP_INDEX_URL build secret"
        )
    return clean
