"""Multi-platform benchmark: one index for amd64 + arm64 against two single-platform builds.

Run (needs the test engine with the arm64 base: `bash scripts/test-engine.sh start --with-arm64`):

    .venv/bin/python bench/multi_platform_bench.py [--runs N]

Each run, on its own copy of example-project and its own registry repositories:

1. amd64 only        cold layer cache (the wheels are copied in from a primed cache, so
                     PyPI's speed is not measured), push to REPO-amd64:1
2. arm64 only        the same for arm64, REPO-arm64:1
3. amd64 + arm64     cold, one build, one index pushed to REPO-multi:1
4. code change       one line of the app edited, the two-platform build again (warm cache)

Uploaded bytes are the push report's (`bytes_uploaded`: blob bytes sent; base layers are
mounted from the base's repository, not sent). The build never runs an arm64 binary.
Method and results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from layerplan._units import format_size

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example-project"
REGISTRY = os.environ.get("LAYERPLAN_TEST_REGISTRY", "127.0.0.1:5000")
BASE = os.environ.get("LAYERPLAN_TEST_MULTI_BASE", f"{REGISTRY}/python:3.11-bookworm-multi")
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def build(project: Path, cache: Path, platform: str, output: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "layerplan", "build", str(project), "--base", BASE, "--platform", platform,
         "--output", output, "--cache-dir", str(cache), "--json", "--no-sbom"],
        capture_output=True, text=True, env={**os.environ, **EPOCH}, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"build failed: {done.stderr.strip().splitlines()[-1:]}")
    return took, json.loads(done.stdout)


def fresh_cache(primed: Path, where: Path) -> Path:
    """An empty layer cache holding the primed cache's wheels (no download measured)."""
    shutil.copytree(primed / "wheels", where / "wheels")
    return where


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, int, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="layerplan-multi-bench-") as tmp:
        work = Path(tmp)
        primed = work / "primed"
        project = work / "prime-example"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist"))
        build(project, primed, "linux/amd64,linux/arm64", f"oci:{work / 'prime-oci'}")
        for run in range(args.runs):
            tag = uuid.uuid4().hex[:10]
            project = work / f"example-{run}"
            shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist"))
            for name, platform in (("amd64 only", "linux/amd64"), ("arm64 only", "linux/arm64")):
                cache = fresh_cache(primed, work / f"cache-{run}-{platform.split('/')[1]}")
                took, report = build(project, cache, platform, f"docker://{REGISTRY}/bench/multi-{tag}-{platform.split('/')[1]}:1")
                rows.setdefault(name, []).append((took, report["outputs"][0]["bytes_uploaded"], len(report["outputs"][0]["blobs"])))
            cache = fresh_cache(primed, work / f"cache-{run}-multi")
            output = f"docker://{REGISTRY}/bench/multi-{tag}-index:1"
            took, report = build(project, cache, "linux/amd64,linux/arm64", output)
            rows.setdefault("amd64 + arm64, one index", []).append(
                (took, report["outputs"][0]["bytes_uploaded"], len(report["outputs"][0]["blobs"]))
            )
            cli = project / "src" / "layerplan_example" / "cli.py"
            cli.write_text(cli.read_text() + f"\n# bench edit {run}\n")
            took, report = build(project, cache, "linux/amd64,linux/arm64", output.replace(":1", ":2"))
            rows.setdefault("code change, both platforms", []).append(
                (took, report["outputs"][0]["bytes_uploaded"], len(report["outputs"][0]["blobs"]))
            )
    table = Table(title=f"multi-platform builds of example-project ({args.runs} runs, medians)")
    for column in ("build", "median s", "runs (s)", "uploaded", "blobs in push"):
        table.add_column(column)
    for name, values in rows.items():
        times = [v[0] for v in values]
        table.add_row(
            name, f"{statistics.median(times):.2f}", ", ".join(f"{t:.2f}" for t in times),
            format_size(int(statistics.median(v[1] for v in values))), str(values[0][2]),
        )  # fmt: skip
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
