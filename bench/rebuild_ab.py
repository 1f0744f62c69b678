"""A/B of a rebuild: two layerplan source trees, the same project, alternating.

    .venv/bin/python bench/rebuild_ab.py --a /path/to/old/src --b src --runs 10
    .venv/bin/python bench/rebuild_ab.py --a OLD --b src --code-change --runs 9
    .venv/bin/python bench/rebuild_ab.py --a OLD --b src --code-change --table --output oci

Copies ``example-project`` (without ``.venv``) to a scratch directory, commits it to a new
git repository (so the revision labels are read as on a real checkout), makes one cold
``layerplan build --json`` per side to ``docker://$LAYERPLAN_TEST_REGISTRY/rebuild-ab/<side>:1``
(each side with its own cache directory), then runs the same command ``--runs`` times per
side, alternating which side goes first, and prints wall time and CPU time (user + sys of
the process, from ``wait4``) per side, min and median.

* No change (default): each rebuild must report the output ``unchanged``.
* ``--code-change``: before each run one line of the app's ``__init__.py`` is edited and
  that same tree is built by both sides; the output must not be unchanged, and with
  ``--json`` each side must report the app's wheel ``built`` (the backend ran) and both
  sides the same image digest.

``--table`` prints the report table to the pipe instead of ``--json`` (the output most CI
logs get); ``--output oci`` writes an ``oci:`` layout in the scratch directory instead of
pushing. Compile both trees first (``python -m compileall -q SRC``): with
``PYTHONDONTWRITEBYTECODE`` set, every run would compile them again.
Needs the test engine's registry and base (``eval "$(bash scripts/test-engine.sh env)"``).
(Replaces ``no_change_ab.py`` and ``code_change_ab.py``, which docs/benchmarks.md's earlier
runs name.)
"""

from __future__ import annotations

import argparse
import json as jsonlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(src: Path, side: str, project: Path, cache: Path, *, output: str = "registry", json: bool = True) -> tuple[float, float, bytes]:
    """One ``layerplan build --json`` (or without ``--json``) with ``src`` first on the path:
    (wall s, CPU s, stdout)."""
    registry, base = os.environ["LAYERPLAN_TEST_REGISTRY"], os.environ["LAYERPLAN_TEST_BASE"]
    target = f"oci:{cache.parent / f'image-{side}'}" if output == "oci" else f"docker://{registry}/rebuild-ab/{side}:1"
    command = [sys.executable, "-m", "layerplan", "build", ".", "--base", base, "--output", target, *(["--json"] if json else [])]
    env = {**os.environ, "PYTHONPATH": str(src), "LAYERPLAN_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{side}: layerplan build failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="source tree A (the directory holding layerplan/)")
    parser.add_argument("--b", type=Path, required=True, help="source tree B")
    parser.add_argument("--runs", type=int, default=10, help="rebuilds per side (default 10)")
    parser.add_argument("--code-change", action="store_true", help="edit one line of the app before each rebuild")
    parser.add_argument("--table", action="store_true", help="print the report table (piped) instead of --json")
    parser.add_argument("--output", choices=("registry", "oci"), default="registry", help="push (default) or write an oci: layout")
    args = parser.parse_args()
    sides = {"a": args.a.resolve(), "b": args.b.resolve()}
    with tempfile.TemporaryDirectory(prefix="rebuild-ab-") as scratch:
        project = Path(scratch) / "example"
        shutil.copytree(ROOT / "example-project", project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
            subprocess.run([*git, *step], cwd=project, check=True)
        caches = {side: Path(scratch) / f"cache-{side}" for side in sides}
        for side, src in sides.items():
            build(src, side, project, caches[side], output=args.output)  # cold
        module = project / "src" / "layerplan_example" / "__init__.py"
        times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        for run in range(args.runs):
            if args.code_change:  # one edit, built by both sides
                with module.open("a", encoding="utf-8") as edit:
                    edit.write(f"CHANGE = {run}\n")
            digests = {}
            for side in ("a", "b") if run % 2 == 0 else ("b", "a"):
                wall, cpu, out = build(sides[side], side, project, caches[side], output=args.output, json=not args.table)
                unchanged = b'"unchanged"' in out or b"up to date (it already holds this image" in out
                if unchanged == args.code_change:
                    raise SystemExit(f"{side}: the rebuild {'reported the output unchanged' if unchanged else 'changed the image'}")
                if args.code_change and not args.table:
                    report = jsonlib.loads(out)
                    wheel = report.get("app_wheel")
                    if not isinstance(wheel, dict) or wheel.get("status") != "built":
                        raise SystemExit(f"{side}: the app's wheel was not built: {wheel}")
                    digests[side] = report["digest"]
                times[side].append((wall, cpu))
            if len(set(digests.values())) > 1:
                raise SystemExit(f"the same tree gave two images: {digests}")
    what = "code-change" if args.code_change else "no-change"
    print(f"{what} rebuild to {args.output}, {'table' if args.table else '--json'}, {args.runs} runs per side, "
          f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
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
