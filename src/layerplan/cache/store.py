"""A content-addressed blob cache on the local disk, shared by concurrent processes.

Layout under the cache root::

    blobs/sha256/<hex>        a blob, named by the sha256 of its bytes
    keys/<k[:2]>/<key>.json   a layer key -> {"digest", "diff_id", "size"}
    tmp/                      files being written (``.<name>.tmp-*``)

Why it is safe:

* every file is written under ``tmp/``, fsynced and renamed into place, so a name under
  ``blobs/`` or ``keys/`` always holds complete content;
* two processes putting the same blob write two temporary files and rename both onto
  the same name with the same bytes; two processes putting the same key both write a
  valid record and the last rename wins;
* a writer holds an exclusive ``flock`` on its temporary file, so :meth:`BlobCache.prune`
  removes only temporary files whose writer is gone (killed), never one being written.

"Last used" is a file's mtime, which every hit refreshes: atime is not used because
``noatime``/``relatime`` mounts make it unreliable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from layerplan.cache.atomic import TEMP_MARKER, fsync_dir, is_temp_name
from layerplan.errors import LayerplanError
from layerplan.oci.digest import Digest

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "BlobCache",
    "BlobWriter",
    "CacheError",
    "CacheReport",
    "CachedLayer",
    "PruneResult",
    "default_cache_dir",
]

_KEY = re.compile(r"^[0-9a-f]{16,128}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
#: a temporary file of a writer that cannot be locked (no ``fcntl``) counts as dead after this
_DEAD_TEMP_AGE = 24 * 3600.0


class CacheError(LayerplanError):
    """The local cache cannot be used, or a blob does not have the expected digest."""


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$LAYERPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/layerplan``, else ``~/.cache/layerplan``."""
    env = os.environ if environ is None else environ
    if env.get("LAYERPLAN_CACHE_DIR"):
        return Path(env["LAYERPLAN_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "layerplan"
    return Path.home() / ".cache" / "layerplan"


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedLayer:
    """What the cache remembers about a built layer."""

    digest: Digest
    """sha256 of the compressed blob stored under ``blobs/``."""
    diff_id: Digest
    """sha256 of the uncompressed tar (the image config's ``rootfs.diff_ids`` entry)."""
    size: int
    """Size in bytes of the compressed blob."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CacheReport:
    """Sizes of what the cache holds (see :meth:`BlobCache.report`)."""

    root: Path
    blobs: int
    blob_bytes: int
    keys: int
    unreferenced_blobs: int
    unreferenced_bytes: int
    temp_files: int
    temp_bytes: int

    def describe(self) -> str:
        """A few human-readable lines."""
        mib = 1024 * 1024
        return "\n".join(
            (
                f"cache: {self.root}",
                (
                    f"blobs: {self.blobs} ({self.blob_bytes / mib:.1f} MiB), {self.unreferenced_blobs} not"
                    f" referenced by a layer key ({self.unreferenced_bytes / mib:.1f} MiB)"
                ),
                f"layer keys: {self.keys}",
                f"temporary files: {self.temp_files} ({self.temp_bytes / mib:.1f} MiB)",
            )
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class PruneResult:
    """What :meth:`BlobCache.prune` removed."""

    blobs: int
    keys: int
    temp_files: int
    freed_bytes: int


class BlobWriter:
    """A blob being written into the cache; see :meth:`BlobCache.writer`."""

    def __init__(self, handle: BinaryIO, tmp: Path) -> None:
        self._handle = handle
        self._tmp = tmp
        self._hash = hashlib.sha256()
        self.size = 0
        self.digest: Digest | None = None
        """Set when the ``with`` block has ended and the blob is in place."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._handle.write(data)

    def flush(self) -> None:
        self._handle.flush()

    def _current(self) -> Digest:
        return Digest("sha256", self._hash.hexdigest())


class BlobCache:
    """The cache rooted at ``root`` (created on first write)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    # ---- blobs -------------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> Path:
        """Where the blob ``digest`` lives (whether or not it is present)."""
        if digest.algorithm != "sha256":
            raise CacheError(f"the cache stores sha256 blobs only, not {digest}")
        return self.root / "blobs" / "sha256" / digest.hex

    def has(self, digest: Digest) -> bool:
        """True when the complete blob is present."""
        return self.blob_path(digest).is_file()

    def open(self, digest: Digest) -> BinaryIO:
        """Open the blob for reading and mark it used; raise ``CacheError`` if absent."""
        path = self.blob_path(digest)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise CacheError(f"blob {digest} is not in the cache", path=self.root) from exc
        _touch(path)
        return handle

    @contextlib.contextmanager
    def writer(self, expected: Digest | None = None) -> Iterator[BlobWriter]:
        """Yield a :class:`BlobWriter`; when the block ends the blob is stored under its digest.

        With ``expected``, a blob whose bytes hash differently is discarded and
        ``CacheError`` is raised. On any exception nothing is stored.
        """
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = _locked_temp(tmp_dir, "blob")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                writer = BlobWriter(handle, tmp)
                yield writer
                digest = writer._current()
                if expected is not None and digest != expected:
                    raise CacheError(
                        f"downloaded or built blob has digest {digest}, expected {expected}",
                        hint="the source changed or the transfer was corrupted; retry",
                    )
                handle.flush()
                os.fsync(handle.fileno())
                dest = self.blob_path(digest)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o644)
                os.replace(tmp, dest)  # still locked: prune never sees it half-done
            fsync_dir(dest.parent)
            writer.digest = digest
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        """Store ``data``; return its digest."""
        with self.writer(expected) as out:
            out.write(data)
        assert out.digest is not None
        return out.digest

    def put_stream(self, stream: BinaryIO, expected: Digest | None = None) -> Digest:
        """Store everything read from ``stream``; return its digest."""
        with self.writer(expected) as out:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
        assert out.digest is not None
        return out.digest

    # ---- layer keys --------------------------------------------------------------------

    def _key_path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise CacheError(f"invalid layer key {key!r} (expected 16-128 lowercase hex digits)")
        return self.root / "keys" / key[:2] / f"{key}.json"

    def get_layer(self, key: str) -> CachedLayer | None:
        """The layer recorded under ``key`` if its blob is still present, else ``None``."""
        path = self._key_path(key)
        try:
            record = json.loads(path.read_bytes())
            layer = CachedLayer(
                digest=Digest.parse(record["digest"]),
                diff_id=Digest.parse(record["diff_id"]),
                size=int(record["size"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        blob = self.blob_path(layer.digest)
        try:
            if blob.stat().st_size != layer.size:
                return None
        except FileNotFoundError:
            return None
        _touch(path)
        _touch(blob)
        return layer

    def put_layer(self, key: str, layer: CachedLayer) -> None:
        """Record ``key`` -> ``layer``; the blob must already be in the cache."""
        path = self._key_path(key)
        if not self.has(layer.digest):
            raise CacheError(f"cannot record layer key {key}: blob {layer.digest} is not in the cache")
        data = json.dumps(
            {"digest": str(layer.digest), "diff_id": str(layer.diff_id), "size": layer.size}, sort_keys=True
        ).encode()
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = _locked_temp(tmp_dir, "key")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(name, 0o644)
            os.replace(name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        fsync_dir(path.parent)

    # ---- housekeeping ------------------------------------------------------------------

    def _blobs(self) -> Iterator[tuple[Path, os.stat_result]]:
        directory = self.root / "blobs" / "sha256"
        if not directory.is_dir():
            return
        for entry in os.scandir(directory):
            if _HEX.match(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    yield Path(entry.path), entry.stat(follow_symlinks=False)

    def _keys(self) -> Iterator[tuple[Path, os.stat_result]]:
        directory = self.root / "keys"
        if not directory.is_dir():
            return
        for sub in sorted(os.scandir(directory), key=lambda e: e.name):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                if entry.name.endswith(".json") and not is_temp_name(entry.name):
                    with contextlib.suppress(FileNotFoundError):
                        yield Path(entry.path), entry.stat(follow_symlinks=False)

    def _temps(self) -> Iterator[tuple[Path, os.stat_result]]:
        directory = self.root / "tmp"
        if not directory.is_dir():
            return
        for entry in os.scandir(directory):
            with contextlib.suppress(FileNotFoundError):
                yield Path(entry.path), entry.stat(follow_symlinks=False)

    def _referenced(self) -> set[str]:
        refs = set()
        for path, _ in self._keys():
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                refs.add(Digest.parse(json.loads(path.read_bytes())["digest"]).hex)
        return refs

    def report(self) -> CacheReport:
        """Count blobs, keys and leftover temporary files, with their sizes."""
        refs = self._referenced()
        blobs = list(self._blobs())
        unref = [st.st_size for path, st in blobs if path.name not in refs]
        temps = list(self._temps())
        return CacheReport(
            root=self.root,
            blobs=len(blobs),
            blob_bytes=sum(st.st_size for _, st in blobs),
            keys=sum(1 for _ in self._keys()),
            unreferenced_blobs=len(unref),
            unreferenced_bytes=sum(unref),
            temp_files=len(temps),
            temp_bytes=sum(st.st_size for _, st in temps),
        )

    def prune(
        self,
        *,
        older_than_days: float | None = None,
        unreferenced: bool = False,
        grace_seconds: float = 3600.0,
        now: float | None = None,
    ) -> PruneResult:
        """Remove what is not needed, and say what was removed.

        Always: temporary files whose writer is gone, and layer keys whose blob is gone.
        With ``older_than_days``: layer keys and blobs not used for that long; a blob a
        remaining key points to is kept. With ``unreferenced``: also every blob no layer
        key points to (downloaded wheels and base layers), unless it was used within
        ``grace_seconds`` (so a build that stored a blob but has not yet recorded its key
        keeps it).
        """
        now = time.time() if now is None else now
        cutoff = None if older_than_days is None else now - older_than_days * 86400
        freed = removed_temps = removed_keys = removed_blobs = 0

        for path, st in self._temps():
            if _writer_gone(path, st, now):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed_temps += 1
                    freed += st.st_size

        refs: set[str] = set()
        for path, st in self._keys():
            try:
                digest = Digest.parse(json.loads(path.read_bytes())["digest"])
            except (OSError, ValueError, KeyError, TypeError):
                digest = None
            stale = cutoff is not None and st.st_mtime < cutoff
            if digest is None or stale or not self.has(digest):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed_keys += 1
                continue
            refs.add(digest.hex)

        for path, st in self._blobs():
            if path.name in refs:
                continue
            old = cutoff is not None and st.st_mtime < cutoff
            unused = unreferenced and st.st_mtime < now - grace_seconds
            if old or unused:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed_blobs += 1
                    freed += st.st_size
        return PruneResult(blobs=removed_blobs, keys=removed_keys, temp_files=removed_temps, freed_bytes=freed)


def _locked_temp(directory: Path, kind: str) -> tuple[int, str]:
    """A new temporary file, locked until closed so that ``prune`` leaves it alone."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{kind}{TEMP_MARKER}")
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, name


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _writer_gone(path: Path, st: os.stat_result, now: float) -> bool:
    """True when no live process is writing the temporary file ``path``."""
    if fcntl is None:
        return st.st_mtime < now - _DEAD_TEMP_AGE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live writer holds the lock
    finally:
        os.close(fd)  # closing releases our lock
    return True
