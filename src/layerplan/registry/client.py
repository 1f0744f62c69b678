"""A client for one registry: the OCI distribution spec's manifest and blob endpoints.

Every method is one idea of the spec (get/put a manifest, check/get/mount/upload a
blob), verifies what it reads or writes against its digest, and raises a
``RegistryError`` subclass with a hint on failure. ``push_image`` (push.py) combines
them into an image push. Every read is retried, body included, by the one loop of
``layerplan.http``; so is a chunked upload as a whole.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

import requests

from layerplan.http import ReadAgain, RetryPolicy, TransportError
from layerplan.oci import Digest
from layerplan.oci.descriptor import MediaType
from layerplan.registry.auth import scope
from layerplan.registry.credentials import Credentials, DockerConfigKeychain, Keychain
from layerplan.registry.errors import (
    BlobVerificationError,
    RegistryConnectionError,
    RegistryError,
    RegistryNotFoundError,
    error_from_response,
)
from layerplan.registry.manifest import ACCEPTED_MANIFEST_TYPES, FetchedManifest, Platform, select_platform
from layerplan.registry.transport import Transport
from layerplan.registry.upload import BlobUpload, Opener, cancel_upload, digest_of, new_hasher

__all__ = ["CHUNK_SIZE", "MAX_MANIFEST_SIZE", "MONOLITHIC_LIMIT", "Opener", "RegistryClient"]

MONOLITHIC_LIMIT = 8 * 1024 * 1024
"""Blobs up to this size go up in one PUT; larger ones in PATCH chunks."""
CHUNK_SIZE = 8 * 1024 * 1024
"""Size of one PATCH of a chunked upload."""
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
"""The OCI distribution spec's manifest size registries must accept; more is refused."""

_READ_SIZE = 1024 * 1024
T = TypeVar("T")


def _media_type(response: requests.Response, data: bytes, where: str) -> str:
    header = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
    if header in ACCEPTED_MANIFEST_TYPES:
        return header
    try:
        manifest = FetchedManifest(data, header, Digest.of_bytes(data)).json()
    except ValueError as error:  # a body cut short without the framing telling: read it again
        raise NotWhatWasSent(RegistryError(f"{where}: the manifest is not JSON ({error})")) from error
    declared = manifest.get("mediaType")
    if declared in ACCEPTED_MANIFEST_TYPES:
        return str(declared)
    if declared is None and manifest.get("schemaVersion") == 2:
        # mediaType is optional in early OCI manifests: tell them apart by shape.
        return MediaType.OCI_INDEX if "manifests" in manifest else MediaType.OCI_MANIFEST
    raise RegistryError(
        f"{where}: unsupported manifest type {declared or header or 'unknown'}",
        hint="layerplan reads OCI and Docker schema 2 manifests; re-push the image with a current tool",
    )


class RegistryClient:
    """Talks to one registry host (``host[:port]``).

    ``insecure_hosts`` are hosts reached over plain HTTP (loopback always is).
    ``credentials`` is fixed ``Credentials`` for this registry, a ``Keychain``, or
    ``None`` for the Docker CLI's config (``DockerConfigKeychain``), read only when the
    registry asks for authentication.
    """

    def __init__(
        self,
        registry: str,
        *,
        insecure_hosts: Collection[str] = (),
        credentials: Credentials | Keychain | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        monolithic_limit: int = MONOLITHIC_LIMIT,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.registry = registry
        self.monolithic_limit = monolithic_limit
        self.chunk_size = chunk_size
        source: Callable[[], Credentials | None]
        if isinstance(credentials, Credentials):
            fixed = credentials

            def source() -> Credentials | None:
                return fixed

        else:
            keychain: Keychain = credentials if credentials is not None else DockerConfigKeychain()

            def source() -> Credentials | None:
                return keychain.credentials_for(registry)

        self.transport = Transport(
            registry, insecure_hosts=insecure_hosts, credentials=source, retry=retry, session=session
        )

    # ------------------------------------------------------------------ manifests

    def get_manifest(self, repository: str, reference: str | Digest, *, for_push: bool = False) -> FetchedManifest:
        """The manifest or index tagged ``reference`` (a tag or a digest), verified.
        ``for_push``: asked before a push, with the push's scope (one token for both).

        Raises ``RegistryNotFoundError`` when it does not exist, ``BlobVerificationError``
        when its bytes do not match the digest asked for or announced.
        """
        ref = str(reference)
        where = f"get manifest {self.registry}/{repository}{'@' if ':' in ref else ':'}{ref}"

        wanted = Digest.parse(ref) if ":" in ref else None

        def read(response: requests.Response) -> FetchedManifest:
            if response.status_code != 200:
                error = error_from_response(response, action=where, registry=self.registry)
                if isinstance(error, RegistryNotFoundError) and error.hint is None:
                    error.hint = f"check that {repository}:{ref} exists on {self.registry}"
                raise error
            data = self._read_limited(response, MAX_MANIFEST_SIZE, where)
            digest = digest_of(data, wanted.algorithm if wanted else "sha256")
            announced = response.headers.get("Docker-Content-Digest")
            for expected in (wanted, _parse_digest(announced)):
                if expected is not None and expected.algorithm == digest.algorithm and expected != digest:
                    raise NotWhatWasSent(BlobVerificationError(
                        f"{where}: content has digest {digest}, expected {expected}", registry=self.registry
                    ))  # fmt: skip
            return FetchedManifest(data, _media_type(response, data, where), digest)

        return self._get(
            f"/v2/{repository}/manifests/{ref}", read, repository, headers={"Accept": ", ".join(ACCEPTED_MANIFEST_TYPES)},
            for_push=for_push,
        )


    def head_manifest(self, repository: str, reference: str | Digest, *, for_push: bool = False) -> Digest | None:
        """The digest of the manifest ``reference`` (a tag or digest) names, as the registry
        announces it (``Docker-Content-Digest``); ``None`` when there is none, or the
        registry does not say. One HEAD: no body is read. ``for_push``: asked before a push,
        with the push's scope (one token for both)."""
        response = self.transport.request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            scopes=[scope(repository, "pull", "push") if for_push else scope(repository, "pull")],
            headers={"Accept": ", ".join(ACCEPTED_MANIFEST_TYPES)},
        )
        with response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise error_from_response(
                    response, action=f"check manifest {self.registry}/{repository}:{reference}", registry=self.registry
                )
            return _parse_digest(response.headers.get("Docker-Content-Digest"))

    def get_image_manifest(
        self, repository: str, reference: str | Digest, platform: Platform | str
    ) -> FetchedManifest:
        """The image manifest for ``platform``: ``reference`` itself, or its index's entry."""
        fetched = self.get_manifest(repository, reference)
        if not fetched.is_index:
            return fetched
        wanted = Platform.parse(platform) if isinstance(platform, str) else platform
        try:
            entry = select_platform(fetched, wanted)
        except LookupError as error:
            raise RegistryNotFoundError(
                f"{self.registry}/{repository}:{reference}: {error}",
                registry=self.registry,
                hint="choose one of the platforms it has",
            ) from error
        except (ValueError, KeyError) as error:
            raise RegistryError(f"{self.registry}/{repository}:{reference}: malformed index ({error})") from error
        return self.get_manifest(repository, entry.digest)

    def put_manifest(self, repository: str, reference: str | Digest, data: bytes, media_type: str) -> Digest:
        """Store ``data`` under a tag (or its digest); return its digest, as the registry confirms."""
        return self._put_manifest(repository, reference, data, media_type)[0]

    def put_referrer(self, repository: str, data: bytes, media_type: str) -> bool:
        """Store an artifact manifest (one with a ``subject``) under its digest; True when the
        registry says it indexed it for its subject (the ``OCI-Subject`` header: it has the
        referrers API), False when the referrers tag is the caller's to maintain."""
        return self._put_manifest(repository, Digest.of_bytes(data), data, media_type)[1]

    def _put_manifest(self, repository: str, reference: str | Digest, data: bytes, media_type: str) -> tuple[Digest, bool]:
        digest = Digest.of_bytes(data)
        where = f"push manifest {self.registry}/{repository}:{reference}"
        response = self.transport.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scopes=[scope(repository, "pull", "push")],
            headers={"Content-Type": media_type},
            body=data,
        )
        with response:
            if response.status_code not in (200, 201):
                raise error_from_response(response, action=where, registry=self.registry)
        confirmed = _parse_digest(response.headers.get("Docker-Content-Digest"))
        if confirmed is not None and confirmed != digest:
            raise BlobVerificationError(
                f"{where}: registry stored digest {confirmed}, the manifest's is {digest}", registry=self.registry
            )
        return digest, bool(response.headers.get("OCI-Subject"))

    # ------------------------------------------------------------------ blobs: read

    def head_blob(self, repository: str, digest: Digest) -> int | None:
        """The blob's size when ``repository`` has it, else ``None``."""
        response = self.transport.request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scopes=[scope(repository, "pull")]
        )
        with response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise error_from_response(
                    response, action=f"check blob {digest.short} in {repository}", registry=self.registry
                )
            return int(response.headers.get("Content-Length", "0"))

    def get_blob(self, repository: str, digest: Digest, dest: Path, *, size: int | None = None) -> int:
        """Download a blob into ``dest`` (atomically), verified; return its size.

        A download cut off midway is started again from its first byte, as often as the
        retry policy allows.
        """
        where = f"get blob {digest.short} from {self.registry}/{repository}"
        dest.parent.mkdir(parents=True, exist_ok=True)

        def download(response: requests.Response) -> int:
            if response.status_code != 200:
                raise error_from_response(response, action=where, registry=self.registry)
            hasher = new_hasher(digest)
            written = 0
            fd, tmp_name = tempfile.mkstemp(prefix=".download-", dir=dest.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_content(_READ_SIZE):
                        hasher.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
                if size is not None and written < size:  # a body without Content-Length that ended early
                    raise ReadAgain(f"body cut short at {written} of {size} bytes")
                actual = Digest(digest.algorithm, hasher.hexdigest())
                if actual != digest or (size is not None and written != size):
                    raise NotWhatWasSent(BlobVerificationError(
                        f"{where}: got {written} bytes with digest {actual}, expected {digest}"
                        + (f" ({size} bytes)" if size is not None else ""),
                        registry=self.registry,
                    ))  # fmt: skip
                os.replace(tmp_name, dest)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
            return written

        return self._get(f"/v2/{repository}/blobs/{digest}", download, repository)

    def get_referrers(self, repository: str, subject: Digest) -> dict[str, Any] | None:
        """The referrers API's index of the manifests whose ``subject`` is ``subject``;
        ``None`` when the registry has no referrers API (it answers 404)."""
        where = f"list referrers of {subject.short} in {self.registry}/{repository}"

        def read(response: requests.Response) -> dict[str, Any] | None:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise error_from_response(response, action=where, registry=self.registry)
            try:
                index = json.loads(self._read_limited(response, MAX_MANIFEST_SIZE, where))
            except ValueError as exc:
                raise RegistryError(f"{where}: not JSON ({exc})", registry=self.registry) from exc
            return index if isinstance(index, dict) else None

        return self._get(f"/v2/{repository}/referrers/{subject}", read, repository)

    def read_blob(self, repository: str, digest: Digest, *, max_size: int = 64 * 1024 * 1024) -> bytes:
        """A small blob (an image config) in memory, verified. A body cut short is read again."""
        where = f"get blob {digest.short} from {self.registry}/{repository}"

        def read(response: requests.Response) -> bytes:
            if response.status_code != 200:
                raise error_from_response(response, action=where, registry=self.registry)
            data = self._read_limited(response, max_size, where)
            if digest_of(data, digest.algorithm) != digest:
                raise NotWhatWasSent(
                    BlobVerificationError(f"{where}: content does not match its digest", registry=self.registry)
                )
            return data

        return self._get(f"/v2/{repository}/blobs/{digest}", read, repository)

    def _get(
        self,
        path: str,
        handle: Callable[[requests.Response], T],
        repository: str,
        *,
        headers: dict[str, str] | None = None,
        for_push: bool = False,
    ) -> T:
        """A GET whose body ``handle`` reads and verifies, retried with the body; a body that
        stays unlike its digest on every try is reported as such, not as a broken connection."""
        scopes = [scope(repository, "pull", "push") if for_push else scope(repository, "pull")]
        try:
            return self.transport.exchange("GET", path, handle, scopes=scopes, headers=headers, stream=True)
        except RegistryConnectionError as error:
            failed = error.__cause__
            if isinstance(failed, TransportError) and isinstance(failed.cause, NotWhatWasSent):
                raise failed.cause.error from error
            raise

    def _read_limited(self, response: requests.Response, limit: int, where: str) -> bytes:
        """The body, refused beyond ``limit`` bytes. A read that breaks off raises
        ``requests``' own error, which the transport's loop retries."""
        parts: list[bytes] = []
        total = 0
        for chunk in response.iter_content(_READ_SIZE):
            total += len(chunk)
            if total > limit:
                raise RegistryError(f"{where}: larger than {limit} bytes", registry=self.registry)
            parts.append(chunk)
        return b"".join(parts)

    # ------------------------------------------------------------------ blobs: write

    def mount_blob(self, repository: str, digest: Digest, from_repository: str) -> bool:
        """Link a blob that ``from_repository`` (same registry) has into ``repository``.

        True when mounted; False when the registry declined (it does not have the blob
        there, or does not mount), and nothing changed.
        """
        response = self.transport.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=[scope(repository, "pull", "push"), scope(from_repository, "pull")],
            params={"mount": str(digest), "from": from_repository},
        )
        with response:
            if response.status_code == 201:
                return True
            if response.status_code == 202:  # declined: it opened an upload instead; drop it
                cancel_upload(self.transport, repository, response.headers.get("Location"))
                return False
            raise error_from_response(
                response, action=f"mount blob {digest.short} from {from_repository} into {repository}",
                registry=self.registry,
            )

    def upload_blob(self, repository: str, digest: Digest, size: int, opener: Opener) -> int:
        """Upload a blob: one PUT up to ``monolithic_limit`` bytes, else PATCH chunks.

        The content is hashed on the way and checked against ``digest`` and ``size``
        before the upload is committed (``BlobVerificationError`` otherwise). A chunked
        upload that fails midway temporarily is started over, within the retry policy;
        an upload whose session the registry lost is started over from a fresh POST
        (``upload.MAX_SESSION_RESTARTS``). Returns the number of bytes sent.
        """
        upload = BlobUpload(self.transport, repository, digest, size, head=lambda: self.head_blob(repository, digest))
        chunked = size > self.monolithic_limit
        return upload.push(opener, chunk_size=self.chunk_size if chunked else None, policy=self.transport.retry)


class NotWhatWasSent(ReadAgain):
    """A body read whole that is not what was announced (digest, size, not JSON): one cut
    short without the framing telling (no ``Content-Length``) looks like this, so it is
    read again; ``error`` is what to report when every try reads the same."""

    def __init__(self, error: RegistryError) -> None:
        super().__init__(error.message)
        self.error = error


def _parse_digest(text: str | None) -> Digest | None:
    if not text:
        return None
    try:
        return Digest.parse(text.strip())
    except ValueError:
        return None
