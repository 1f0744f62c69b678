"""Fresh CI runner: a cold build vs a build that reuses the registry's layers (``--cache-from``).

Run (needs the test registry: `bash scripts/test-engine.sh start`):

    .venv/bin/python bench/registry_cache_bench.py [--runs N]

Each run, on a fresh copy of example-project and a fresh repository of the test registry:

1. seed       build + push ``REPO:1`` (empty cache): the previous image, as CI left it
2. cold       one line of the app edited; build + push ``REPO:2`` with an EMPTY cache and
              ``--cache-from`` disabled (the wheels are downloaded from PyPI, every layer built)
3. registry   the same edit, build + push ``REPO:3`` with an EMPTY cache and
              ``--cache-from REPO:1``: every layer but the app's reused
4. warm       the same, with the seed's (warm) local cache, for reference

Both pushes go to the same registry as the base image (base layers mount). Prints the
median of each and what was uploaded. Results: docs/benchmarks.md.
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

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example-project"
PYTHON = Path(sys.executable)
EPOCH = "1700000000"


def engine_env() -> dict[str, str]:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "test-engine.sh"), "env"], capture_output=True, text=True, check=True)
    env = {}
    for part in out.stdout.replace("export ", "").split():
        key, _, value = part.partition("=")
        env[key] = value
    return env


def build(project: Path, base: str, output: str, cache: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    args = [str(PYTHON), "-m", "layerplan", "build", str(project), "--base", base, "--cache-dir", str(cache),
            "--output", output, "--json", *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(ROOT / "src")})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"build failed: {done.stderr}")
    return elapsed, json.loads(done.stdout)


def summary(report: dict[str, Any]) -> str:
    statuses = [layer["status"] for layer in report["layers"] if layer["status"] != "base"]
    counts = {status: statuses.count(status) for status in dict.fromkeys(statuses)}
    uploaded = sum(output["bytes_uploaded"] for output in report["outputs"])
    return f"layers {counts}, uploaded {uploaded / 1e6:.2f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    env = engine_env()
    registry, base = env["LAYERPLAN_TEST_REGISTRY"], env["LAYERPLAN_TEST_BASE"]
    times: dict[str, list[float]] = {"cold": [], "registry": [], "warm": []}
    for run in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="regcache-bench-") as scratch:
            root = Path(scratch)
            project = Path(shutil.copytree(EXAMPLE, root / "app", ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist")))
            repository = f"{registry}/bench/regcache-{uuid.uuid4().hex[:8]}"
            seed_cache = root / "seed-cache"
            build(project, base, f"docker://{repository}:1", seed_cache)
            cli = project / "src" / "layerplan_example" / "cli.py"
            cli.write_text(cli.read_text().replace("ok:", f"ok (run {run}):"))
            # a cache image that does not exist: the cold build looks (404) and builds everything
            cold, report = build(project, base, f"docker://{repository}:2", root / "cold-cache", "--cache-from", f"{repository}:none")
            print(f"run {run}: cold      {cold:6.2f} s  {summary(report)}")
            reused, report = build(project, base, f"docker://{repository}:3", root / "fresh-cache", "--cache-from", f"{repository}:1")
            print(f"run {run}: registry  {reused:6.2f} s  {summary(report)}")
            warm, report = build(project, base, f"docker://{repository}:4", seed_cache)
            print(f"run {run}: warm      {warm:6.2f} s  {summary(report)}")
            for name, value in (("cold", cold), ("registry", reused), ("warm", warm)):
                times[name].append(value)
    print()
    for name, values in times.items():
        print(f"{name:9} median {statistics.median(values):6.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"cold / registry: {statistics.median(times['cold']) / statistics.median(times['registry']):.1f}x")


if __name__ == "__main__":
    sys.exit(main())
