"""`layerplan build` bad input and faults: one clear line, exit 2, nothing half-written.

No engine: the base is the synthetic one (tests/support/synthbase.py). Registry errors
(unreachable, credentials, 5xx) are in test_build_registry.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ocifiles import FileSpec, make_image, make_layer, write_oci_layout
from synthbase import PATH, SyntheticBase

from tests.direct_build.conftest import ExampleBuild
from tests.direct_build.helpers import build_json, copy_example, layerplan, not_progress


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = not_progress(result.stderr).strip().splitlines()  # the build's progress lines come first
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "example")


def test_base_without_python(tmp_path: Path, example: Path) -> None:
    layer = make_layer([FileSpec("etc", "dir"), FileSpec("etc/hostname", data=b"box\n")])
    write_oci_layout(make_image([layer], {"architecture": "amd64", "os": "linux", "config": {"Env": [f"PATH={PATH}"]}}), tmp_path / "no-python")
    result = layerplan("build", str(example), "--base", f"oci:{tmp_path / 'no-python'}", "--output", f"oci:{tmp_path / 'out'}", "--cache-dir", str(tmp_path / "cache"))
    assert_one_line_error(result, "Python")
    assert not (tmp_path / "out").exists()


def test_hash_mismatch_keeps_nothing(tmp_path: Path, example: Path, synthetic_base: SyntheticBase) -> None:
    lock = example / "uv.lock"
    text = lock.read_text()
    start = text.index('name = "annotated-types"')
    wheel_hash = re.search(r'wheels = \[\s*\{[^}]*hash = "sha256:([0-9a-f]{64})"', text[start:])
    assert wheel_hash is not None
    good = wheel_hash.group(1)
    lock.write_text(text.replace(good, "0" * 64))
    cache = tmp_path / "cache"
    base = synthetic_base.specs["oci"]
    result = layerplan("build", str(example), "--base", base, "--output", f"oci:{tmp_path / 'out'}", "--cache-dir", str(cache))
    assert_one_line_error(result, "annotated", "hash")
    assert not (tmp_path / "out").exists()
    kept = [p.name for p in cache.rglob("annotated_types*")]
    assert kept == []


def test_killed_build_leaves_no_half_output_and_recovers(tmp_path: Path, example: Path, example_build: ExampleBuild) -> None:
    cache, archive = tmp_path / "cache", tmp_path / "image.tar"
    args = [sys.executable, "-m", "layerplan", "build", str(example), "--base", example_build.base,
            "--output", f"oci-archive:{archive}", "--cache-dir", str(cache), "--quiet"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **example_build.env})
    time.sleep(2.5)  # mid-way: wheels downloading or layers being written
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not archive.exists() or process.returncode == 0
    # the cache is still usable and the next build equals a clean one
    report = build_json(example, example_build.base, f"oci-archive:{archive}", cache=cache, env=example_build.env)
    assert report["digest"] == example_build.report["digest"]
    assert archive.stat().st_size > 1_000_000
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".image.tar")]
    assert leftovers == []


def test_missing_base_and_output_are_named(tmp_path: Path, example: Path) -> None:
    assert_one_line_error(layerplan("build", str(example), "--output", f"oci:{tmp_path}/o"), "no base image", "--base")
    assert_one_line_error(layerplan("build", str(example), "--base", "x:1"), "no output", "--output")
    assert_one_line_error(
        layerplan("build", str(example), "--base", "x:1", "--output", "ftp:/x"), "invalid output", "oci:DIR"
    )


def test_a_base_spec_that_names_nothing_is_one_line(tmp_path: Path, example: Path) -> None:
    out, cache = f"oci:{tmp_path / 'out'}", str(tmp_path / "cache")
    missing = layerplan("build", str(example), "--base", f"oci:{tmp_path}/missing", "--output", out, "--cache-dir", cache)
    assert_one_line_error(missing, "does not exist", "oci:DIR")
    bad = layerplan("build", str(example), "--base", "ftp://x", "--output", out, "--cache-dir", cache)
    assert_one_line_error(bad, "invalid base image 'ftp://x'")
    assert not (tmp_path / "out").exists()
