"""The renderers of the event stream (``layerplan.progress``), fed events directly: what a
log shows, what -v adds, what -q keeps, and that a terminal gets one display of it all.
The end-to-end runs through a pipe and a pseudo-terminal are in tests/cli/test_progress.py."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from layerplan.events import Event, StageAdvanced, StageFinished, StageStarted, Stall
from layerplan.progress import show_progress

BUILD: list[Event] = [
    StageStarted(stage="resolve", detail="."),
    StageStarted(stage="base", detail="python:3.12-slim"),
    StageFinished(stage="base", summary="ab12cd34ef56: Python 3.12.7, linux/amd64 glibc"),
    StageFinished(stage="resolve", summary="3 layers"),
    StageStarted(stage="layer dep-numpy", detail="dependencies", total_bytes=20_000_000),
    StageAdvanced(stage="layer dep-numpy", detail="compile"),
    StageFinished(stage="layer dep-numpy", summary="built 14.2 MB", bytes=14_200_000, timings=(("install", 1.1), ("compile", 0.8))),
    StageStarted(stage="push docker://r/app:1"),
    StageAdvanced(stage="push docker://r/app:1", bytes=5_000_000),
    Stall(host="r", what="PUT manifest app:1", seconds=12),
    StageFinished(stage="push docker://r/app:1", summary="sent 1 blobs (5.0 MB)", bytes=5_000_000),
]


def run(capsys: pytest.CaptureFixture[str], **flags: bool) -> list[str]:
    with show_progress(console=Console(file=io.StringIO(), force_terminal=False), **flags) as progress:
        for event in BUILD:
            progress(event)
    captured = capsys.readouterr()
    assert captured.out == ""  # progress never goes to stdout
    return captured.err.splitlines()


def test_a_log_gets_a_line_per_finished_stage_and_per_long_start(capsys: pytest.CaptureFixture[str]) -> None:
    lines = [re.sub(r"^\[ *\d+\.\ds\] ", "", line) for line in run(capsys)]
    assert lines == [
        "base: started (python:3.12-slim)",
        "base: ab12cd34ef56: Python 3.12.7, linux/amd64 glibc",
        "resolve: 3 layers",
        "layer dep-numpy: built 14.2 MB",
        "push docker://r/app:1: started",
        "waiting for r (PUT manifest app:1, 12 s)",
        "push docker://r/app:1: sent 1 blobs (5.0 MB)",
    ]


def test_verbose_adds_every_start_each_step_and_the_timings(capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(run(capsys, verbose=True))
    assert "resolve: started (.)" in text
    assert "layer dep-numpy: started (dependencies)" in text and "layer dep-numpy: compile" in text
    assert "layer dep-numpy: built 14.2 MB (install 1.1s, compile 0.8s)" in text
    assert re.search(r"push docker://r/app:1: sent 1 blobs \(5\.0 MB\) \(in \d+\.\ds\), [\d.]+ \w?B/s", text)


def test_quiet_keeps_only_the_stall(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, quiet=True) == ["waiting for r (PUT manifest app:1, 12 s)"]


def test_a_terminal_gets_one_display_with_a_row_per_stage() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    with show_progress(console=console) as progress:
        for event in BUILD:
            progress(event)
    screen = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", "", out.getvalue())
    assert "waiting for r (PUT manifest app:1, 12 s)" in screen
    last = screen[screen.rindex("resolve") :]  # the final frame: every row, with what it did
    for row in ("resolve", "base", "layer dep-numpy", "push docker://r/app:1"):
        assert row in last
    assert "built 14.2 MB" in last and "sent 1 blobs (5.0 MB)" in last and "5.0/5.0 MB" in last


def test_a_stage_that_turned_out_to_be_no_work_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    skipped: list[Event] = [
        StageStarted(stage="sdist netifaces", detail="netifaces-0.11.0.tar.gz"),
        StageFinished(stage="sdist netifaces", summary="wheel built", skipped=True),
    ]
    with show_progress(console=Console(file=io.StringIO(), force_terminal=False)) as progress:
        for event in skipped:
            progress(event)
    assert capsys.readouterr().err == ""
    out = io.StringIO()
    with show_progress(console=Console(file=out, force_terminal=True, width=150, color_system=None)) as progress:
        for event in [StageStarted(stage="resolve"), *skipped, StageFinished(stage="resolve", summary="3 layers")]:
            progress(event)
    final = out.getvalue().split("\r\x1b[2K")[-1]  # the last frame drawn
    assert "netifaces" not in final and "3 layers" in final


def test_a_log_line_lets_no_control_character_through(capsys: pytest.CaptureFixture[str]) -> None:
    """An output path (or a registry's answer) holding an escape sequence: escaped in the
    line, never sent to the terminal as it is."""
    with show_progress(console=Console(file=io.StringIO(), force_terminal=False)) as progress:
        progress(StageStarted(stage="push oci:/tmp/\x1b]0;title\x07out"))
        progress(StageFinished(stage="push oci:/tmp/\x1b]0;title\x07out", summary="written"))
    err = capsys.readouterr().err
    assert "push oci:/tmp/\\x1b]0;title\\x07out: written" in err
    assert "\x1b" not in err and "\x07" not in err
