"""The blob upload protocol of the distribution spec: POST, then one PUT or PATCHes + PUT.

``POST /v2/NAME/blobs/uploads/`` opens an upload session and answers its ``Location``.
A small blob then goes in one ``PUT Location?digest=D``; a large one in ``PATCH``
chunks (each answering the next ``Location``), committed by an empty ``PUT``. The
content is hashed as it is read and checked against the descriptor before the commit,
so a registry never stores a blob under a digest it does not have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import BinaryIO

from layerplan.oci import Digest
from layerplan.registry.auth import scope
from layerplan.registry.errors import BlobVerificationError, RegistryError, error_from_response
from layerplan.registry.transport import Transport

__all__ = ["BlobUpload", "Opener", "cancel_upload", "digest_of", "new_hasher"]

Opener = Callable[[], BinaryIO]
"""Opens a fresh binary stream of a blob's content, from its start (called per try)."""


def new_hasher(digest: Digest) -> hashlib._Hash:
    """A hash object of ``digest``'s algorithm."""
    return hashlib.new(digest.algorithm)


def digest_of(data: bytes, algorithm: str) -> Digest:
    """The digest of ``data`` with ``algorithm`` (``sha256``, ``sha512``)."""
    return Digest(algorithm, hashlib.new(algorithm, data).hexdigest())


class BlobUpload:
    """Uploads one blob (``digest``, ``size``) into one repository."""

    def __init__(
        self, transport: Transport, repository: str, digest: Digest, size: int, *, head: Callable[[], int | None]
    ) -> None:
        """``head`` tells whether the blob is already there (used after an ambiguous commit)."""
        self._transport = transport
        self._repository = repository
        self._digest = digest
        self._size = size
        self._head = head
        self._scopes = [scope(repository, "pull", "push")]
        self._where = f"push blob {digest.short} to {transport.registry}/{repository}"

    def monolithic(self, opener: Opener) -> int:
        """Read the whole blob, check it, and send it in one PUT; return the bytes sent."""
        with opener() as stream:
            data = stream.read(self._size + 1)
        self._check(digest_of(data, self._digest.algorithm), len(data))
        self._commit(self._start(), data)
        return len(data)

    def chunked(self, opener: Opener, chunk_size: int) -> int:
        """Send the blob in PATCHes of ``chunk_size`` bytes; return the bytes sent.

        A PATCH is never repeated (it could append twice): a failure abandons the
        session, and the caller may start over.
        """
        location = self._start()
        hasher = new_hasher(self._digest)
        offset = 0
        try:
            with opener() as stream:
                while chunk := stream.read(chunk_size):
                    hasher.update(chunk)
                    response = self._transport.request(
                        "PATCH",
                        location,
                        scopes=self._scopes,
                        headers={
                            "Content-Type": "application/octet-stream",
                            "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                        },
                        body=chunk,
                        retry=False,
                    )
                    with response:
                        if response.status_code != 202:
                            raise error_from_response(response, action=self._where, registry=self._transport.registry)
                        location = response.headers.get("Location") or location
                    offset += len(chunk)
            self._check(Digest(self._digest.algorithm, hasher.hexdigest()), offset)
        except BaseException:
            cancel_upload(self._transport, self._repository, location)
            raise
        self._commit(location, b"")
        return offset

    def _start(self) -> str:
        response = self._transport.request("POST", f"/v2/{self._repository}/blobs/uploads/", scopes=self._scopes)
        with response:
            location = response.headers.get("Location")
            if response.status_code != 202 or not location:
                raise error_from_response(response, action=self._where, registry=self._transport.registry)
        return location

    def _check(self, actual: Digest, actual_size: int) -> None:
        if actual != self._digest or actual_size != self._size:
            raise BlobVerificationError(
                f"{self._where}: content has {actual_size} bytes with digest {actual}, "
                f"the descriptor says {self._size} bytes with {self._digest}",
                registry=self._transport.registry,
                hint="the layer changed after it was described; build it again",
            )

    def _commit(self, location: str, body: bytes) -> None:
        response = self._transport.request(
            "PUT",
            location,
            scopes=self._scopes,
            headers={"Content-Type": "application/octet-stream"},
            params={"digest": str(self._digest)},
            body=body,
        )
        with response:
            if response.status_code in (201, 204):
                return
            # A retried PUT whose first try did land finds its session gone: the blob is there.
            if response.status_code == 404 and self._head() is not None:
                return
            raise error_from_response(response, action=self._where, registry=self._transport.registry)


def cancel_upload(transport: Transport, repository: str, location: str | None) -> None:
    """Best effort: an abandoned session is also garbage-collected by the registry."""
    if not location:
        return
    try:
        transport.request("DELETE", location, scopes=[scope(repository, "pull", "push")], retry=False).close()
    except RegistryError:
        pass
