"""Small sdists written byte for byte (fixed times and modes), for the tests that build
wheels from source: the same bytes, so the same sha256, on every run."""

from __future__ import annotations

import gzip
import io
import tarfile
import textwrap
from pathlib import Path

__all__ = ["make_sdist"]


def make_sdist(directory: Path, files: dict[str, str], *, name: str = "tinysdist", version: str = "1.0") -> Path:
    """``directory/NAME-VERSION.tar.gz`` holding ``files`` (dedented) under ``NAME-VERSION/``,
    with a ``PKG-INFO`` and a ``tinysdist.py`` module unless ``files`` gives its own."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}.tar.gz"
    files = {"tinysdist.py": "VALUE = 42\n", "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", **files}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for relative, text in sorted(files.items()):
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(f"{name}-{version}/{relative}")
            info.size, info.mtime, info.mode = len(data), 1_600_000_000, 0o644
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))  # no time in the gzip header either
    return path
