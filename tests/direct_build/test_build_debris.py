"""Builds killed at known points, and ``cache prune --all`` racing a build: real
``python -m layerplan`` processes, no engine.

A loopback registry serves the base and holds its layer's download until released, so a
build stops at a known point (inside writing an output) to be ``kill -9``'d there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from memregistry import MemRegistry
from ocifiles import FileSpec, digest_of, make_image, make_layer, read_docker_archive, read_oci_archive, read_oci_layout
from ocifiles import write_oci_layout as write_test_layout
from synthbase import SyntheticBase

from tests.direct_build.helpers import build_json, layerplan

PYMODULES = Path(__file__).resolve().parents[1] / "fixtures" / "setuptools-pymodules"
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
TAG = "pymod-app:0.1.0"  # the default name of its image in a layout


@dataclass(frozen=True)
class Warm:
    project: Path
    base: str
    """The base's reference in the loopback registry."""
    base_layer: str
    cache: Path
    """A cache holding every layer of the project, but not the base's layer."""
    digest: str
    """What a clean build gives."""
    registry: MemRegistry


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory, synthetic_base: SyntheticBase) -> Iterator[Warm]:
    root = tmp_path_factory.mktemp("debris")
    project = Path(shutil.copytree(PYMODULES, root / "app", ignore=shutil.ignore_patterns("regenerate.sh")))
    with MemRegistry() as registry:
        registry.seed("library/python", "3.11", synthetic_base.image.manifest_bytes, synthetic_base.image.blobs())
        base = f"{registry.address}/library/python:3.11"
        report = build_json(project, base, f"oci:{root / 'clean'}", cache=root / "cache", env=EPOCH)
        (base_layer,) = [layer["digest"] for layer in report["layers"] if layer["status"] == "base"]
        # Without the base's layer in the cache, writing an output downloads it: the point a hold stops at.
        (root / "cache" / "blobs" / "sha256" / base_layer.removeprefix("sha256:")).unlink()
        yield Warm(project=project, base=base, base_layer=base_layer, cache=root / "cache", digest=report["digest"], registry=registry)


def start_build(warm: Warm, cache: Path, tmpdir: Path, *outputs: str, extra: tuple[str, ...] = ("--json",)) -> subprocess.Popen[str]:
    args = ["build", str(warm.project), "--base", warm.base, "--cache-dir", str(cache), *extra]
    for output in outputs:
        args += ["--output", output]
    return subprocess.Popen(
        [sys.executable, "-m", "layerplan", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "COLUMNS": "200", "TMPDIR": str(tmpdir), **EPOCH},
    )  # fmt: skip


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def kill_at_base_download(warm: Warm, cache: Path, tmpdir: Path, output: str) -> None:
    """Start a build of ``output``, wait until it is downloading the base's layer (inside
    writing the output), and ``kill -9`` it (and the processes it started) there."""
    hold = warm.registry.hold("GET", f"/blobs/{warm.base_layer}")
    try:
        process = start_build(warm, cache, tmpdir, output)
        assert hold.reached.wait(300), process.communicate()[1]
        os.killpg(process.pid, signal.SIGKILL)
        code, out, err = finish(process)
        assert code == -signal.SIGKILL, err
    finally:
        hold.release()
        warm.registry.holds.remove(hold)


def debris(*directories: Path) -> list[Path]:
    """What looks like a temporary (``.x.tmp-*``, ``layerplan-*``) directly in ``directories``."""
    found = []
    for directory in directories:
        if directory.is_dir():
            found += [p for p in directory.iterdir() if ".tmp-" in p.name or p.name.startswith("layerplan-")]
    return sorted(found)


def age(paths: list[Path], seconds: float = 2 * 3600) -> None:
    when = time.time() - seconds
    for path in paths:
        os.utime(path, (when, when))


def test_builds_killed_inside_every_output_leave_debris_the_next_build_sweeps(warm: Warm, tmp_path: Path) -> None:
    cache = Path(shutil.copytree(warm.cache, tmp_path / "cache", symlinks=True))
    tmpdir, out = tmp_path / "tmpdir", tmp_path / "out"
    tmpdir.mkdir()
    out.mkdir()
    # A layout that already holds another image: a build adds its blobs into it, then its index.
    other = make_image([make_layer([FileSpec("hello.txt", data=b"hi\n")])], {"architecture": "amd64", "os": "linux"})
    shared = write_test_layout(other, out / "shared")
    index_before = (shared / "index.json").read_bytes()
    outputs = [f"oci:{out / 'layout'}", f"oci-archive:{out / 'image.tar'}", f"docker-archive:{out / 'docker.tar'}", f"oci:{shared}"]

    for output in outputs:
        kill_at_base_download(warm, cache, tmpdir, output)

    # No half-written output: the new ones are absent, the shared layout still says what it said.
    assert not any((out / name).exists() for name in ("layout", "image.tar", "docker.tar"))
    assert (shared / "index.json").read_bytes() == index_before
    assert read_oci_layout(shared)[0].manifest_bytes == other.manifest_bytes
    # ... but each kill left its temporaries: beside each output, in the layout, in $TMPDIR.
    left = debris(out, shared / "blobs" / "sha256", tmpdir)
    names = [p.name for p in left]
    for prefix in (".layout.tmp-", ".image.tar.tmp-", ".docker.tar.tmp-", "." + warm.base_layer[7:47] + ".tmp-", "layerplan-"):
        assert any(name.startswith(prefix) for name in names), (prefix, names)

    # Older than the grace period: the next build sweeps them. Younger ones, and what is
    # not layerplan's, stay.
    age(left)
    young = [tmpdir / "layerplan-dep-young123", out / ".image.tar.tmp-young123"]
    young[0].mkdir()
    young[1].write_bytes(b"a concurrent build's")
    foreign = [out / ".notes.txt.tmp-abcdefgh", tmpdir / "layerplan-notes.txt", tmpdir / "other-abcdefgh"]
    for path in foreign:
        path.write_bytes(b"not layerplan's")
    age(foreign)

    process = start_build(warm, cache, tmpdir, *outputs, extra=())
    code, stdout, stderr = finish(process)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if "left by interrupted builds" in line]
    assert line.startswith(f"layerplan: removed {len(left)} temporaries left by interrupted builds (")
    assert [p for p in left if p.exists()] == []
    assert all(p.exists() for p in (*young, *foreign))

    # Every output holds the image a clean build gives; the cache is whole.
    assert digest_of(read_oci_layout(out / "layout")[0].manifest_bytes) == warm.digest
    assert digest_of(read_oci_archive(out / "image.tar")[0].manifest_bytes) == warm.digest
    assert read_docker_archive(out / "docker.tar").entry["RepoTags"] == [TAG]
    assert digest_of(read_oci_layout(shared, TAG)[0].manifest_bytes) == warm.digest
    assert read_oci_layout(shared, "latest")[0].manifest_bytes == other.manifest_bytes
    again = build_json(warm.project, warm.base, f"oci:{tmp_path / 'again'}", cache=cache, env={**EPOCH, "TMPDIR": str(tmpdir)})
    assert again["digest"] == warm.digest
    assert {layer["status"] for layer in again["layers"]} == {"base", "cached"}
    info = layerplan("cache", "info", "--cache-dir", str(cache))
    assert info.returncode == 0 and " temp " in info.stdout
    assert [line.split()[1] for line in info.stdout.splitlines() if line.split()[:1] == ["temp"]] == ["0"]


def test_prune_all_waits_for_a_running_build(warm: Warm, tmp_path: Path) -> None:
    """``cache prune --all`` while a build is inside writing its output (every blob it
    needs found in the cache before): prune says it waits, the build ends with the right
    image, then prune empties the cache."""
    cache = Path(shutil.copytree(warm.cache, tmp_path / "cache", symlinks=True))
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    hold = warm.registry.hold("GET", f"/blobs/{warm.base_layer}")
    try:
        build = start_build(warm, cache, tmpdir, f"oci:{tmp_path / 'image'}")
        assert hold.reached.wait(300), build.communicate()[1]
        prune = subprocess.Popen(
            [sys.executable, "-m", "layerplan", "cache", "prune", "--all", "--cache-dir", str(cache)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmpdir)},
        )  # fmt: skip
        assert prune.stderr is not None
        assert prune.stderr.readline() == f"layerplan: waiting for 1 running build using {cache} to finish\n"
        assert prune.poll() is None  # it cannot have finished: the build still holds the cache
    finally:
        hold.release()
        warm.registry.holds.remove(hold)
    code, stdout, stderr = finish(build)
    assert code == 0, stderr
    assert json.loads(stdout)["digest"] == warm.digest
    assert digest_of(read_oci_layout(tmp_path / "image")[0].manifest_bytes) == warm.digest
    pruned, rest = prune.communicate(timeout=300)
    assert prune.returncode == 0, rest
    assert "removed:" in pruned and rest == ""
    assert not list((cache / "blobs" / "sha256").glob("*")) if (cache / "blobs" / "sha256").exists() else True


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.8, 1.5, 3.0])
def test_prune_all_at_any_moment_never_fails_a_build(warm: Warm, tmp_path: Path, delay: float) -> None:
    """Real timing, no hold: whenever the prune starts (before the build takes the cache,
    during, after), the build ends 0 with the image a clean build gives, and so does prune."""
    cache = Path(shutil.copytree(warm.cache, tmp_path / "cache", symlinks=True))
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    build = start_build(warm, cache, tmpdir, f"oci:{tmp_path / 'image'}")
    time.sleep(delay)  # when the prune starts; nothing asserted about time
    prune = layerplan("cache", "prune", "--all", "--cache-dir", str(cache), env={"TMPDIR": str(tmpdir)})
    code, stdout, stderr = finish(build)
    assert code == 0, stderr
    assert "Traceback" not in stderr + prune.stderr
    report: dict[str, Any] = json.loads(stdout)
    assert report["digest"] == warm.digest
    assert digest_of(read_oci_layout(tmp_path / "image")[0].manifest_bytes) == warm.digest
    assert prune.returncode == 0, prune.stderr
