"""What every fuzzed input must give, and how many inputs a run tries.

A reader (or the project reader) either returns, or raises a ``LayerplanError`` whose
text is one line that names a file and shows no credential. Through the CLI: exit 0, or
exit 2 with exactly one ``error: ...`` line on stderr and nothing on stdout; never a
traceback; no credential in any output; nothing half-written left in the cache.

Any other exception is a bug, and fails the test (Hypothesis then shrinks the input to a
small one and prints it). With ``LAYERPLAN_FUZZ_REPORT=FILE`` a failure is appended to
``FILE`` as one JSON line (exception, where it was raised, the input) and the run goes on,
so a long run lists every distinct crash instead of stopping at the first.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from layerplan.cache.atomic import is_temp_name
from layerplan.cli.main import main
from layerplan.errors import LayerplanError
from tests.fuzz.mutations import SECRET

__all__ = ["CASES", "FUZZ", "check_cli", "check_read"]

CASES = int(os.environ.get("LAYERPLAN_FUZZ_CASES", "100"))
"""Cases per test (each format has a few tests); CI's default keeps the suite under a minute."""

FUZZ = settings(
    max_examples=CASES,
    # CI runs the same cases every time; LAYERPLAN_FUZZ_RANDOM=1 explores new ones.
    derandomize=os.environ.get("LAYERPLAN_FUZZ_RANDOM") != "1",
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
_REPORT = os.environ.get("LAYERPLAN_FUZZ_REPORT")
_LINE_LIMIT = 2000
"""An error is a line to read: a quoted value is cut (errors.py), not shown whole."""


def _failed(problem: str, path: Path, detail: str = "") -> None:
    if _REPORT is None:
        raise AssertionError(f"{problem}\n{detail}")
    try:
        content = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        content = ""
    with open(_REPORT, "a", encoding="utf-8") as report:
        report.write(json.dumps({"problem": problem, "file": path.name, "detail": detail, "input": content}) + "\n")


def _check_error_text(text: str, path: Path) -> None:
    if "\n" in text or "\r" in text:
        _failed(f"error is not one line: {text[:300]!r}", path)
    if len(text) > _LINE_LIMIT + len(str(path)):
        _failed(f"error line of {len(text)} characters: {text[:300]!r}", path)
    if SECRET in text:
        _failed(f"error shows a credential: {text[:300]!r}", path)


def check_read(read: Callable[[Path], Any], path: Path) -> None:
    """``read(path)`` returns, or raises a one-line ``LayerplanError`` naming a file."""
    try:
        read(path)
    except LayerplanError as exc:
        _check_error_text(str(exc), path)
        if exc.path is None:
            _failed(f"error names no file: {str(exc)[:300]!r}", path)
    except Exception as exc:  # noqa: BLE001 - any other exception is the bug being looked for
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/layerplan/" in f.filename] or frames
        where = f"{ours[-1].filename.rsplit('/src/', 1)[-1]}:{ours[-1].lineno}" if ours else "?"
        _failed(f"{type(exc).__name__} at {where}: {str(exc)[:200]}", path, "".join(traceback.format_exception(exc))[-3000:])


def check_cli(argv: Sequence[str], cache_dir: Path, path: Path) -> None:
    """``layerplan ARGV`` (in this process) exits 0, or 2 with one line and no output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # noqa: BLE001 - escaping main() is a traceback for the user
            _failed(f"traceback from the CLI: {type(exc).__name__}: {str(exc)[:200]}", path,
                    "".join(traceback.format_exception(exc))[-3000:])  # fmt: skip
            return
    stdout, stderr = out.getvalue(), err.getvalue()
    if code == 2:
        if stdout or stderr.count("\n") != 1 or not stderr.startswith("error: "):
            _failed(f"exit 2 without exactly one error line: stdout={stdout[:200]!r} stderr={stderr[:300]!r}", path)
        _check_error_text(stderr.rstrip("\n"), path)
    elif code == 0:
        if SECRET in stdout or SECRET in stderr:
            _failed("the plan shows a credential", path, stdout[:3000])
    else:
        _failed(f"exit {code}: {stderr[:300]!r}", path)
    for entry in cache_dir.rglob("*") if cache_dir.exists() else ():
        if is_temp_name(entry.name):
            _failed(f"half-written cache entry left: {entry}", path)
        elif entry.is_file() and SECRET.encode() in entry.read_bytes():
            _failed(f"a credential in the cache: {entry}", path)
