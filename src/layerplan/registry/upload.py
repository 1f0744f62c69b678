"""The blob upload protocol of the distribution spec: POST, then one PUT or PATCHes + PUT.

``POST /v2/NAME/blobs/uploads/`` opens an upload session and answers its ``Location``.
A small blob then goes in one ``PUT Location?digest=D``; a large one in ``PATCH``
chunks (each answering the next ``Location``), committed by an empty ``PUT``. The
content is hashed as it is read and checked against the descriptor before the commit,
so a registry never stores a blob under a digest it does not have.

``BlobUpload.push`` starts an upload over when it cannot go on: from a fresh ``POST``
when the registry lost the session (a restart, or a replica behind a load balancer that
never saw it: 404 ``BLOB_UPLOAD_UNKNOWN``, ``BLOB_UPLOAD_INVALID``, 416), at most
``MAX_SESSION_RESTARTS`` times; and, for a chunked upload, after a temporary failure
(a ``PATCH`` is never repeated on its own: it could append twice), within the retry
policy. When it gives up, the error says which request failed and how often.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import BinaryIO

import requests

from layerplan.http import RetryPolicy
from layerplan.oci import Digest
from layerplan.registry.auth import scope
from layerplan.registry.errors import (
    BlobVerificationError,
    RegistryConnectionError,
    RegistryError,
    error_from_response,
)
from layerplan.registry.transport import Transport

__all__ = [
    "MAX_SESSION_RESTARTS",
    "BlobUpload",
    "Opener",
    "UploadSessionLost",
    "cancel_upload",
    "digest_of",
    "new_hasher",
]

log = logging.getLogger(__name__)

MAX_SESSION_RESTARTS = 3
"""Fresh sessions opened for one blob after the registry lost one; then it is an error."""


class UploadSessionLost(RegistryError):
    """The registry no longer knows an upload session it opened (``method`` was refused)."""

    def __init__(self, error: RegistryError, *, method: str) -> None:
        super().__init__(
            error.message, status=error.status, code=error.code, detail=error.detail, registry=error.registry,
            hint=error.hint,
        )  # fmt: skip
        self.method = method

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

    def push(self, opener: Opener, *, chunk_size: int | None, policy: RetryPolicy) -> int:
        """Upload in one PUT (``chunk_size`` None) or in PATCH chunks, starting over as the
        module docstring says; return the bytes sent by the try that succeeded.

        Raises ``UploadSessionLost`` once the session was lost ``MAX_SESSION_RESTARTS``
        times more than allowed, ``RegistryConnectionError`` naming the request that got
        no answer on every try, or the registry's own error.
        """
        lost = 0
        failures: list[RegistryError] = []
        while True:
            try:
                return self.monolithic(opener) if chunk_size is None else self.chunked(opener, chunk_size)
            except UploadSessionLost as error:
                lost += 1
                if lost > MAX_SESSION_RESTARTS:
                    raise self._lost_for_good(error, lost) from error
                wait = policy.delay(lost)  # a registry that restarted may need a moment
            except RegistryError as error:
                # A monolithic upload's requests were retried one by one already; a chunked
                # upload starts over after a temporary failure, within the policy.
                again = chunk_size is not None and error.temporary
                failures = [*failures, error] if again else [error]
                if not again or len(failures) >= max(policy.attempts, 1):
                    said = self._failing_for_good(failures)
                    if said is error:
                        raise
                    raise said from error
                wait = policy.delay(len(failures))
            log.info("%s: starting over in %.2fs", self._where, wait)
            policy.sleep(wait)

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
                        what=f"PATCH blob {self._digest.short}",
                    )
                    with response:
                        if response.status_code != 202:
                            raise self._refused(response, "PATCH")
                        location = response.headers.get("Location") or location
                    offset += len(chunk)
            self._check(Digest(self._digest.algorithm, hasher.hexdigest()), offset)
        except BaseException:
            cancel_upload(self._transport, self._repository, location)
            raise
        self._commit(location, b"")
        return offset

    def _start(self) -> str:
        response = self._transport.request(
            "POST", f"/v2/{self._repository}/blobs/uploads/", scopes=self._scopes,
            what=f"POST upload of blob {self._digest.short}",
        )  # fmt: skip
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
            what=f"PUT blob {self._digest.short}",
        )
        with response:
            if response.status_code in (201, 204):
                return
            # A retried PUT whose first try did land finds its session gone: the blob is there.
            if response.status_code == 404 and self._head() is not None:
                return
            raise self._refused(response, "PUT")

    def _refused(self, response: requests.Response, method: str) -> RegistryError:
        """The error for a refused PATCH or PUT of the session: ``UploadSessionLost`` when
        the registry no longer knows the session or where it stands."""
        error = error_from_response(response, action=self._where, registry=self._transport.registry)
        lost = (
            error.status == 416  # the registry's offset is not ours: it lost (part of) the session
            or error.code == "BLOB_UPLOAD_INVALID"
            or (error.status == 404 and error.code in (None, "BLOB_UPLOAD_UNKNOWN"))
        )
        return UploadSessionLost(error, method=method) if lost else error

    def _lost_for_good(self, error: UploadSessionLost, times: int) -> UploadSessionLost:
        said = " ".join(str(part) for part in (error.status, error.code) if part)
        gave_up = RegistryError(
            f"{self._where}: {self._transport.registry} lost the upload session {times} times in a row "
            f"(the {error.method} of a fresh session was answered {said})",
            status=error.status, code=error.code, detail=error.detail, registry=self._transport.registry,
            hint="a registry that restarts, or replicas behind a load balancer that do not share upload "
            "state, lose sessions; check the registry's storage and its replicas",
        )  # fmt: skip
        return UploadSessionLost(gave_up, method=error.method)

    def _failing_for_good(self, failures: list[RegistryError]) -> RegistryError:
        """The last failure, said as what kept failing when every try got no answer the same
        way: ``the connection was reset on every PATCH of the blob's upload (5 tries; ...)``."""
        last = failures[-1]
        dropped = [f for f in failures if isinstance(f, RegistryConnectionError)]
        if len(dropped) != len(failures) or not isinstance(last, RegistryConnectionError):
            return last
        reasons = {f.reason or "" for f in dropped}
        if len({f.method for f in dropped}) != 1:
            return last
        if len(reasons) == 1:
            reason = reasons.pop()
        elif all(r.startswith("the connection was") for r in reasons):  # reset, or closed: both hang-ups
            reason = "the connection was reset or closed"
        else:
            return last
        tries = sum(f.tries for f in dropped)  # a monolithic PUT: its own retries
        if tries < 2:
            return last
        return RegistryConnectionError(
            f"{self._where}: {reason} on every {last.method} of the blob's upload ({tries} tries; last: {last.cause})",
            method=last.method, reason=reason, cause=last.cause, tries=tries, registry=self._transport.registry,
            hint=f"{self._transport.registry} answers other requests; check the network and any proxy in front "
            "of the registry (its request size limit or timeouts)",
        )  # fmt: skip


def cancel_upload(transport: Transport, repository: str, location: str | None) -> None:
    """Best effort: an abandoned session is also garbage-collected by the registry."""
    if not location:
        return
    try:
        transport.request("DELETE", location, scopes=[scope(repository, "pull", "push")], retry=False).close()
    except RegistryError:
        pass
