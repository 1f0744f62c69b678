"""One registry client per host, shared by the sources and sinks of one build."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layerplan.registry import RegistryClient

__all__ = ["ClientPool"]


class ClientPool:
    """One ``RegistryClient`` per registry host, sharing auth tokens within a build.

    The registry stack (``requests``) is imported on the first ``get``, so parsing
    specs and local-only builds never load it.
    """

    def __init__(self, insecure_hosts: tuple[str, ...] = ()) -> None:
        self.insecure_hosts = insecure_hosts
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    def get(self, registry: str) -> RegistryClient:
        """The client for ``registry`` (``host[:port]``)."""
        from layerplan.registry import RegistryClient

        with self._lock:  # sinks may run in threads one day; a second client would lose the token
            if registry not in self._clients:
                self._clients[registry] = RegistryClient(registry, insecure_hosts=self.insecure_hosts)
            return self._clients[registry]
