"""A `layerplan watch` subprocess whose output a test reads line by line as it comes."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

__all__ = ["RESULT", "Session", "env"]

ROOT = Path(__file__).resolve().parents[2]
RESULT = re.compile(r"^\d\d:\d\d:\d\d (built|unchanged) [0-9a-f]{12} in [0-9.]+ s: ")
"""The line a watch prints after each build."""


def env() -> dict[str, str]:
    """The environment of a `layerplan` subprocess: this checkout's sources first, whatever
    the working directory (a relative PYTHONPATH would not follow it)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}


class Session:
    """A running `layerplan watch`: every line of its stdout and stderr, in order, as it comes."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "layerplan", "watch", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        self.cursor = {"out": 0, "err": 0}
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put((name, line.rstrip("\n")))

    def next_line(self, stream: str, pattern: str | re.Pattern[str], timeout: float) -> str:
        """The next line of ``stream`` (``out``/``err``) matching ``pattern``, after the last
        one this returned of that stream; lines of the other stream stay to be matched."""
        while True:
            while self.cursor[stream] < len(self.seen):
                name, line = self.seen[self.cursor[stream]]
                self.cursor[stream] += 1
                if name == stream and re.search(pattern, line):
                    return line
            try:
                self.seen.append(self.lines.get(timeout=timeout))
            except queue.Empty:
                shown = "\n".join(f"{name}: {line}" for name, line in self.seen)
                pytest.fail(f"no {stream} line matching {pattern!r} in {timeout} s; the watch printed:\n{shown}")

    def stop(self) -> None:
        """Kill the watch if it still runs (a test's ``finally``)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
