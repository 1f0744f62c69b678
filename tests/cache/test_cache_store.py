"""Blobs and layer keys: atomic, safe when killed, safe for concurrent processes."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from layerplan.cache import BlobCache, CachedLayer, CacheError, Store, default_cache_dir
from layerplan.errors import LayerplanError
from layerplan.oci import Digest

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

KEY = "0123456789abcdef" * 4


def test_default_dir_precedence(tmp_path: Path) -> None:
    assert default_cache_dir({"LAYERPLAN_CACHE_DIR": str(tmp_path / "a"), "XDG_CACHE_HOME": "/x"}) == tmp_path / "a"
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "layerplan"
    assert default_cache_dir({}) == Path.home() / ".cache" / "layerplan"


def test_put_open_has(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    digest = cache.put_bytes(b"hello")
    assert digest == Digest.of_bytes(b"hello")
    assert cache.has(digest)
    assert cache.blob_path(digest) == tmp_path / "blobs" / "sha256" / digest.hex
    with cache.open(digest) as handle:
        assert handle.read() == b"hello"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_missing_blob_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="not in the cache") as info:
        BlobCache(tmp_path).open(Digest.of_bytes(b"nope"))
    assert isinstance(info.value, LayerplanError)


def test_expected_digest_mismatch_stores_nothing(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    with pytest.raises(CacheError, match="expected"):
        cache.put_bytes(b"actual", expected=Digest.of_bytes(b"other"))
    assert not cache.has(Digest.of_bytes(b"actual"))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_error_inside_writer_stores_nothing(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    with pytest.raises(RuntimeError), cache.writer() as out:
        out.write(b"partial")
        raise RuntimeError("boom")
    assert Store(tmp_path).report().of("blobs").count == 0
    assert list((tmp_path / "tmp").iterdir()) == []


def test_layer_keys(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    digest = cache.put_bytes(b"layer-bytes")
    layer = CachedLayer(digest=digest, diff_id=Digest.of_bytes(b"tar"), size=len(b"layer-bytes"))
    assert cache.get_layer(KEY) is None
    cache.put_layer(KEY, layer)
    assert cache.get_layer(KEY) == layer
    # a key whose blob vanished is a miss, not an error
    cache.blob_path(digest).unlink()
    assert cache.get_layer(KEY) is None
    with pytest.raises(CacheError, match="not in the cache"):
        cache.put_layer(KEY, layer)
    with pytest.raises(CacheError, match="invalid layer key"):
        cache.get_layer("../../etc/passwd")


def test_leftover_temp_file_is_ignored_and_pruned(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    digest = cache.put_bytes(b"complete")
    # what a writer killed mid-write leaves: a temp file nobody holds a lock on
    leftover = tmp_path / "tmp" / ".blob.tmp-killed"
    leftover.write_bytes(b"half a blo")
    assert cache.has(digest)
    report = Store(tmp_path).report()
    assert (report.of("blobs").count, report.of("temp").count, report.of("temp").size) == (1, 1, 10)
    result = Store(tmp_path).prune()
    assert result.of("temp").count == 1 and result.of("blobs").count == 0
    assert not leftover.exists()
    assert cache.has(digest)


@pytest.mark.skipif(fcntl is None, reason="flock needs fcntl (POSIX)")
def test_prune_leaves_a_live_writers_temp_file(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    with cache.writer() as out:
        out.write(b"in progress")
        temps = list((tmp_path / "tmp").iterdir())
        assert len(temps) == 1
        assert Store(tmp_path).prune(everything=True).of("temp").count == 0
        assert temps[0].exists()
    assert out.digest is not None and cache.has(out.digest)


def test_killed_writer_leaves_cache_consistent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from layerplan.cache import BlobCache
        cache = BlobCache(Path(sys.argv[1]))
        with cache.writer() as out:
            out.write(b"x" * 100000)
            out.flush()
            print("ready", flush=True)
            sys.stdin.read()  # blocks until killed
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait()
    store = Store(tmp_path)
    assert store.report().of("blobs").count == 0
    assert store.report().of("temp").count == 1
    assert store.prune().of("temp").count == 1
    assert store.report().of("temp").count == 0


def _put_many(root: str, payload: bytes, rounds: int) -> str:
    cache = BlobCache(Path(root))
    digest = None
    for _ in range(rounds):
        digest = cache.put_bytes(payload)
        cache.put_layer(KEY, CachedLayer(digest=digest, diff_id=digest, size=len(payload)))
        assert cache.get_layer(KEY) is not None
    return str(digest)


def test_concurrent_processes_put_the_same_blob(tmp_path: Path) -> None:
    payload = hashlib.sha256(b"seed").digest() * 65536  # 2 MiB
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        digests = pool.starmap(_put_many, [(str(tmp_path), payload, 10)] * 4)
    expected = str(Digest.of_bytes(payload))
    assert digests == [expected] * 4
    cache = BlobCache(tmp_path)
    with cache.open(Digest.parse(expected)) as handle:
        assert handle.read() == payload
    report = Store(tmp_path).report()
    assert [report.of(name).count for name in ("blobs", "keys", "temp")] == [1, 1, 0]
    record = json.loads(next((tmp_path / "keys").rglob("*.json")).read_bytes())
    assert record == {"diff_id": expected, "digest": expected, "size": len(payload)}


def test_prune_by_age_and_unreferenced(tmp_path: Path) -> None:
    cache, store = BlobCache(tmp_path), Store(tmp_path)
    kept = cache.put_bytes(b"referenced")
    cache.put_layer(KEY, CachedLayer(digest=kept, diff_id=kept, size=10))
    loose = cache.put_bytes(b"loose wheel")
    now = os.stat(cache.blob_path(loose)).st_mtime
    assert store.report().unreferenced.count == 1
    # within the grace period an unreferenced blob stays (a build may be about to record its key)
    assert store.prune(unreferenced=True, now=now).of("blobs").count == 0
    result = store.prune(unreferenced=True, now=now + 7200)
    assert (result.of("blobs").count, result.of("keys").count) == (1, 0)
    assert cache.has(kept) and not cache.has(loose)
    # not used for longer than the limit: the key and then its blob go
    result = store.prune(older_than_days=30, now=now + 31 * 86400)
    assert (result.of("blobs").count, result.of("keys").count) == (1, 1)
    assert store.report().of("blobs").count == 0


def test_hits_refresh_last_use(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    digest = cache.put_bytes(b"b")
    cache.put_layer(KEY, CachedLayer(digest=digest, diff_id=digest, size=1))
    old = 1_000_000_000
    os.utime(cache.blob_path(digest), (old, old))
    for path in (tmp_path / "keys").rglob("*.json"):
        os.utime(path, (old, old))
    assert cache.get_layer(KEY) is not None
    assert os.stat(cache.blob_path(digest)).st_mtime > old
    assert Store(tmp_path).prune(older_than_days=1).of("blobs").count == 0
