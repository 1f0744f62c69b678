"""The few OCI distribution API calls the build benchmark needs, against a loopback registry.

Only ``http://127.0.0.1:PORT`` (the test registry): the benchmark never talks to
another address.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

__all__ = ["ImageManifest", "Registry"]

_INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
_MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True, slots=True)
class ImageManifest:
    digest: str
    size: int
    """Bytes of the manifest itself."""
    config: tuple[str, int]
    layers: tuple[tuple[str, int], ...]
    """(digest, compressed size) in image order."""

    @property
    def compressed_size(self) -> int:
        """Layers + config + manifest: what a pull of this image downloads at most."""
        return sum(size for _, size in self.layers) + self.config[1] + self.size


class Registry:
    def __init__(self, address: str) -> None:
        host = address.split(":")[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            raise ValueError(f"the benchmark only talks to a loopback registry, not {address}")
        self.base = f"http://{address}/v2"

    def _request(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def up(self) -> bool:
        try:
            return self._request("GET", "/")[0] == 200
        except OSError:
            return False

    def tags(self, repository: str) -> list[str]:
        status, _, body = self._request("GET", f"/{repository}/tags/list")
        if status != 200:
            return []
        return list(json.loads(body).get("tags") or [])

    def manifest(self, repository: str, reference: str) -> ImageManifest | None:
        status, headers, body = self._request("GET", f"/{repository}/manifests/{reference}", {"Accept": _MANIFEST_TYPES})
        if status != 200:
            return None
        data = json.loads(body)
        digest = next((v for k, v in headers.items() if k.lower() == "docker-content-digest"), "")
        return ImageManifest(
            digest=digest,
            size=len(body),
            config=(data["config"]["digest"], int(data["config"]["size"])),
            layers=tuple((layer["digest"], int(layer["size"])) for layer in data.get("layers", [])),
        )

    def _index_children(self, repository: str, reference: str) -> list[str]:
        """The manifests an OCI index at ``reference`` lists (deleting the index itself); [] if not an index."""
        status, headers, body = self._request("GET", f"/{repository}/manifests/{reference}", {"Accept": _INDEX_TYPE})
        if status != 200 or json.loads(body).get("mediaType") != _INDEX_TYPE:
            return []
        digest = next((v for k, v in headers.items() if k.lower() == "docker-content-digest"), "")
        if digest:
            self._request("DELETE", f"/{repository}/manifests/{digest}")
        return [str(m["digest"]) for m in json.loads(body).get("manifests", [])]

    def has_manifest(self, repository: str, reference: str) -> bool:
        return self._request("HEAD", f"/{repository}/manifests/{reference}", {"Accept": _MANIFEST_TYPES})[0] == 200

    def empty_repository(self, repository: str) -> int:
        """Delete every manifest of ``repository`` and unlink every blob they name.

        The blobs' bytes stay in the registry's storage (only a garbage collection run by
        the registry's owner removes them), but the repository no longer has them: a HEAD
        says 404, a push must upload (or mount) them again. Returns the blobs unlinked.
        """
        tags = self.tags(repository)
        manifests = [m for tag in tags if (m := self.manifest(repository, tag)) is not None]
        # The referrers tags (``sha256-<image digest>``, where the registry has no referrers
        # API) name indexes of the attached artifacts (SBOMs, provenance): those go too.
        for tag in tags:
            for child in self._index_children(repository, tag):
                if (artifact := self.manifest(repository, child)) is not None:
                    manifests.append(artifact)
                self._request("DELETE", f"/{repository}/manifests/{child}")
        blobs = {digest for m in manifests for digest, _ in (*m.layers, m.config)}
        for digest in {m.digest for m in manifests if m.digest}:
            self._request("DELETE", f"/{repository}/manifests/{digest}")
        for digest in blobs:
            self._request("DELETE", f"/{repository}/blobs/{digest}")
        return len(blobs)
