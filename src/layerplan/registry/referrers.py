"""Attach artifacts (SBOMs) to a pushed image: OCI 1.1 referrers, with the referrers tag
scheme for registries that lack the referrers API.

Every artifact's blobs go up first, then their manifests by digest. A registry with the
referrers API answers that PUT with ``OCI-Subject`` and lists the artifact under
``/v2/<name>/referrers/<digest>`` itself. One without it (distribution 2.x) does not:
then the index tagged ``sha256-<hex of the subject>`` is read, the artifacts merged into
it, and it is put back -- what ``oras`` and ``cosign`` read on such registries. That
read-merge-put is not atomic: two builds attaching to the same image at the same moment
may drop each other's entry (the manifests themselves stay, by digest).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from layerplan.image.referrer import Artifact, referrers_tag
from layerplan.oci.descriptor import MediaType
from layerplan.oci.digest import Digest, canonical_json
from layerplan.registry.client import RegistryClient
from layerplan.registry.errors import RegistryError, RegistryNotFoundError
from layerplan.registry.push import DEFAULT_WORKERS

__all__ = ["find_referrers", "list_referrers", "push_referrer_blobs", "push_referrers", "select_referrers"]


def push_referrer_blobs(client: RegistryClient, repository: str, artifacts: Sequence[Artifact]) -> None:
    """The blobs of ``artifacts``, each distinct one once, all at once: what
    :func:`push_referrers` sends first. They name no image, so a push may send them while
    the image itself goes up. Raises ``RegistryError`` subclasses."""
    blobs = {digest: data for artifact in artifacts for digest, data in artifact.blobs}
    if not blobs:
        return

    def settle(digest: Digest, data: bytes) -> None:
        if client.head_blob(repository, digest) is None:
            client.upload_blob(repository, digest, len(data), _opener(data))

    with ThreadPoolExecutor(max_workers=min(DEFAULT_WORKERS, len(blobs)), thread_name_prefix="layerplan-attach") as pool:
        list(pool.map(settle, blobs.keys(), blobs.values()))


def push_referrers(
    client: RegistryClient, repository: str, artifacts: Sequence[Artifact], *, blobs_sent: bool = False
) -> str | None:
    """Push ``artifacts`` (all about one image, already pushed) to ``repository``; return
    how they are found: ``referrers API`` or ``tag sha256-<hex>``; ``None`` for none.
    ``blobs_sent``: :func:`push_referrer_blobs` sent their blobs already.

    Raises ``RegistryError`` subclasses, as a push does.
    """
    if not artifacts:
        return None
    # Each distinct blob once (the artifacts share their empty config), all at once, then
    # the manifests at once: one after the other they were ~15 round trips on the path of
    # every code-change rebuild.
    if not blobs_sent:
        push_referrer_blobs(client, repository, artifacts)

    def put(artifact: Artifact) -> bool:
        return client.put_referrer(repository, artifact.manifest, MediaType.OCI_MANIFEST)

    with ThreadPoolExecutor(max_workers=min(DEFAULT_WORKERS, len(artifacts)), thread_name_prefix="layerplan-attach") as pool:
        indexed = all(list(pool.map(put, artifacts)))  # every PUT, whatever the first answers
    if indexed:
        return "referrers API"
    subjects = {artifact.subject for artifact in artifacts}
    for subject in sorted(subjects, key=str):
        tag = referrers_tag(subject)
        _merge_into_tag(client, repository, tag, [a for a in artifacts if a.subject == subject])
    return "tag " + ", ".join(referrers_tag(s) for s in sorted(subjects, key=str))


def _opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def _merge_into_tag(client: RegistryClient, repository: str, tag: str, artifacts: Sequence[Artifact]) -> None:
    try:
        existing = client.get_manifest(repository, tag)
    except RegistryNotFoundError:
        entries: list[dict[str, Any]] = []
    else:
        try:
            index = json.loads(existing.data)
            entries = [e for e in index.get("manifests") or [] if isinstance(e, dict)]
        except (ValueError, AttributeError) as exc:
            raise RegistryError(
                f"{client.registry}/{repository}:{tag} is not an index of referrers: {exc}",
                hint=f"delete the tag {tag} (the referrers tag scheme of the OCI image spec) and build again",
            ) from exc
    ours = [artifact.descriptor_json() for artifact in artifacts]
    digests = {entry["digest"] for entry in ours}
    merged = [e for e in entries if e.get("digest") not in digests] + ours
    body = canonical_json({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": merged})
    client.put_manifest(repository, tag, body, MediaType.OCI_INDEX)


def find_referrers(client: RegistryClient, repository: str, subject: Digest, artifact_type: str) -> list[Digest]:
    """Digests of the manifests of ``artifact_type`` that refer to ``subject``: from the
    referrers API, else the referrers tag; empty when there are none."""
    return [digest for digest, _ in select_referrers(list_referrers(client, repository, subject), artifact_type)]


def list_referrers(client: RegistryClient, repository: str, subject: Digest) -> list[dict[str, Any]]:
    """The descriptors (with ``artifactType`` and annotations) of the manifests that refer
    to ``subject``: from the referrers API, else the referrers tag; empty when there are none."""
    index = client.get_referrers(repository, subject)
    if index is None:
        try:
            index = json.loads(client.get_manifest(repository, referrers_tag(subject)).data)
        except RegistryNotFoundError:
            return []
        except ValueError:
            return []
    if not isinstance(index, dict):
        return []
    return [entry for entry in index.get("manifests") or [] if isinstance(entry, dict)]


def select_referrers(entries: Sequence[dict[str, Any]], artifact_type: str) -> list[tuple[Digest, dict[str, str]]]:
    """The digests and annotations of the ``entries`` of ``artifact_type`` (entries whose
    digest does not parse are left out)."""
    found = []
    for entry in entries:
        if entry.get("artifactType") == artifact_type:
            try:
                digest = Digest.parse(str(entry.get("digest")))
            except ValueError:
                continue
            annotations = entry.get("annotations")
            found.append((digest, {str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {}))
    return found
