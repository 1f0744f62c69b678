"""The layer plan: ordered layers, each with contents, a cache key and a reason."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from layerplan.oci.digest import canonical_json
from layerplan.urls import public_url
from layerplan.selection.model import InstallItem, InstallSet
from layerplan.target.model import Target

__all__ = ["KEY_FORMAT", "PlannedLayer", "LayerKind", "LayerPlan", "SDIST_BUILD", "layer_key", "package_identity"]

LayerKind = Literal["environment", "dependencies", "local", "app", "config"]

SDIST_BUILD = (
    "its own PEP 517 backend in an isolated environment (build requirements from the lock's indexes, "
    "SOURCE_DATE_EPOCH set), the wheel normalized; one that needs compiling is built the same way in a "
    "container of the builder image (the base, or the `builder` option) through the Docker engine, with no network"
)
"""How the wheel of a package with ``choice == "sdist"`` is built (``build`` in ``plan --json``)."""

KEY_FORMAT = "layerplan-layer/1"
"""Bumped whenever the *contents* a key stands for are built differently, so old cache
entries are never reused for new-format layers."""


def layer_key(kind: LayerKind, inputs: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON of exactly the inputs that decide a layer's bytes.

    Never mtimes, absolute host paths or the project's version (except for the app layer,
    whose files do carry the version).
    """
    payload = {"format": KEY_FORMAT, "kind": kind, **inputs}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def package_identity(item: InstallItem) -> dict[str, Any]:
    """What identifies an installed package's bytes: name, version and its file or source."""
    identity: dict[str, Any] = {"name": item.name, "version": item.version}
    if item.wheel is not None:
        identity["file"] = sorted(item.wheel.hashes) or item.wheel.url or item.wheel.filename
    elif item.hashes:
        identity["hashes"] = sorted(item.hashes)
    source = item.source
    if source.kind != "registry":
        identity["source"] = {k: v for k, v in (("kind", source.kind), ("url", source.url), ("path", source.path), ("reference", source.reference), ("subdirectory", source.subdirectory)) if v}
    return identity


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedLayer:
    """One layer the image adds on top of its base."""

    name: str
    kind: LayerKind
    key: str
    """Cache key (hex sha256) that depends only on the layer's inputs."""
    reason: str
    """One line: why these contents are in this layer, here."""
    packages: tuple[InstallItem, ...] = ()
    estimated_size: int | None = None
    """Sum of the wheels' sizes (compressed) when the lock records them all."""

    def to_json(self) -> dict[str, Any]:
        """The layer in the documented ``layerplan plan --json`` shape."""
        return {
            "name": self.name,
            "kind": self.kind,
            "key": self.key,
            "reason": self.reason,
            "estimated_size": self.estimated_size,
            "packages": [_package_json(item) for item in self.packages],
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerPlan:
    """The whole plan: target, install set, and the layers in image order."""

    project_name: str
    project_version: str | None
    target: Target
    install_set: InstallSet
    layers: tuple[PlannedLayer, ...]
    lock_path: str
    venv: str
    warnings: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Image settings the plan fixed (entrypoint, env, user, workdir, labels)."""
    target_from: Mapping[str, str] = field(default_factory=dict)
    """Where each target fact came from: ``python``/``platform``/``libc`` -> ``base image X``,
    an option (``--python``, ``tool.layerplan.python``...) or ``default``."""

    def layer(self, name: str) -> PlannedLayer:
        """The layer called ``name``; ``KeyError`` when there is none."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The public JSON document of ``layerplan plan --json`` (see docs/plan-json.md)."""
        return {
            "schema": "layerplan.plan/1",
            "project": {"name": self.project_name, "version": self.project_version},
            "target": {
                "python": self.target.python_version_text,
                "python_full_version": self.target.python_full_version,
                "platform": self.target.platform,
                "libc": str(self.target.libc),
                "implementation": "cpython",
                "from": dict(self.target_from),
            },
            "lock": {"path": self.lock_path, "format": self.install_set.lock_format},
            "venv": self.venv,
            "settings": dict(self.settings),
            "layers": [layer.to_json() for layer in self.layers],
            "warnings": list(self.warnings),
        }


def _package_json(item: InstallItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": item.name,
        "version": item.version,
        "source": item.source.kind,
        "choice": item.choice,
    }
    chosen = item.wheel if item.wheel is not None else item.sdist
    if chosen is not None:
        out["file"] = chosen.filename or (chosen.url.rsplit("/", 1)[-1] if chosen.url else None)
        out["url"] = public_url(chosen.url) if chosen.url else None
        out["size"] = chosen.size
    if item.choice == "sdist":
        out["build"] = SDIST_BUILD
    if item.hashes:
        out["hashes"] = list(item.hashes)
    if item.source.kind != "registry":
        url = public_url(item.source.url) if item.source.url else None
        out["source_detail"] = {k: v for k, v in (("url", url), ("path", item.source.path), ("reference", item.source.reference)) if v}
    if item.note:
        out["note"] = item.note
    out["required_by"] = list(item.required_by)
    return out


def total_size(items: Sequence[InstallItem]) -> int | None:
    """Sum of known wheel sizes; ``None`` when any is unknown."""
    sizes = [item.size for item in items]
    return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)
