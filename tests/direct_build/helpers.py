"""Run `layerplan build` as a user would and read its JSON report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-project"
EXPECTED_OUTPUT = "layerplan-example ok: numpy=2.4.6 mean=2.5 pydantic=2.14.2 validated=alice"


def copy_example(destination: Path) -> Path:
    shutil.copytree(EXAMPLE, destination, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist", "*.egg-info"))
    return destination


def layerplan(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layerplan", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
    )


def build_json(project: Path, base: str, *outputs: str, cache: Path, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> dict[str, Any]:
    args = ["build", str(project), "--base", base, "--cache-dir", str(cache), "--json", *extra]
    for output in outputs:
        args += ["--output", output]
    result = layerplan(*args, env=env)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def not_progress(stderr: str) -> str:
    """``stderr`` without the build's progress lines (``[  1.2s] ...``, docs/cli.md Output):
    what is left are the warnings and the error."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not re.match(r"\[ *\d+\.\ds\] ", line))


def pushed_layers(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The image layers a registry push uploaded (not config: its digest is the config's)."""
    (push,) = [o for o in report["outputs"] if o["kind"] == "registry"]
    layer_digests = {layer["digest"] for layer in report["layers"]}
    return [b for b in push["blobs"] if b["status"] == "pushed" and b["digest"] in layer_digests]


def layer_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["name"]: layer for layer in report["layers"] if layer["status"] != "base"}


def sbom_blob_digests(registry: Any, repository: str, report: dict[str, Any]) -> set[str]:
    """The blobs of the artifacts ``report``'s push attached (SBOMs, provenance and the
    base's platform record: their empty config and documents), read from ``registry`` (a
    ``MemRegistry``)."""
    digests = set()
    records = [{"digest": o["platform_record"]} for o in report["outputs"] if o.get("platform_record")]
    for sbom in [*report["sbom"], *([report["provenance"]] if report.get("provenance") else []), *records]:
        manifest = json.loads(registry.manifest(repository, sbom["digest"])[0])
        digests |= {manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])}
    return digests


def image_uploads(registry: Any, repository: str, report: dict[str, Any], *, only_there: bool = False) -> dict[str, int]:
    """``registry.uploaded_bytes()`` (to every repository, or ``only_there``: to ``repository``)
    without the blobs of the SBOMs and provenance ``report``'s push attached in ``repository``: what the image itself sent."""
    sboms = sbom_blob_digests(registry, repository, report)
    assert sboms, "a push attaches its SBOMs"
    uploaded = registry.uploaded_bytes(repository) if only_there else registry.uploaded_bytes()
    return {digest: size for digest, size in uploaded.items() if digest not in sboms}
