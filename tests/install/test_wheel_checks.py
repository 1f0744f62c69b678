"""Crafted malicious wheels: duplicate entries, zip bombs, lying headers, and files that
would replace the environment's own interpreter links or pyvenv.cfg."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from layerplan.install import InstallError, TargetVenv, UnsafeWheelError, install_wheel, make_venv
from layerplan.install.wheel_checks import DEFAULT_LIMITS, UnpackLimits

VENV = TargetVenv(python_version="3.11")
BIN = "app/.venv/bin"


def _add(wheel: Path, name: str, data: bytes, *, compress: int = zipfile.ZIP_DEFLATED) -> None:
    """Append an entry after RECORD (zipfile warns about duplicates but writes them)."""
    with pytest.warns(UserWarning, match="Duplicate name") if _has(wheel, name) else _nothing():
        with zipfile.ZipFile(wheel, "a", compression=compress) as archive:
            archive.writestr(name, data)


def _has(wheel: Path, name: str) -> bool:
    with zipfile.ZipFile(wheel) as archive:
        return name in archive.namelist()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_duplicate_entries_are_refused(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b"SAFE = True\n"})
    _add(wheel, "crafted/__init__.py", b"import os; os.system('pwned')\n")
    with pytest.raises(UnsafeWheelError, match=r"'crafted/__init__.py' appears twice") as caught:
        install_wheel(wheel, tmp_path / "stage", VENV)
    assert wheel.name in str(caught.value)
    assert not (tmp_path / "stage").exists()


def test_duplicates_spelled_differently_are_refused(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b""})
    _add(wheel, "crafted/./__init__.py", b"pwned")
    with pytest.raises(UnsafeWheelError, match="appears twice"):
        install_wheel(wheel, tmp_path / "stage", VENV)


@pytest.mark.parametrize(
    "entry",
    [
        "crafted-1.0.data/scripts/python",  # the interpreter link itself
        "crafted-1.0.data/scripts/python3.11",
        "crafted-1.0.data/data/bin/python3",
        "crafted-1.0.data/data/pyvenv.cfg",
        "crafted-1.0.data/data/lib64/evil.py",  # under the lib64 -> lib link
    ],
)
def test_files_over_the_environment_skeleton_are_refused(tmp_path, make_wheel, entry):  # type: ignore[no-untyped-def]
    """Each layer is staged on its own, so nothing there is a symlink to trip over: the
    wheel's file would simply shadow the environment layer's ``bin/python``."""
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b"", entry: b"#!/bin/sh\necho pwned\n"})
    with pytest.raises(UnsafeWheelError, match="part of the virtual environment itself") as caught:
        install_wheel(wheel, tmp_path / "stage", VENV)
    assert repr(entry.split("/", 2)[2]) in str(caught.value)
    assert not [p for p in (tmp_path / "stage").rglob("*") if not p.is_dir() and p.name in ("python", "python3", "python3.11", "pyvenv.cfg", "evil.py")]


def test_a_console_script_named_python_is_refused(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(
        tmp_path,
        {"crafted/__init__.py": b"def main(): pass\n", "crafted-1.0.dist-info/entry_points.txt": b"[console_scripts]\npython = crafted:main\n"},
    )
    with pytest.raises(UnsafeWheelError, match=r"would replace /app/.venv/bin/python,"):
        install_wheel(wheel, tmp_path / "stage", VENV)
    assert not (tmp_path / "stage" / BIN / "python").exists()


def test_the_skeleton_made_by_make_venv_is_what_is_protected(tmp_path):  # type: ignore[no-untyped-def]
    made = make_venv(tmp_path, VENV, PurePosixPath("/usr/bin/python3.11"))
    files = {p for p in made if not (tmp_path / p.relative_to("/")).is_dir() or (tmp_path / p.relative_to("/")).is_symlink()}
    assert files == set(VENV.skeleton)


def test_ordinary_scripts_next_to_the_interpreter_still_install(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted-1.0.data/scripts/python-config-helper": b"#!python\nprint(1)\n"})
    install_wheel(wheel, tmp_path / "stage", VENV)
    assert (tmp_path / "stage" / BIN / "python-config-helper").read_bytes().startswith(b"#!/app/.venv/bin/python\n")


def test_a_zip_bomb_entry_is_refused_by_its_ratio(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b""})
    _add(wheel, "crafted/bomb.bin", bytes(64 << 20))  # 64 MiB of zeros: ~64 kB deflated, ~1000:1
    stage = tmp_path / "stage"
    with pytest.raises(UnsafeWheelError, match=r"'crafted/bomb.bin' unpacks .* to 67.1 MB \(\d+:1, over the limit of 200:1"):
        install_wheel(wheel, stage, VENV)
    assert not stage.exists()
    assert wheel.stat().st_size < 1 << 20


def test_small_highly_compressible_files_are_fine(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b" " * 500_000})  # ~500:1, but small
    install_wheel(wheel, tmp_path / "stage", VENV)


def test_the_total_unpacked_size_is_bounded(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path, {"crafted/a.bin": os.urandom(300_000), "crafted/b.bin": os.urandom(300_000)})
    limits = UnpackLimits(total_bytes=500_000)
    with pytest.raises(UnsafeWheelError, match=r"'crafted/b.bin' brings the unpacked size over 500.0 kB, the limit for one wheel"):
        install_wheel(wheel, tmp_path / "stage", VENV, limits=limits)
    assert not (tmp_path / "stage").exists()
    assert DEFAULT_LIMITS.total_bytes >= 4 << 30  # room for the largest real wheels


def _lie_about_size(wheel: Path, entry: str, declared: int) -> None:
    """Rewrite ``entry``'s uncompressed size in the local header and the central directory."""
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(entry)
    struct.pack_into("<I", data, info.header_offset + 22, declared)  # local header
    name = entry.encode()
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, declared)
    wheel.write_bytes(bytes(data))


def test_a_lying_size_header_cannot_unpack_more(tmp_path, make_wheel):  # type: ignore[no-untyped-def]
    """The header says 100 bytes; the data inflates to 64 MiB. The ratio check sees a
    harmless entry, and zipfile stops at the declared size: the wheel fails, one line,
    and no more than the declared bytes reach the disk."""
    wheel = make_wheel(tmp_path, {"crafted/__init__.py": b""})
    _add(wheel, "crafted/bomb.bin", bytes(64 << 20))
    _lie_about_size(wheel, "crafted/bomb.bin", 100)
    stage = tmp_path / "stage"
    with pytest.raises(InstallError, match="crafted/bomb.bin") as caught:
        install_wheel(wheel, stage, VENV)
    assert "\n" not in str(caught.value)
    written = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file())
    assert written < 10_000
