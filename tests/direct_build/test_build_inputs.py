"""`layerplan build` on inputs that must not get into an image, and on a full disk.

A tiny project whose one dependency is a wheel file next to it (a uv path source, hash
in the lock), built on the synthetic base: no network, no engine. The wheel is crafted
per test (tests/install/conftest.py); the lock always carries its true hash, so what is
refused is the wheel's content, not a mismatch.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from synthbase import SyntheticBase

from tests.direct_build.helpers import layerplan, not_progress
from tests.install.conftest import _make_wheel

PYPROJECT = """\
[project]
name = "inputs-app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["crafted"]

[tool.uv.sources]
crafted = {{ {source} }}
"""

LOCK = """\
version = 1
revision = 2
requires-python = ">=3.10"

[[package]]
name = "crafted"
version = "1.0"
source = {{ {source} }}
wheels = [
    {{ {file}, hash = "sha256:{sha}" }},
]

[[package]]
name = "inputs-app"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "crafted" }},
]

[package.metadata]
requires-dist = [{{ name = "crafted", {source} }}]
"""


def make_project(directory: Path, entries: dict[str, bytes], *, url: str | None = None, wheel_dir: Path | None = None) -> Path:
    """The project, depending on a wheel with ``entries``: by path, or by ``file://`` URL
    when ``url`` is given (the wheel then lives in ``wheel_dir``)."""
    directory.mkdir(parents=True, exist_ok=True)
    vendor = wheel_dir or directory / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    wheel = _make_wheel(vendor, entries)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if url is None:
        source = f'path = "vendor/{wheel.name}"'
        file = f'filename = "{wheel.name}"'
    else:
        source = f'url = "{url}"'
        file = f'url = "{url}"'
    (directory / "pyproject.toml").write_text(PYPROJECT.format(source=source))
    (directory / "uv.lock").write_text(LOCK.format(source=source, file=file, sha=sha))
    return wheel


def build(project: Path, base: SyntheticBase, out: Path, cache: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return layerplan(
        "build", str(project), "--base", base.specs["oci"], "--output", f"oci:{out}", "--cache-dir", str(cache), env=env
    )


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = not_progress(result.stderr).strip().splitlines()  # the build's progress lines come first
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("entries", "needles"),
    [
        ({"crafted-1.0.data/scripts/python": b"#!/bin/sh\necho pwned\n"}, ("'python' would replace /app/.venv/bin/python",)),
        ({"crafted-1.0.data/data/pyvenv.cfg": b"home = /tmp/evil\n"}, ("would replace /app/.venv/pyvenv.cfg",)),
        ({"crafted/../../../../etc/cron.d/evil": b"* * * * * root sh\n"}, ("climbs out",)),
    ],
    ids=["interpreter", "pyvenv-cfg", "dot-dot"],
)
def test_a_malicious_wheel_is_refused_in_one_line(tmp_path: Path, synthetic_base: SyntheticBase, entries, needles) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    make_project(project, {"crafted/__init__.py": b"", **entries})
    result = build(project, synthetic_base, tmp_path / "out", tmp_path / "cache")
    line = one_line_error(result, "crafted-1.0-py3-none-any.whl", "refusing to install this wheel", *needles)
    assert "hint:" in line
    assert not (tmp_path / "out").exists()


def append_entry(project: Path, wheel: Path, name: str, data: bytes) -> None:
    """Add a deflated entry to the project's wheel (after its RECORD) and re-lock its hash."""
    with zipfile.ZipFile(wheel) as archive:
        duplicate = name in archive.namelist()
    with pytest.warns(UserWarning, match="Duplicate name") if duplicate else contextlib.nullcontext():
        with zipfile.ZipFile(wheel, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, data)
    lock = project / "uv.lock"
    text = lock.read_text()
    old = text.split('hash = "sha256:', 1)[1][:64]
    lock.write_text(text.replace(old, hashlib.sha256(wheel.read_bytes()).hexdigest()))


def test_a_wheel_with_duplicate_entries_is_refused(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    project = tmp_path / "project"
    wheel = make_project(project, {"crafted/__init__.py": b"SAFE = True\n"})
    append_entry(project, wheel, "crafted/__init__.py", b"EVIL = True\n")
    result = build(project, synthetic_base, tmp_path / "out", tmp_path / "cache")
    one_line_error(result, "'crafted/__init__.py' appears twice")
    assert not (tmp_path / "out").exists()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    project = tmp_path / "project"
    wheel = make_project(project, {"crafted/__init__.py": b""})
    append_entry(project, wheel, "crafted/bomb.bin", bytes(64 << 20))  # ~64 kB in the wheel
    result = build(project, synthetic_base, tmp_path / "out", tmp_path / "cache")
    one_line_error(result, "'crafted/bomb.bin' unpacks", "to 67.1 MB", "over the limit of 200:1")
    assert not (tmp_path / "out").exists()


def test_a_file_url_wheel_is_built_and_a_missing_one_is_named(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    project = tmp_path / "project"
    wheels = tmp_path / "wheels"
    url = (wheels / "crafted-1.0-py3-none-any.whl").as_uri()
    make_project(project, {"crafted/__init__.py": b"OK = True\n"}, url=url, wheel_dir=wheels)
    ok = build(project, synthetic_base, tmp_path / "out", tmp_path / "cache")
    assert ok.returncode == 0, ok.stderr

    (wheels / "crafted-1.0-py3-none-any.whl").unlink()
    missing = build(project, synthetic_base, tmp_path / "out2", tmp_path / "cache-empty")
    line = one_line_error(missing, f"the local file {wheels / 'crafted-1.0-py3-none-any.whl'}", "does not exist")
    assert "network" not in line


# ---------------------------------------------------------------- a full disk


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``directory`` (needs root: skipped otherwise), unmounted after."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def _cache_is_whole(cache: Path) -> None:
    """No temporary left, and every blob is what its name says."""
    leftovers = [p for p in cache.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []
    for blob in (cache / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


def test_a_full_cache_is_one_line_and_the_cache_stays_valid(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    project = tmp_path / "project"
    make_project(project, {"crafted/__init__.py": b"", "crafted/blob.bin": os.urandom(25_000_000)})
    with small_tmpfs(tmp_path / "small", "20m") as small:
        cache = small / "cache"
        result = build(project, synthetic_base, tmp_path / "out", cache)
        one_line_error(result, f"no space left on device writing {cache}", "LAYERPLAN_CACHE_DIR", "TMPDIR")
        assert not (tmp_path / "out").exists()
        _cache_is_whole(cache)
        subprocess.run(["mount", "-o", "remount,size=120m", str(small)], check=True)
        again = build(project, synthetic_base, tmp_path / "out", cache)
        assert again.returncode == 0, again.stderr
        _cache_is_whole(cache)


def test_a_full_tmpdir_is_one_line(tmp_path: Path, synthetic_base: SyntheticBase) -> None:
    project = tmp_path / "project"
    make_project(project, {"crafted/__init__.py": b"", "crafted/blob.bin": os.urandom(25_000_000)})
    with small_tmpfs(tmp_path / "small", "20m") as small:
        result = build(project, synthetic_base, tmp_path / "out", tmp_path / "cache", env={"TMPDIR": str(small)})
        one_line_error(result, f"no space left on device writing {small}", "TMPDIR")
        assert not (tmp_path / "out").exists()
        assert [p for p in small.iterdir()] == []  # scratch cleaned up
