"""Watch benchmark: save-to-running of `layerplan watch` on the example.

Run (needs the test engine: `bash scripts/test-engine.sh start`, then
`eval "$(bash scripts/test-engine.sh env)"`):

    .venv/bin/python bench/watch_bench.py [--edits 5] [--debounce 300] [--base REF]

On a temporary copy of example-project, `layerplan watch --run-container NAME -o docker-daemon:...`
builds the image and starts the container. Then, --edits times, one line of the app's
source is changed (the string the app prints) and the clock runs from the moment the file
is written and closed to the moment the *new* container's first line (with the new string)
reaches the watch's stdout: debounce + rebuild + load into the engine + container start +
the app's own start-up (the example imports numpy and pydantic) + the log stream.

Prints a table (median, min-max): save-to-running, the build time the watch reported
(which includes loading the image into the engine), and the time from that report to the
new container's first line (container replaced, app started, log streamed). Goal (exit
1 when missed): the median save-to-running is under 3 s. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example-project"
GOAL_SECONDS = 3.0
_RESULT = re.compile(r"^\d\d:\d\d:\d\d built [0-9a-f]{12} in ([0-9.]+) s: ")
_ORIGINAL = "layerplan-example ok:"


class Watch:
    """`layerplan watch` in a subprocess; its stdout lines with the time each arrived."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "layerplan", "watch", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line.rstrip("\n"))

    def until(self, pattern: str | re.Pattern[str], timeout: float) -> tuple[float, re.Match[str]]:
        """The arrival time and match of the next stdout line matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                arrived, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                sys.exit(f"no line matching {pattern!r} within {timeout} s; stderr:\n" + "\n".join(self.errors))
            if found := re.search(pattern, line):
                return arrived, found


def _stat(values: list[float]) -> str:
    """``median s (min-max)``."""
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--debounce", type=int, default=300, help="the watch's --debounce (ms)")
    parser.add_argument("--base", default=os.environ.get("LAYERPLAN_TEST_BASE", "127.0.0.1:5000/python:3.11-bookworm"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="layerplan-watch-bench-"))
    project = work / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "__pycache__", "dist", "*.egg-info"))
    name = f"layerplan-watch-bench-{uuid.uuid4().hex[:8]}"
    image = f"layerplan-watch-bench:{name.rsplit('-', 1)[1]}"
    watch = Watch([
        str(project), "--base", args.base, "-o", f"docker-daemon:{image}", "--run-container", name,
        "--cache-dir", str(work / "cache"), "--debounce", str(args.debounce),
    ])
    source = project / "src" / "layerplan_example" / "cli.py"
    text = source.read_text()
    rows: list[tuple[float, float, float]] = []
    try:
        _, first = watch.until(_RESULT, 600)
        watch.until(rf"^\[{name}\] {re.escape(_ORIGINAL)}", 60)
        print(f"first build: {float(first.group(1)):.2f} s (empty cache); {args.edits} edits, --debounce {args.debounce}")
        for edit in range(1, args.edits + 1):
            time.sleep(1.0)  # apart, so no two edits share a debounce window
            marker = f"layerplan-example edit-{edit}:"
            source.write_text(text.replace(_ORIGINAL, marker))
            saved = time.perf_counter()
            built_at, built = watch.until(_RESULT, 60)
            running, _ = watch.until(rf"^\[{name}\] {re.escape(marker)}", 60)
            rows.append((running - saved, float(built.group(1)), running - built_at))
            print(
                f"  edit {edit}: save-to-running {running - saved:.2f} s (build {float(built.group(1)):.2f} s, "
                f"built-to-output {running - built_at:.2f} s)"
            )
    finally:
        watch.process.send_signal(2)  # SIGINT: the watch removes its container
        try:
            watch.process.wait(30)
        except subprocess.TimeoutExpired:
            watch.process.kill()
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    totals, builds, starts = ([r[i] for r in rows] for i in range(3))
    print()
    print("| --debounce | edits | save-to-running | build (+ load into the engine) | new container to its first line |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {args.debounce} ms | {len(rows)} | **{_stat(totals)}** | {_stat(builds)} | {_stat(starts)} |")
    if statistics.median(totals) >= GOAL_SECONDS:
        print(f"goal missed: median save-to-running {statistics.median(totals):.2f} s >= {GOAL_SECONDS} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
