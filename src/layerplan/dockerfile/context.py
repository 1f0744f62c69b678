"""The output directory: checked before any slow work, written whole or not at all.

The context is assembled in a hidden sibling directory and renamed into place at the
end, so an interrupted run never leaves a half-written context where a build would
pick it up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layerplan.cache.atomic import atomic_directory
from layerplan.dockerfile.errors import OutputDirError

__all__ = ["check_output", "staged_output"]


def check_output(output: Path, *, force: bool, project_root: Path) -> Path:
    """The absolute output path, once it is known that it may be written.

    Raise ``OutputDirError`` when it is a file, when it is (or contains) the project, or
    when it is a non-empty directory and ``force`` is false.
    """
    target = output.expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise OutputDirError(f"{output} exists and is not a directory", path=output, hint="choose another -o")
    root = project_root.resolve()
    if root == target or target in root.parents:
        raise OutputDirError(
            f"{output} holds the project itself, and writing the context replaces that directory",
            path=output,
            hint="write the context to a directory of its own, e.g. -o build/docker",
        )
    if target.is_dir() and any(target.iterdir()) and not force:
        raise OutputDirError(
            f"{output} exists and is not empty",
            path=output,
            hint="choose an empty or new directory, or pass --force to replace it",
        )
    return target


@contextmanager
def staged_output(output: Path) -> Iterator[Path]:
    """``atomic_directory(output)``: a hidden sibling to fill, renamed over ``output`` when
    the block ends; a place where no directory can be made is one ``OutputDirError``."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(output.parent, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise OutputDirError(
            f"cannot create a directory beside {output}: {exc.strerror or exc}",
            path=output,
            hint="choose a writable -o",
        ) from exc
    with atomic_directory(output) as staging:
        yield staging
