"""What creating layerplan's frozen dataclasses costs a rebuild, and what keeping their
generated methods' bytecode across runs would save (a measurement, not a feature).

    .venv/bin/python bench/dataclass_code_bench.py --runs 9 [--code-change] [--src src]

``dataclasses`` writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__`` and ``__delattr__`` as source text and compiles it with ``exec``: ~0.65 ms
per class on Python 3.11, ~60 ms for the ~100 classes a no-change rebuild creates. This
script copies ``example-project`` to a scratch git repository, makes one cold build, then
runs the same rebuild alternately as it is and under a prototype that gives ``dataclasses``
an ``exec`` which compiles each text once and keeps the code in a ``marshal`` file in the
scratch directory (written by the first run, read by the others), and prints wall and CPU
time (user + sys from ``wait4``) for each. The prototype is not in layerplan: it would run
bytecode read from a writable file (docs/benchmarks.md says what deciding that needs).
Needs the test engine's registry and base (``eval "$(bash scripts/test-engine.sh env)"``);
compile the sources first (``python -m compileall -q src``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs ``python -m layerplan`` with ``dataclasses``' ``exec`` (a global of that module shadows
# the builtin) replaced by one that reuses the code compiled for the same text.
CACHED = """\
import builtins, dataclasses, importlib.util, marshal, os, runpy, sys
path = os.environ["BENCH_CODE_CACHE"]
try:
    with open(path, "rb") as file:
        codes = marshal.load(file)
except OSError:
    codes = {}
key = (importlib.util.MAGIC_NUMBER, sys.flags.optimize)
known = codes.get(key, {})
new = {}
def cached_exec(text, globals=None, locals=None):
    if not isinstance(text, str):
        return builtins.exec(text, globals, locals)
    code = known.get(text) or new.get(text)
    if code is None:
        code = new[text] = compile(text, "<string>", "exec")
    return builtins.exec(code, globals, locals)
dataclasses.exec = cached_exec
sys.argv = ["layerplan", *sys.argv[1:]]
try:
    runpy.run_module("layerplan", run_name="__main__", alter_sys=True)
finally:
    if new:
        codes[key] = {**known, **new}
        with open(path + ".tmp", "wb") as file:
            marshal.dump(codes, file)
        os.replace(path + ".tmp", path)
"""


def build(src: Path, project: Path, cache: Path, code_cache: Path | None) -> tuple[float, float, bytes]:
    """One ``layerplan build --json`` (as it is, or with the code cache): (wall s, CPU s, stdout)."""
    registry, base = os.environ["LAYERPLAN_TEST_REGISTRY"], os.environ["LAYERPLAN_TEST_BASE"]
    args = ["build", ".", "--base", base, "--output", f"docker://{registry}/dataclass-bench/app:1", "--json"]
    launch = [sys.executable, "-c", CACHED] if code_cache is not None else [sys.executable, "-m", "layerplan"]
    env = {**os.environ, "PYTHONPATH": str(src), "LAYERPLAN_CACHE_DIR": str(cache)}
    if code_cache is not None:
        env["BENCH_CODE_CACHE"] = str(code_cache)
    start = time.perf_counter()
    process = subprocess.Popen([*launch, *args], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"layerplan build failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the layerplan source tree (default: this checkout's)")
    parser.add_argument("--runs", type=int, default=9, help="rebuilds per variant (default 9)")
    parser.add_argument("--code-change", action="store_true", help="edit one line of the app before each rebuild")
    args = parser.parse_args()
    src = args.src.resolve()
    variants = {"as it is": None, "methods' code kept": "code-cache.marshal"}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="dataclass-bench-") as scratch:
        project = Path(scratch) / "example"
        shutil.copytree(ROOT / "example-project", project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
            subprocess.run([*git, *step], cwd=project, check=True)
        cache = Path(scratch) / "cache"
        code_cache = Path(scratch) / "code-cache.marshal"
        build(src, project, cache, None)  # cold
        build(src, project, cache, code_cache)  # writes the code cache
        stamp = project / "src" / "layerplan_example" / "_bench_stamp.py"
        for run in range(args.runs):
            order = list(variants) if run % 2 == 0 else list(reversed(variants))
            for name in order:
                if args.code_change:
                    stamp.write_text(f"STAMP = {run}{name!r}\n")
                wall, cpu, out = build(src, project, cache, code_cache if variants[name] else None)
                if (b'"unchanged"' in out) == args.code_change:
                    raise SystemExit(f"{name}: the rebuild {'reported the output unchanged' if args.code_change else 'changed the image'}")
                times[name].append((wall, cpu))
    what = "code-change" if args.code_change else "no-change"
    print(f"{what} rebuild, {args.runs} runs per variant, load average {os.getloadavg()[0]:.1f} at the end, {src}")
    print("| variant | wall min | wall median | CPU min | CPU median |")
    print("|---|---:|---:|---:|---:|")
    for name, samples in times.items():
        walls, cpus = [w for w, _ in samples], [c for _, c in samples]
        print(f"| {name} | {min(walls):.3f} s | {statistics.median(walls):.3f} s | {min(cpus):.3f} s | {statistics.median(cpus):.3f} s |")


if __name__ == "__main__":
    main()
