"""Compression evaluation: MB/s and ratio of gzip libraries and levels on one layer's tar.

    .venv/bin/python bench/compress_bench.py LAYER.tar [--runs 2]

LAYER.tar is an uncompressed layer, e.g. example-project's numpy layer: build the example
with `--output oci:DIR` and `gunzip -c` the blob the index names for `dep-numpy`. Each row
streams the tar in 1 MiB writes into one gzip stream; MB/s is input bytes per CPU second
(the best of --runs), so other load on the machine counts less than in wall time. The last
row is what layerplan writes (layerplan.image.compress, 1 thread). ISA-L (`isal`) is
measured when installed (it is not a dependency: see docs/benchmarks.md). Results and
method: docs/benchmarks.md, "The cold path".
"""

from __future__ import annotations

import argparse
import io
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from zlib_ng import zlib_ng

from layerplan.image.compress import DEFAULT_COMPRESSION


def stream(module: ModuleType, level: int) -> Callable[[bytes], int]:
    def run(data: bytes) -> int:
        compressor = module.compressobj(level, module.DEFLATED, 31)
        size = sum(len(compressor.compress(data[i : i + (1 << 20)])) for i in range(0, len(data), 1 << 20))
        return size + len(compressor.flush())

    return run


def layerplan_gzip(data: bytes) -> int:
    out = io.BytesIO()
    with DEFAULT_COMPRESSION.open(out, workers=1) as gz:
        for i in range(0, len(data), 1 << 20):
            gz.write(data[i : i + (1 << 20)])
    return len(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tar", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    data = args.tar.read_bytes()
    rows: list[tuple[str, str, Callable[[bytes], int]]] = [(f"zlib {zlib.ZLIB_RUNTIME_VERSION}", str(n), stream(zlib, n)) for n in (1, 6, 9)]
    rows += [(f"zlib-ng {zlib_ng.ZLIBNG_VERSION}", str(n), stream(zlib_ng, n)) for n in (1, 2, 3, 4, 5, 6, 9)]
    try:
        from isal import isal_zlib
    except ImportError:
        print("isal not installed: ISA-L rows left out")
    else:
        rows += [("isal", str(n), stream(isal_zlib, n)) for n in (0, 1, 2, 3)]
    rows.append(("layerplan (zlib-ng, 1 MiB blocks)", str(DEFAULT_COMPRESSION.level), layerplan_gzip))
    print(f"input: {args.tar} ({len(data) / 1e6:.1f} MB)")
    print("| library | level | MB/s (CPU) | compressed | ratio |\n|---|---:|---:|---:|---:|")
    for name, level, run in rows:
        best, size = float("inf"), 0
        for _ in range(args.runs):
            started = time.process_time()
            size = run(data)
            best = min(best, time.process_time() - started)
        print(f"| {name} | {level} | {len(data) / best / 1e6:.0f} | {size / 1e6:.2f} MB | {len(data) / size:.2f} |", flush=True)


if __name__ == "__main__":
    main()
