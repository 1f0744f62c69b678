"""Run by the *target's* interpreter (any CPython 3.8+): compile a staging tree's sources.

Reads a JSON request on stdin ({"root", "dirs" or "files", "optimize", "jobs"}), writes a
JSON summary on stdout. "files" lists image paths of sources (in that order); "dirs" image
paths of directories to walk (sorted). Each ``.py`` gets ``__pycache__/<name>.<tag>.pyc`` with an
unchecked-hash header and the *image* path (the file's path below ``root``, made
absolute) as its recorded source file name. Kept free of layerplan imports on purpose.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import sys


def _sources(root: str, dirs: list[str]) -> list[str]:
    found: list[str] = []
    for top in dirs:
        for directory, subdirs, files in os.walk(os.path.join(root, top.lstrip("/"))):
            subdirs.sort()
            found.extend(os.path.join(directory, name) for name in sorted(files) if name.endswith(".py"))
    return found


def _compile(job: tuple[str, str, list[int]]) -> str | None:
    root, source, levels = job
    image_path = "/" + os.path.relpath(source, root)
    try:
        for level in levels:
            cfile = importlib.util.cache_from_source(source, optimization=level if level else "")
            py_compile.compile(
                source,
                cfile=cfile,
                dfile=image_path,
                doraise=True,
                optimize=level,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
    except (py_compile.PyCompileError, SyntaxError, ValueError, UnicodeDecodeError, OSError):
        return image_path
    return None


def main() -> None:
    request = json.load(sys.stdin)
    root, levels = request["root"], request["optimize"]
    if request.get("files") is not None:
        sources = [os.path.join(root, path.lstrip("/")) for path in request["files"]]
    else:
        sources = _sources(root, request["dirs"])
    jobs = [(root, source, levels) for source in sources]
    if request["jobs"] > 1 and len(jobs) > 64:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(request["jobs"]) as pool:
            failed = [path for path in pool.map(_compile, jobs, chunksize=32) if path]
    else:
        failed = [path for path in map(_compile, jobs) if path]
    json.dump(
        {"compiled": len(jobs) - len(failed), "failed": failed, "tag": sys.implementation.cache_tag, "version": sys.version},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
