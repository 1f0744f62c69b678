"""Fixtures for the install tests: real wheels from PyPI and crafted ones."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from layerplan.fetch import PYPI_SIMPLE, Fetcher, WantedFile

WHEELS = {
    "six": "1.16.0",
    "click": "8.1.7",
    "pyflakes": "3.2.0",  # a console script
    "docutils": "0.20.1",  # .data/scripts with `#!python`
}


@pytest.fixture(scope="session")
def real_wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``name -> wheel path`` of small real wheels, fetched (and verified) once per session."""
    fetcher = Fetcher(tmp_path_factory.mktemp("wheel-cache"))
    wanted = []
    for name, version in WHEELS.items():
        files = fetcher.index.files(PYPI_SIMPLE, name) or ()
        wheel = next(f for f in files if f.filename.endswith(".whl") and f"-{version}-" in f.filename)
        wanted.append(WantedFile.from_url(name, wheel.url, wheel.hashes, size=wheel.size))
    return {f.wanted.name: f.path for f in fetcher.fetch(wanted)}


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


@pytest.fixture
def make_wheel():  # type: ignore[no-untyped-def]
    """``make_wheel(directory, entries, ...)``: write a crafted wheel (see ``_make_wheel``)."""
    return _make_wheel


def _make_wheel(
    directory: Path,
    entries: dict[str, bytes],
    *,
    name: str = "crafted",
    version: str = "1.0",
    tag: str = "py3-none-any",
    symlinks: dict[str, str] | None = None,
) -> Path:
    """Write a wheel with ``entries`` (plus dist-info) and ``symlinks`` (entry -> target)."""
    dist_info = f"{name}-{version}.dist-info"
    files = dict(entries)
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{dist_info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist_info}/RECORD,,"]
    path = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for entry, data in files.items():
            archive.writestr(entry, data)
        for entry, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(entry)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path
