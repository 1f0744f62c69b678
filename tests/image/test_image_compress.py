"""Layer gzip: the same bytes whatever the threads, the write pattern or the machine; bounded memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import tracemalloc
from pathlib import Path

import pytest

from layerplan.containerize.layers import build_key
from layerplan.image import LayerEntry, LayerOptions, build_layer, write_layer
from layerplan.image.compress import DEFAULT_COMPRESSION, Compression
from tests.image.test_image_tarlayer import make_tree


def sample(size: int, seed: int = 7) -> bytes:
    """Half text-like, half random: both the match finder and stored-like blocks get work."""
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(2, 12)) for _ in range(500)]
    text = b" ".join(rng.choice(words) for _ in range(size // 14))[: size // 2]
    return text + rng.randbytes(size - len(text))


def gzipped(data: bytes, compression: Compression, *, workers: int, chunk: int) -> bytes:
    out = io.BytesIO()
    with compression.open(out, workers=workers) as gz:
        for start in range(0, len(data), chunk):
            gz.write(data[start : start + chunk])
    return out.getvalue()


def test_the_bytes_do_not_depend_on_threads_or_write_sizes() -> None:
    small_blocks = Compression(block_size=64 * 1024)  # many blocks from a small input
    data = sample(700_000)
    outputs = {
        gzipped(data, small_blocks, workers=workers, chunk=chunk) for workers in (1, 2, 5) for chunk in (512, 100_003, 1 << 20)
    }
    assert len(outputs) == 1
    (blob,) = outputs
    assert gzip.decompress(blob) == data
    # a pinned gzip header: deflate, no name, time 0, XFL 0, OS 255 (unknown)
    assert blob[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    assert gzipped(data, Compression(block_size=64 * 1024, level=1), workers=2, chunk=4096) != blob


def test_an_empty_stream_is_valid_gzip() -> None:
    blob = gzipped(b"", DEFAULT_COMPRESSION, workers=2, chunk=1)
    assert gzip.decompress(blob) == b""


def test_a_layer_is_the_same_for_any_number_of_compressing_threads(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o022, seed=3)
    blobs = {workers: build_layer(tree, tmp_path / f"{workers}.tar.gz", LayerOptions(compress_workers=workers)) for workers in (1, 2, 4)}
    assert len(set(blobs.values())) == 1
    assert len({(tmp_path / f"{workers}.tar.gz").read_bytes() for workers in blobs}) == 1


def test_golden_compressed_digest() -> None:
    """The compressed bytes of a fixed tar are pinned: a machine (another CPU, another OS)
    or a dependency update that compresses differently fails here, not in a user's cache."""
    data = sample(3_000_000, seed=11)
    blob = gzipped(data, DEFAULT_COMPRESSION, workers=2, chunk=65536)
    assert DEFAULT_COMPRESSION.identity == "gzip/zlib-ng-2.2.5/level-6/block-1048576"
    assert hashlib.sha256(blob).hexdigest() == GOLDEN


GOLDEN = "ec966b047e46feceb672bf43e98b46c95c7f8be4ae9e502c8f53868de005cf7a"


def test_the_cache_key_names_the_compressor() -> None:
    key = build_key("a" * 64, epoch=0, bytecode="compiled", compression=DEFAULT_COMPRESSION)
    assert key == build_key("a" * 64, epoch=0, bytecode="compiled", compression=Compression())
    others = {
        build_key("a" * 64, epoch=0, bytecode="compiled", compression=Compression(level=5)),
        build_key("a" * 64, epoch=0, bytecode="compiled", compression=Compression(block_size=1 << 16)),
    }
    assert key not in others and len(others) == 2
    assert DEFAULT_COMPRESSION.identity != Compression(level=5).identity


def test_a_big_layer_is_written_with_bounded_memory(tmp_path: Path) -> None:
    """A 256 MiB file goes through tar and gzip into the output while Python holds a few
    MiB at most: memory does not grow with the layer (nor with the largest wheel)."""
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        out.truncate(256 << 20)  # sparse: quick to make and to read
    entries = [LayerEntry(path="data/big.bin", kind="file", source=big)]
    out_path = tmp_path / "layer.tar.gz"
    tracemalloc.start()
    try:
        with out_path.open("wb") as out:
            blob = write_layer(entries, out, LayerOptions(compress_workers=2))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size == out_path.stat().st_size
    assert peak < 16 << 20, f"peak {peak} bytes for a 256 MiB layer"


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_default_workers_follow_the_cores() -> None:
    blob = gzipped(sample(300_000), Compression(block_size=32 * 1024), workers=len(os.sched_getaffinity(0)), chunk=7000)
    assert blob == gzipped(sample(300_000), Compression(block_size=32 * 1024), workers=1, chunk=300_000)
