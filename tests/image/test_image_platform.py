"""Detecting the target from a base image's config and layers, without a container."""

from __future__ import annotations

from pathlib import Path

import pytest
from lp_image_helpers import files, memory_layer, synthetic_image

from layerplan.errors import LayerplanError, TargetError
from layerplan.resolution.target import base_target
from layerplan.image import NoPythonError, detect_platform, scan_base
from layerplan.image.fs import ImageFS

GLIBC = b"\x7fELF...GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n..."
MUSL = b"\x7fELF\x00\x00musl stuff\x00%s\x001.2.4\x00more\x00"
MERGED_USR = {"bin": "->usr/bin", "lib": "->usr/lib", "lib64": "->usr/lib64", "sbin": "->usr/sbin"}


def test_musl_like_tree(tmp_path: Path) -> None:
    layer = memory_layer(
        files(
            tmp_path,
            {
                "lib/ld-musl-x86_64.so.1": MUSL,
                "lib/libc.musl-x86_64.so.1": "->ld-musl-x86_64.so.1",
                "usr/bin/python3": "->python3.12",
                "usr/bin/python3.12": b"\x7fELF python",
                "usr/lib/python3.12/os.py": b"# os\n",
            },
        )
    )
    detected, symlinks = detect_platform(synthetic_image([layer]))
    assert (detected.os, detected.arch, detected.variant) == ("linux", "amd64", None)
    assert (detected.python_version, detected.python_path) == ("3.12", "/usr/bin/python3.12")
    assert (detected.libc_family, detected.libc_version) == ("musl", "1.2.4")
    assert detected.python_minor == (3, 12)
    assert symlinks["/usr/bin/python3"] == "python3.12"


def test_alpine_versions_from_apk_database(tmp_path: Path) -> None:
    apk = b"P:musl\nV:1.2.5-r0\n\nP:python3\nV:3.12.3-r1\n\n"
    layer = memory_layer(
        files(
            tmp_path,
            {
                "lib/ld-musl-aarch64.so.1": b"\x7fELF",
                "lib/apk/db/installed": apk,
                "usr/bin/python3": "->python3.12",
                "usr/bin/python3.12": b"py",
            },
        )
    )
    detected, _ = detect_platform(synthetic_image([layer], architecture="arm64", variant="v8"))
    assert (detected.arch, detected.variant) == ("arm64", "v8")
    assert (detected.python_version, detected.libc_family, detected.libc_version) == ("3.12.3", "musl", "1.2.5")


def test_official_python_image_like(tmp_path: Path) -> None:
    """/usr/local/bin/python3 -> python3.12, ENV PYTHON_VERSION, glibc under merged /usr."""
    debian = memory_layer(files(tmp_path, {**MERGED_USR, "usr/lib/x86_64-linux-gnu/libc.so.6": GLIBC}))
    python = memory_layer(
        files(
            tmp_path,
            {
                "usr/local/bin/python3": "->python3.12",
                "usr/local/bin/python": "->python3",
                "usr/local/bin/python3.12": b"py",
                "usr/local/lib/python3.12/os.py": b"",
            },
        )
    )
    config = {"Env": ["PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/bin", "PYTHON_VERSION=3.12.7"]}
    detected, symlinks = detect_platform(synthetic_image([debian, python], config=config))
    assert (detected.python_version, detected.python_path) == ("3.12.7", "/usr/local/bin/python3.12")
    assert (detected.libc_family, detected.libc_version) == ("glibc", "2.36")
    assert {"/bin", "/lib", "/lib64", "/sbin"} <= set(symlinks)


def test_path_through_symlinked_dir_and_dpkg_patch(tmp_path: Path) -> None:
    """Debian: only /bin on PATH, /bin -> usr/bin, python3 -> python3.11; patch from dpkg."""
    status = (
        b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\n\n"
        b"Package: python3.11-minimal\nStatus: install ok installed\nVersion: 3.11.2-6+deb12u6\n\n"
    )
    layer = memory_layer(
        files(
            tmp_path,
            {
                **MERGED_USR,
                "usr/bin/python3": "->python3.11",
                "usr/bin/python3.11": b"py",
                "usr/lib/libc-2.36.so": b"no version string here",
                "var/lib/dpkg/status": status,
            },
        )
    )
    detected, _ = detect_platform(synthetic_image([layer], config={"Env": ["PATH=/bin"]}))
    assert (detected.python_version, detected.python_path) == ("3.11.2", "/usr/bin/python3.11")
    assert (detected.libc_family, detected.libc_version) == ("glibc", "2.36")


def test_version_from_stdlib_dir_when_names_say_nothing(tmp_path: Path) -> None:
    layer = memory_layer(
        files(tmp_path, {"opt/py/bin/python3": b"py", "opt/py/lib/python3.13/os.py": b"", "opt/py/lib/python3.9/x": b""})
    )
    detected, _ = detect_platform(synthetic_image([layer], config={"Env": ["PATH=/opt/py/bin"]}))
    assert (detected.python_version, detected.python_path) == ("3.13", "/opt/py/bin/python3")
    assert detected.libc_family is None and detected.libc_version is None


def test_whiteouts_and_later_layers_win(tmp_path: Path) -> None:
    lower = memory_layer(
        files(
            tmp_path,
            {
                "usr/bin/python3": "->python3.10",
                "usr/bin/python3.10": b"old",
                "usr/lib/python3.10/os.py": b"",
                "etc/old/file": b"",
            },
        )
    )
    upper = memory_layer(
        files(
            tmp_path,
            {
                "usr/bin/.wh.python3.10": b"",
                "usr/bin/python3": "->python3.12",
                "usr/bin/python3.12": b"new",
                "etc/old/.wh..wh..opq": b"",
                "etc/old/kept": b"",
            },
        )
    )
    scan = scan_base(synthetic_image([lower, upper]))
    assert scan.fs.get("/usr/bin/python3.10") is None
    assert scan.fs.listdir("/etc/old") == ["kept"]
    assert scan.platform().python_path == "/usr/bin/python3.12"
    # a later layer deleting the interpreter
    gone = memory_layer(files(tmp_path, {"usr/bin/.wh.python3.12": b"", "usr/bin/.wh.python3": b""}))
    with pytest.raises(NoPythonError):
        scan_base(synthetic_image([lower, upper, gone])).platform()


def test_no_python_is_a_clear_error(tmp_path: Path) -> None:
    layer = memory_layer(files(tmp_path, {"bin/sh": b"sh", "usr/lib/x86_64-linux-gnu/libc.so.6": GLIBC}))
    with pytest.raises(NoPythonError) as info:
        detect_platform(synthetic_image([layer]))
    assert isinstance(info.value, TargetError) and isinstance(info.value, LayerplanError)
    text = str(info.value)
    assert "no Python interpreter" in text and "python base image" in text.lower() and "explicitly" in text


def test_dangling_and_looping_links(tmp_path: Path) -> None:
    layer = memory_layer(files(tmp_path, {"usr/bin/python3": "->python3", "usr/bin/python": "->/nowhere"}))
    fs = ImageFS.from_layers([layer])
    assert fs.resolve("/usr/bin/python3") is None and fs.resolve("/usr/bin/python") is None
    with pytest.raises(NoPythonError):
        detect_platform(synthetic_image([layer]))


@pytest.mark.engine
def test_real_base_image(base_layout: Path) -> None:
    from layerplan.transports import read_oci_layout

    detected, symlinks = detect_platform(read_oci_layout(base_layout))
    assert (detected.os, detected.arch, detected.variant) == ("linux", "amd64", None)
    assert detected.python_minor == (3, 11) and detected.python_version.startswith("3.11.")
    assert detected.python_path == "/usr/bin/python3.11"
    assert (detected.libc_family, detected.libc_version) == ("glibc", "2.36")
    assert {"/bin": "usr/bin", "/lib": "usr/lib", "/sbin": "usr/sbin"}.items() <= dict(symlinks).items()
    assert "/lib64" in symlinks
    target = base_target(detected, "the test base")
    assert (target.python_version, target.python_path, str(target.libc)) == ((3, 11), "/usr/bin/python3.11", "glibc-2.36")


def test_base_target(tmp_path: Path) -> None:
    layer = memory_layer(files(tmp_path, {"lib/ld-musl-x86_64.so.1": MUSL, "usr/bin/python3.12": b"py"}))
    detected, _ = detect_platform(synthetic_image([layer]))
    target = base_target(detected, "the test base")
    assert (target.python_version, target.python_full_version, str(target.libc)) == ((3, 12), None, "musl-1.2")
    static = memory_layer(files(tmp_path, {"usr/bin/python3.12": b"py"}))
    with pytest.raises(TargetError, match="C library"):
        base_target(detect_platform(synthetic_image([static]))[0], "the test base")
    assert str(base_target(detect_platform(synthetic_image([static]))[0], "x", libc="musl-1.2").libc) == "musl-1.2"
