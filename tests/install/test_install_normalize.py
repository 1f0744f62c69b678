"""A built wheel rewritten so that its bytes depend only on its files' contents."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from layerplan.install import InstallError, TargetVenv, UnsafeWheelError, install_wheel
from layerplan.install.normalize import normalize_wheel

NAME = "demo-1.0-py3-none-any.whl"
FILES = {
    "demo/__init__.py": b"VALUE = 1\n",
    "demo/tool.py": b"#!/usr/bin/env python\nprint('tool')\n",
    "demo-1.0.data/scripts/demo-run": b"#!python\nimport demo\n",
    "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
EXECUTABLE = {"demo/tool.py", "demo-1.0.data/scripts/demo-run"}


def messy_wheel(directory: Path, *, order: list[str], date: tuple[int, ...], umask_mode: int, deflate: bool) -> Path:
    """The same files as a backend might write them on some machine: its order, times,
    permissions, compression, directory entries, a stale RECORD and its signature."""
    directory.mkdir(parents=True)
    path = directory / NAME
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("demo/", date_time=date), b"")  # a directory entry
        for name in order:
            info = zipfile.ZipInfo(name, date_time=date)
            mode = umask_mode | (0o111 if name in EXECUTABLE else 0)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            archive.writestr(info, FILES[name])
        archive.writestr("demo-1.0.dist-info/RECORD", "stale,,\n")
        archive.writestr("demo-1.0.dist-info/RECORD.jws", "{}")
    return path


def test_two_builds_of_one_content_give_one_wheel(tmp_path: Path) -> None:
    first = messy_wheel(tmp_path / "a", order=sorted(FILES), date=(2024, 5, 6, 7, 8, 10), umask_mode=0o644, deflate=True)
    second = messy_wheel(
        tmp_path / "b", order=sorted(FILES, reverse=True), date=(2001, 1, 1, 0, 0, 0), umask_mode=0o600, deflate=False
    )
    assert first.read_bytes() != second.read_bytes()
    one = normalize_wheel(first, tmp_path / "out-a", epoch=315532800)
    two = normalize_wheel(second, tmp_path / "out-b", epoch=315532800)
    assert one.name == two.name == NAME
    assert one.read_bytes() == two.read_bytes()
    assert normalize_wheel(one, tmp_path / "again", epoch=315532800).read_bytes() == one.read_bytes()  # a fixed point


def test_the_rules(tmp_path: Path) -> None:
    wheel = messy_wheel(tmp_path / "a", order=sorted(FILES, reverse=True), date=(2024, 1, 1, 0, 0, 0), umask_mode=0o600, deflate=True)
    normalized = normalize_wheel(wheel, tmp_path / "out", epoch=1700000000)
    with zipfile.ZipFile(normalized) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        # files only, sorted, the .dist-info last and RECORD at the very end; no old signature
        assert names == [
            "demo-1.0.data/scripts/demo-run", "demo/__init__.py", "demo/tool.py",
            "demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/WHEEL", "demo-1.0.dist-info/RECORD",
        ]  # fmt: skip
        for info in infos:
            assert info.date_time == (2023, 11, 14, 22, 13, 20)
            assert info.compress_type == zipfile.ZIP_STORED and info.create_system == 3
            assert info.external_attr >> 16 == (0o100755 if info.filename in EXECUTABLE else 0o100644), info.filename
            assert info.extra == b"" and info.comment == b""
        rows = list(csv.reader(io.StringIO(archive.read("demo-1.0.dist-info/RECORD").decode())))
        for name, digest, size in rows[:-1]:
            data = archive.read(name)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)
        assert [row[0] for row in rows] == names and rows[-1] == ["demo-1.0.dist-info/RECORD", "", ""]


def test_times_are_clamped_to_what_a_zip_can_hold(tmp_path: Path) -> None:
    wheel = messy_wheel(tmp_path / "a", order=sorted(FILES), date=(2024, 1, 1, 0, 0, 0), umask_mode=0o644, deflate=False)
    with zipfile.ZipFile(normalize_wheel(wheel, tmp_path / "out", epoch=0)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_normalized_wheel_installs_with_a_consistent_record(tmp_path: Path) -> None:
    wheel = messy_wheel(tmp_path / "a", order=sorted(FILES), date=(2024, 1, 1, 0, 0, 0), umask_mode=0o644, deflate=True)
    normalized = normalize_wheel(wheel, tmp_path / "out", epoch=315532800)
    installed = install_wheel(normalized, tmp_path / "root", TargetVenv(python_version="3.11", prefix=PurePosixPath("/app/.venv")))
    assert PurePosixPath("/app/.venv/lib/python3.11/site-packages/demo/tool.py") in installed.files
    assert PurePosixPath("/app/.venv/bin/demo-run") in installed.files


def test_what_is_not_a_wheel_is_refused(tmp_path: Path) -> None:
    no_dist_info = tmp_path / NAME
    with zipfile.ZipFile(no_dist_info, "w") as archive:
        archive.writestr("demo/__init__.py", b"")
    with pytest.raises(InstallError, match="not a valid wheel"):
        normalize_wheel(no_dist_info, tmp_path / "out", epoch=315532800)
    climbing = tmp_path / "evil" / NAME
    climbing.parent.mkdir()
    with zipfile.ZipFile(climbing, "w") as archive:
        archive.writestr("../outside.py", b"")
        archive.writestr("demo-1.0.dist-info/WHEEL", FILES["demo-1.0.dist-info/WHEEL"])
    with pytest.raises(UnsafeWheelError, match="climbs out"):
        normalize_wheel(climbing, tmp_path / "out", epoch=315532800)
