"""A/B of the code-change rebuild: two layerplan source trees, the same edits, alternating.

    .venv/bin/python bench/code_change_ab.py --a /path/to/old/src --b src --runs 9

As ``no_change_ab.py`` (a committed copy of ``example-project``, one cold build per side,
each side with its own cache and its own repository at ``$LAYERPLAN_TEST_REGISTRY``), then
``--runs`` times: a one-line edit of the app's ``__init__.py``, and the build of that same
tree by each side, in alternating order. Each build must report the app's wheel ``built``
(the backend ran), and both sides must give the same image digest for the same tree.
Prints wall and CPU time (user + sys, from ``wait4``) per side, min and median. Compile
both trees first (``python -m compileall -q SRC``).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(src: Path, side: str, project: Path, cache: Path) -> tuple[float, float, dict[str, object]]:
    """One ``layerplan build --json`` with ``src`` first on the path: (wall s, CPU s, report)."""
    registry, base = os.environ["LAYERPLAN_TEST_REGISTRY"], os.environ["LAYERPLAN_TEST_BASE"]
    command = [sys.executable, "-m", "layerplan", "build", ".", "--base", base, "--output",
               f"docker://{registry}/codechange-ab/{side}:1", "--json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(src), "LAYERPLAN_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{side}: layerplan build failed ({status})")
    report: dict[str, object] = json.loads(out)
    return wall, usage.ru_utime + usage.ru_stime, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="source tree A (the directory holding layerplan/)")
    parser.add_argument("--b", type=Path, required=True, help="source tree B")
    parser.add_argument("--runs", type=int, default=9, help="code changes (default 9), each built by both sides")
    args = parser.parse_args()
    sides = {"a": args.a.resolve(), "b": args.b.resolve()}
    with tempfile.TemporaryDirectory(prefix="codechange-ab-") as scratch:
        project = Path(scratch) / "example"
        shutil.copytree(ROOT / "example-project", project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
            subprocess.run([*git, *step], cwd=project, check=True)
        caches = {side: Path(scratch) / f"cache-{side}" for side in sides}
        for side, src in sides.items():
            build(src, side, project, caches[side])  # cold
        module = project / "src" / "layerplan_example" / "__init__.py"
        times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        for run in range(args.runs):
            with module.open("a", encoding="utf-8") as edit:
                edit.write(f"CHANGE = {run}\n")
            digests = {}
            for side in ("a", "b") if run % 2 == 0 else ("b", "a"):
                wall, cpu, report = build(sides[side], side, project, caches[side])
                wheel = report.get("app_wheel")
                if not isinstance(wheel, dict) or wheel.get("status") != "built":
                    raise SystemExit(f"{side}: the app's wheel was not built: {wheel}")
                digests[side] = report["digest"]
                times[side].append((wall, cpu))
            if digests["a"] != digests["b"]:
                raise SystemExit(f"the same tree gave two images: {digests}")
    print(f"code-change rebuild, {args.runs} runs per side, same digests, load average {os.getloadavg()[0]:.1f} at the end")
    print("| side | source | wall min | wall median | CPU min | CPU median |")
    print("|---|---|---:|---:|---:|---:|")
    for side, samples in times.items():
        walls, cpus = [w for w, _ in samples], [c for _, c in samples]
        print(
            f"| {side.upper()} | {sides[side]} | {min(walls):.3f} s | {statistics.median(walls):.3f} s "
            f"| {min(cpus):.3f} s | {statistics.median(cpus):.3f} s |"
        )


if __name__ == "__main__":
    main()
