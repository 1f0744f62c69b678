"""Rewrite a freshly built wheel so that its bytes depend only on its files' contents.

A backend's wheel carries traces of the machine and the moment it was built on: zip
entry order (the file system's), times, permission bits (the umask's), directory
entries, and a RECORD in whatever order the backend wrote. ``normalize_wheel`` rewrites
the archive by these rules, so one sdist gives one wheel, byte for byte, anywhere:

* entries: the files only (no directory entries), sorted by name, the ``.dist-info``
  directory last and its ``RECORD`` at the very end (as the wheel spec recommends);
* every entry's time is ``epoch`` (clamped to the zip range, 1980-2107), its system is
  Unix and its mode ``0o644``, or ``0o755`` when any execute bit was set;
* stored, not deflated: deflate output may change with the zlib build, stored bytes never
  do (the layer that holds the installed files is compressed anyway);
* ``RECORD`` is written again from the entries: every file with its sha256 and size, in
  archive order, ``RECORD`` itself last without a hash; signatures of the old RECORD
  (``RECORD.jws``, ``RECORD.p7s``) are dropped, since they no longer match.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import stat
import time
import zipfile
from pathlib import Path

from installer.exceptions import InstallerError
from installer.sources import WheelFile

from layerplan.install.errors import InstallError
from layerplan.install.wheel import check_wheel_archive

__all__ = ["normalize_wheel"]

_ZIP_MIN = 315532800  # 1980-01-01T00:00:00Z: the first time a zip can hold
_ZIP_MAX = 4354819198  # 2107-12-31T23:59:58Z: the last one
_SIGNATURES = ("RECORD.jws", "RECORD.p7s")


def _date_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    year, month, day, hour, minute, second = time.gmtime(min(max(epoch, _ZIP_MIN), _ZIP_MAX))[:6]
    return (year, month, day, hour, minute, second)


def _mode(info: zipfile.ZipInfo) -> int:
    unix = info.external_attr >> 16 if info.create_system == 3 else 0
    return 0o755 if unix & 0o111 else 0o644


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def normalize_wheel(wheel: Path, out_dir: Path, *, epoch: int) -> Path:
    """Write the normalized copy of ``wheel`` into ``out_dir`` under the same file name and
    return its path (see the module for the rules). Raise ``InstallError`` for a file that
    is not a valid wheel (no ``.dist-info``, an entry twice) and ``UnsafeWheelError`` for
    an entry that would land outside the install directory."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            check_wheel_archive(wheel, archive)
            dist_info = WheelFile(archive).dist_info_dir
            infos = [info for info in archive.infolist() if not info.is_dir()]
            names = [info.filename for info in infos]
            if len(names) != len(set(names)):
                twice = sorted({name for name in names if names.count(name) > 1})
                raise InstallError(f"{wheel.name}: entries {', '.join(twice)} appear twice", path=wheel)
            record_name = f"{dist_info}/RECORD"
            dropped = {record_name, *(f"{dist_info}/{name}" for name in _SIGNATURES)}
            files = {info.filename: (archive.read(info), _mode(info)) for info in infos if info.filename not in dropped}
    except (zipfile.BadZipFile, InstallerError, ValueError) as error:
        # installer: a bad file name (ValueError), not exactly one matching .dist-info
        raise InstallError(f"{wheel.name}: not a valid wheel: {error}", path=wheel) from error
    order = sorted(files, key=lambda name: (name.startswith(f"{dist_info}/"), name.encode("utf-8")))
    rows = io.StringIO()
    writer = csv.writer(rows, delimiter=",", quotechar='"', lineterminator="\n")
    for name in order:
        data, _ = files[name]
        writer.writerow([name, _digest(data), len(data)])
    writer.writerow([record_name, "", ""])
    files[record_name] = (rows.getvalue().encode("utf-8"), 0o644)
    order.append(record_name)

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / wheel.name
    date_time = _date_time(epoch)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as out:
        for name in order:
            data, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_STORED
            out.writestr(info, data)
    return target
