"""What a build attaches to its image: the SBOMs, the provenance and the base's platform
record, each an OCI 1.1 artifact about the image (``image.referrer.Artifact``). One
list, handed to every output: a registry stores them as referrers (or under the
referrers tag), ``oci:`` and ``oci-archive:`` write the SBOMs and provenance beside the
output, the engine drops them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from layerplan.image.config import rfc3339
from layerplan.image.model import Image, Layer
from layerplan.image.referrer import IN_TOTO_MEDIA_TYPE, Artifact, make_artifact
from layerplan.plan.model import LayerPlan
from layerplan.resolution import ResolvedBuild
from layerplan.resolution.base import BaseImage
from layerplan.sbom.model import License
from layerplan.urls import public_text, public_url

__all__ = ["image_attachments", "platform_record_artifact", "provenance_artifact"]


def image_attachments(
    resolved: ResolvedBuild, plan: LayerPlan, image: Image, layers: Mapping[str, Layer], *, local: Collection[str],
    reused_licenses: Callable[[Collection[str]], Mapping[str, License]] | None = None,
) -> tuple[Artifact, ...]:
    """The artifacts the options ask for (``sbom``, ``provenance``) about ``image``;
    ``layers``, ``local`` and ``reused_licenses`` are the SBOM's (``sbom.attach``)."""
    config = resolved.config
    base = resolved.base
    assert base is not None  # a direct build has one
    out: list[Artifact] = []
    if config.sbom:
        from layerplan.cache.store import Store
        from layerplan.sbom.attach import locked_wheel_in, sbom_artifacts

        store = Store(resolved.cache_dir)
        out += sbom_artifacts(
            plan, image, layers, local=local, epoch=resolved.epoch, base_name=base.name,
            base_digest=str(base.image.digest), reused_licenses=reused_licenses,
            wheel_path=locked_wheel_in(store.wheels), license_records=store.licenses,
        )  # fmt: skip
    if config.provenance:
        out.append(provenance_artifact(resolved, plan, image))
    # Whatever the SBOM and provenance options: it is a cache of the build, not a claim.
    out.append(platform_record_artifact(base, image))
    return tuple(out)


def platform_record_artifact(base: BaseImage, image: Image) -> Artifact:
    """The base's platform record (``image.platform_record``) as a referrer of ``image``.

    A referrer, not an annotation or a config field: the image stays byte for byte what
    it was (its digest depends on its files and settings, never on a cache), and ``oras
    discover`` / ``cosign tree`` show it beside the SBOMs. A fresh runner reads the
    referrers listing of its cache image (which the SBOM's reused licenses read too), and
    fetches the record only when the listing's annotations name its base's digest.
    """
    from layerplan.image.platform_record import ARTIFACT_TYPE, BASE_DIGEST_ANNOTATION, BASE_PLATFORM_ANNOTATION, TITLE

    return make_artifact(
        image, artifact_type=ARTIFACT_TYPE, data=base.platform_record,
        annotations={
            BASE_DIGEST_ANNOTATION: str(base.image.digest),
            BASE_PLATFORM_ANNOTATION: str(base.image.platform),
            "org.opencontainers.image.title": TITLE,
        },
    )  # fmt: skip


def provenance_artifact(resolved: ResolvedBuild, plan: LayerPlan, image: Image) -> Artifact:
    """The SLSA provenance of ``image`` (docs/supply-chain.md says what each field holds)."""
    from layerplan.provenance import FILE_NAME, PREDICATE_TYPE, provenance_statement

    data = provenance_statement(
        subject_name=resolved.app.display_name,
        subject_digest=image.digest,
        external=_external(resolved, plan),
        internal={
            "sourceDateEpoch": resolved.epoch,
            "created": {"time": rfc3339(resolved.created.epoch), "from": resolved.created.source},
            "lockFormat": plan.install_set.lock_format,
        },
        dependencies=_dependencies(resolved, plan),
    )
    return make_artifact(
        image, artifact_type=IN_TOTO_MEDIA_TYPE, data=data,
        annotations={
            "org.opencontainers.image.created": rfc3339(resolved.created.epoch),
            "org.opencontainers.image.title": FILE_NAME,
            "in-toto.io/predicate-type": PREDICATE_TYPE,
        },
    )  # fmt: skip


_STATED = frozenset({"base", "outputs", "package"})
"""Options ``externalParameters`` states on their own (as resolved)."""


def _external(resolved: ResolvedBuild, plan: LayerPlan) -> dict[str, Any]:
    """The options that decide the image, as the user set them (defaults left out: the
    build type defines them), with paths relative to the project and no credentials."""
    settings = resolved.settings
    options = {
        name.replace("_", "-"): _public(_relative(getattr(settings.config, name), resolved.project.root))
        for name in sorted(settings.origins) if name not in _STATED
    }
    stated = {
        "project": resolved.app.display_name,
        "package": resolved.package,
        "platform": plan.target.describe(),
        "base": resolved.base.name if resolved.base is not None else None,
        "outputs": [_public(_relative(str(sink), resolved.project.root)) for sink in resolved.outputs],
        "options": options,
    }
    return {key: value for key, value in stated.items() if value is not None}


def _dependencies(resolved: ResolvedBuild, plan: LayerPlan) -> list[dict[str, Any]]:
    """ResourceDescriptors: the source commit, the lock, the base, then every locked file
    the image installs (by sha256, with its URL without credentials)."""
    out: list[dict[str, Any]] = []
    git = resolved.git
    if git is not None:
        source: dict[str, Any] = {"name": "source", "digest": {"gitCommit": git.commit}}
        if git.remote:
            source["uri"] = f"git+{git.remote}@{git.commit}"
        out.append(source)
    lock = resolved.lock.path
    out.append({
        "name": _relative(str(lock), resolved.project.root),
        "digest": {"sha256": hashlib.sha256(lock.read_bytes()).hexdigest()},
    })  # fmt: skip
    base = resolved.base
    if base is not None:
        described: dict[str, Any] = {
            "name": base.name, "digest": {base.image.digest.algorithm: base.image.digest.hex},
            "mediaType": base.image.media_type,
        }  # fmt: skip
        if base.reference is not None:
            described["uri"] = f"docker://{base.reference.registry}/{base.reference.repository}"
        out.append(described)
    for planned in plan.layers:
        for item in planned.packages:
            file = item.wheel or item.sdist
            entry: dict[str, Any] = {
                "name": (file.filename if file is not None and file.filename else f"{item.name}=={item.version or ''}"),
                "annotations": {"layer": planned.name, "package": str(item.name), "version": item.version or ""},
            }
            hashes = dict(h.split(":", 1) for h in (file.hashes if file is not None else ()) if ":" in h)
            if len(hashes):
                entry["digest"] = hashes
            url = file.url if file is not None else item.source.url
            if url:
                entry["uri"] = public_url(url)
            out.append(entry)
    return out


def _relative(value: Any, root: Path) -> Any:
    """A path (or an ``oci:PATH`` spec) under the project as relative to it: the same on
    every clone."""
    if isinstance(value, str):
        kind, sep, rest = value.partition(":")
        text, prefix = (rest, f"{kind}:") if sep and kind in ("oci", "oci-archive", "docker-archive") else (value, "")
        if text.startswith("/"):
            try:
                return prefix + Path(text).relative_to(root).as_posix()
            except ValueError:
                return value
        return value
    if isinstance(value, (tuple, list)):
        return [_relative(v, root) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _relative(v, root) for k, v in value.items()}
    return value


def _public(value: Any) -> Any:
    """``value`` (JSON: strings, lists, tables) with the credentials of every URL in it removed."""
    if isinstance(value, str):
        return public_text(value)
    if isinstance(value, list):
        return [_public(v) for v in value]
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    return value
