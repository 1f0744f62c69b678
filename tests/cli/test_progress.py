"""Progress that tells the truth (issue 12): one event stream, shown as plain lines in a pipe
(as they happen, each with its time, never wrapped, no escapes) and as a live display on a
terminal; nothing for work that is skipped; -q and --json show none but keep warnings.

The builds are "cold" where it matters: the example's cache (``example_build``) without
its layers, its base scan and one wheel, so the base is read, one file downloaded, every
layer installed, compiled and compressed, and every blob pushed -- without downloading
the whole lock again.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memregistry import MemRegistry, memregistry  # noqa: F401
from synthbase import SyntheticBase, synthetic_base  # noqa: F401

from tests.direct_build.conftest import ExampleBuild, example_build  # noqa: F401
from tests.direct_build.helpers import copy_example
from tests.direct_build.test_build_direct import seed_base

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
LINE = re.compile(r"^\[ *(\d+\.\d)s\] (\S.*)$")


def cold_cache(example_build: ExampleBuild, destination: Path) -> Path:
    """The example's cache with no layer, no base scan and one wheel fewer."""
    shutil.copytree(example_build.cache, destination)
    for area in ("blobs", "keys", "platforms", "locations"):
        shutil.rmtree(destination / area, ignore_errors=True)
    wheels = sorted((destination / "wheels" / "sha256").glob("*/*.whl"), key=lambda path: path.stat().st_size)
    shutil.rmtree(wheels[0].parent)  # the smallest: downloaded again, quickly
    return destination


def command(project: Path, base: str, output: str, cache: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "layerplan", "build", str(project), "--base", base, "--cache-dir", str(cache), "-o", output, *flags]


def environment(example_build: ExampleBuild, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "NO_COLOR", "FORCE_COLOR", "TERM"}}
    return {**base, **example_build.env, **extra}


def test_piped_lines_arrive_while_the_build_runs(
    example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path  # noqa: F811
) -> None:
    project = copy_example(tmp_path / "example")
    cache = cold_cache(example_build, tmp_path / "cache")
    output = f"docker://{memregistry.address}/team/progress:1"
    # The manifest goes last: while it is held, everything before it has been said, or not.
    hold = memregistry.hold("PUT", r"/v2/team/progress/manifests/")
    env = environment(example_build, LAYERPLAN_STALL_NOTICE_AFTER="0.3")
    process = subprocess.Popen(
        command(project, example_build.base, output, cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert process.stderr is not None
        while not any("(PUT manifest team/progress:1, " in line for line in seen):
            line = process.stderr.readline()
            assert line, f"stderr ended before the held request was reported: {seen}"
            seen.append(line)
        during = "".join(seen)
        assert hold.reached.is_set() and process.poll() is None  # the build is still running
    finally:
        hold.release()
    rest, more = process.communicate(timeout=300)
    stderr = during + more
    assert process.returncode == 0, stderr

    # said before the build ended: the base, the download, each layer, the push under way, the stall
    assert re.search(r"^\[ *\d+\.\ds\] base: .*Python 3\.11", during, re.M), during
    assert re.search(r"^\[ *\d+\.\ds\] fetch: 1 file, ", during, re.M), during
    assert re.search(r"^\[ *\d+\.\ds\] layer app: built \d", during, re.M), during
    assert re.search(r"^\[ *\d+\.\ds\] layer environment: built \d", during, re.M), during
    assert re.search(rf"^\[ *\d+\.\ds\] push {re.escape(output)}: started", during, re.M), during
    assert re.search(rf"^\[ *\d+\.\ds\] waiting for {re.escape(memregistry.address)} \(PUT manifest team/progress:1, ", during, re.M)
    assert re.search(rf"^\[ *\d+\.\ds\] push {re.escape(output)}: sent \d+ blobs?", stderr, re.M), stderr
    lines = stderr.splitlines()
    assert "\x1b" not in stderr
    times = []
    for line in lines:
        match = LINE.match(line)
        assert match, f"not a progress line: {line!r}"
        assert line == line.rstrip() and "  " not in match[2], f"padded: {line!r}"
        times.append(float(match[1]))
    assert times == sorted(times)
    assert rest.startswith("layer") and "\x1b" not in rest  # stdout: the report, not the progress


def test_a_warm_rebuild_says_nothing_of_skipped_work(example_build: ExampleBuild, tmp_path: Path) -> None:
    output = f"oci:{tmp_path / 'oci'}"
    done = subprocess.run(
        command(example_build.project, example_build.base, output, example_build.cache, "-v"),
        capture_output=True, text=True, env=environment(example_build),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stages = [LINE.match(line)[2].split(": ")[0] for line in done.stderr.splitlines() if LINE.match(line)]  # type: ignore[index]
    assert not [stage for stage in stages if stage.startswith(("fetch", "layer"))], done.stderr
    assert "resolve" in stages and "base" in stages and f"write {output}" in stages
    assert "Fetching" not in done.stderr and "\x1b" not in done.stderr


def test_verbose_adds_the_steps_and_their_timings(example_build: ExampleBuild, tmp_path: Path) -> None:
    project = copy_example(tmp_path / "example")
    args = command(project, example_build.base, f"oci:{tmp_path / 'oci'}", example_build.cache)
    changed = project / "src" / "layerplan_example" / "extra.py"
    changed.write_text("CHANGED = 1\n")  # a code change: the app layer is built again
    plain = subprocess.run(args, capture_output=True, text=True, env=environment(example_build))
    changed.write_text("CHANGED = 2\n")
    verbose = subprocess.run([*args, "-v"], capture_output=True, text=True, env=environment(example_build))
    assert plain.returncode == 0 and verbose.returncode == 0, plain.stderr + verbose.stderr
    assert re.search(r"^\[ *\d+\.\ds\] layer app: built [\d.]+ \w?B$", plain.stderr, re.M), plain.stderr
    assert re.search(r"layer app: built [\d.]+ \w?B \(install \d+\.\ds, compile \d+\.\ds, compress \d+\.\ds\)$", verbose.stderr, re.M), verbose.stderr
    assert re.search(r"layer app: started \(app", verbose.stderr) and "layer app: started" not in plain.stderr
    assert re.search(r"layer app: compile$", verbose.stderr, re.M)


def test_quiet_and_json_show_no_progress_but_keep_warnings(
    example_build: ExampleBuild, memregistry: MemRegistry, synthetic_base: SyntheticBase, tmp_path: Path  # noqa: F811
) -> None:
    base = seed_base(memregistry, synthetic_base)  # by tag: "not pinned by digest" is warned
    args = command(example_build.project, base, f"oci:{tmp_path / 'oci'}", example_build.cache)
    quiet = subprocess.run([*args, "-q"], capture_output=True, text=True, env=environment(example_build))
    as_json = subprocess.run([*args, "--json", "-v"], capture_output=True, text=True, env=environment(example_build))
    assert quiet.returncode == 0 and as_json.returncode == 0, quiet.stderr + as_json.stderr
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", quiet.stdout)
    assert json.loads(as_json.stdout)["digest"] == quiet.stdout.strip()
    for result in (quiet, as_json):
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("warning: ") for line in lines), result.stderr
        assert any("not pinned by digest" in line for line in lines)


def _read_pty(master: int, process: subprocess.Popen[bytes]) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            raise AssertionError("no output from the build for 300 s")
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=300)
    return b"".join(chunks)


def test_a_terminal_gets_one_live_display_of_every_stage(
    example_build: ExampleBuild, memregistry: MemRegistry, tmp_path: Path  # noqa: F811
) -> None:
    project = copy_example(tmp_path / "example")
    cache = cold_cache(example_build, tmp_path / "cache")
    output = f"docker://{memregistry.address}/team/live:1"
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            command(project, example_build.base, output, cache), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
            env=environment(example_build, TERM="xterm", COLUMNS="160"),
        )  # fmt: skip
        os.close(slave)
        raw = _read_pty(master, process)
    finally:
        os.close(master)
    assert process.returncode == 0, raw.decode(errors="replace")
    text = raw.decode("utf-8", errors="replace")
    assert "\x1b[" in text  # a live display redraws itself
    plain = ANSI.sub("", text).replace("\r", "\n")
    report = plain.index("image sha256:")  # the last line of the report, after the display
    for stage in ("resolve", "base", "fetch", "layer environment", "layer app", f"push {output}"):
        assert stage in plain[:report], f"{stage} not shown live"
    assert re.search(r"layer app\S* .*built [\d.]+ \w?B", plain[:report])  # the row stays, with what it did
    assert re.search(rf"push {re.escape(output)} .*sent \d+ blobs?", plain[:report])
    assert "Fetching" not in plain
