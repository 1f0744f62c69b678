"""Where a local package's source is: a path the lock names, or a git checkout of the
locked commit. Shared by the direct build and the Dockerfile emitter."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from layerplan.install.errors import BuildError
from layerplan.selection.model import InstallItem

__all__ = ["local_source_path"]


def local_source_path(item: InstallItem, lock_dir: Path, scratch: Path) -> Path:
    """The tree (or archive) of a path/directory/editable/git package, ``subdirectory``
    applied. Git sources are cloned into ``scratch``. Raises ``BuildError``."""
    source = item.source
    if source.kind == "git":
        tree = _git_checkout(item, scratch / f"git-{item.name}")
        return tree / source.subdirectory if source.subdirectory else tree
    if not source.path:
        raise BuildError(f"{item.name}: a {source.kind} source without a path cannot be built", hint="re-lock")
    path = (lock_dir / source.path).resolve()
    if source.subdirectory:
        path = path / source.subdirectory
    if not path.exists():
        raise BuildError(
            f"{item.name}: {path} does not exist",
            path=path,
            hint="the lock points at a local package that is not there; check out the whole repository or re-lock",
        )
    return path


def _git_checkout(item: InstallItem, checkout: Path) -> Path:
    """The locked commit of a git dependency (the lock pins the full commit), without ``.git``."""
    source = item.source
    if not source.url or not source.reference:
        raise BuildError(f"{item.name}: the git source has no URL or commit in the lock", hint="re-lock")
    url = source.url.split("#", 1)[0].split("?", 1)[0]
    try:
        subprocess.run(["git", "clone", "--quiet", url, str(checkout)], check=True, capture_output=True, text=True)
        subprocess.run(
            ["git", "-C", str(checkout), "checkout", "--quiet", source.reference], check=True, capture_output=True, text=True
        )
    except FileNotFoundError:
        raise BuildError(f"{item.name}: git is not installed", hint="install git to build git dependencies") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise BuildError(
            f"{item.name}: cannot check out {url}@{source.reference[:12]}: {detail[-1] if detail else 'git failed'}",
            hint="check that the repository is reachable and has the locked commit",
        ) from None
    shutil.rmtree(checkout / ".git", ignore_errors=True)
    return checkout
