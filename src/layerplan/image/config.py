"""The image config: the base's config extended with layerplan's layers and runtime settings."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from layerplan.oci.digest import Digest, canonical_json

__all__ = ["LayerHistory", "RuntimeConfig", "extend_config", "rfc3339"]

# describe the base's build container, not ours
_LEGACY_FIELDS = ("container", "container_config", "docker_version", "id", "parent")
_VAR = re.compile(r"\\\$|\$\{(\w+)\}|\$(\w+)")


def rfc3339(epoch: int) -> str:
    """``1980-01-01T00:00:00Z`` for 315532800."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeConfig:
    """How a container of the image runs; unset fields keep the base's value."""

    env: tuple[tuple[str, str], ...] = ()
    """Set in order, like ``ENV``: ``$NAME``/``${NAME}`` expand to the value so far (``\\$`` is a
    literal ``$``), an existing name keeps its position."""
    entrypoint: tuple[str, ...] | None = None
    """Setting it clears the base's ``Cmd`` unless ``cmd`` is set too (as a Dockerfile does)."""
    cmd: tuple[str, ...] | None = None
    user: str | None = None
    """Prefer a numeric ``uid[:gid]``: it needs no ``/etc/passwd`` entry."""
    working_dir: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    """Added to (or replacing) the base's labels."""
    drop_base_labels: tuple[str, ...] = ()
    """Prefixes of the base's labels not to inherit (``org.opencontainers.image.``: they
    describe the base, not this image); ``labels`` may set such keys again."""

    def describe(self) -> str:
        """A Dockerfile-like line for the config-only history entry."""
        parts = []
        if self.env:
            parts.append("ENV " + " ".join(f"{k}={v}" for k, v in self.env))
        if self.entrypoint is not None:
            parts.append(f"ENTRYPOINT {json.dumps(list(self.entrypoint))}")
        if self.cmd is not None:
            parts.append(f"CMD {json.dumps(list(self.cmd))}")
        if self.user is not None:
            parts.append(f"USER {self.user}")
        if self.working_dir is not None:
            parts.append(f"WORKDIR {self.working_dir}")
        if self.labels:
            parts.append("LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in self.labels))
        return "; ".join(parts)


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerHistory:
    """A new layer as the config records it."""

    diff_id: Digest
    created_by: str
    """What the layer holds, shown by ``docker history`` (e.g. ``layerplan: numpy 2.1.0``)."""


def _expand(value: str, env: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        return env.get(match.group(1) or match.group(2), "")

    return _VAR.sub(substitute, value)


def _merge_env(base: Sequence[str], updates: Sequence[tuple[str, str]]) -> list[str]:
    env: dict[str, str] = {}
    for item in base:
        name, _, value = item.partition("=")
        env[name] = value
    for name, value in updates:
        env[name] = _expand(value, env)
    return [f"{k}={v}" for k, v in env.items()]


def _padded_history(config: Mapping[str, Any], base_layers: int) -> list[dict[str, Any]]:
    """The base's history, with entries added so that its non-empty ones match its layers.

    Without this, ``docker history`` would pair layerplan's entries with base layers.
    """
    history = [dict(h) for h in config.get("history") or []]
    real = sum(1 for h in history if not h.get("empty_layer"))
    history.extend({"created_by": "(base layer without history)"} for _ in range(base_layers - real))
    return history


def extend_config(
    base_config: Mapping[str, Any],
    *,
    layers: Sequence[LayerHistory],
    runtime: RuntimeConfig | None = None,
    epoch: int,
) -> bytes:
    """The canonical JSON of ``base_config`` with ``layers`` appended and ``runtime`` applied.

    ``os``/``architecture``/``variant`` and every setting ``runtime`` leaves unset are
    the base's. ``created`` (and each new history entry's) is ``epoch`` (the image's
    created time, which only the config holds), so the same inputs give the same config
    digest.
    """
    runtime = runtime or RuntimeConfig()
    config: dict[str, Any] = copy.deepcopy(dict(base_config))
    for name in _LEGACY_FIELDS:
        config.pop(name, None)
    created = rfc3339(epoch)
    base_diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    history = _padded_history(config, len(base_diff_ids))

    run: dict[str, Any] = dict(config.get("config") or {})
    if runtime.env:
        run["Env"] = _merge_env(run.get("Env") or [], runtime.env)
    if runtime.entrypoint is not None:
        run["Entrypoint"] = list(runtime.entrypoint)
        if runtime.cmd is None:
            run.pop("Cmd", None)
    if runtime.cmd is not None:
        run["Cmd"] = list(runtime.cmd)
    if runtime.user is not None:
        run["User"] = runtime.user
    if runtime.working_dir is not None:
        run["WorkingDir"] = runtime.working_dir
    base_labels = run.get("Labels") or {}
    inherited = {
        key: value for key, value in base_labels.items()
        if not any(key.startswith(prefix) for prefix in runtime.drop_base_labels)
    }  # fmt: skip
    if runtime.labels or len(inherited) != len(base_labels):
        run["Labels"] = {**inherited, **dict(runtime.labels)}
    config["config"] = run

    for layer in layers:
        history.append({"created": created, "created_by": layer.created_by, "comment": "layerplan"})
    description = runtime.describe()
    if description:
        history.append({"created": created, "created_by": description, "comment": "layerplan", "empty_layer": True})
    config["created"] = created
    config["history"] = history
    config["rootfs"] = {"type": "layers", "diff_ids": base_diff_ids + [str(layer.diff_id) for layer in layers]}
    return canonical_json(config)
