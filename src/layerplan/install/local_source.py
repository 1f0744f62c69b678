"""Where a local package's files are: the tree or file the lock names (decided by the
materialized plan), or a git checkout of the locked commit; and the check that a file
is the one the lock allows. Shared by the direct build and the Dockerfile emitter."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from layerplan.install.errors import BuildError
from layerplan.materialize import LocalSource

__all__ = ["check_local_hash", "local_source_path"]

_CHUNK = 1 << 20


def local_source_path(local: LocalSource, scratch: Path) -> Path:
    """The tree (or archive) of a path/directory/editable/git package. Git sources are
    cloned into ``scratch``. Raises ``BuildError``."""
    item = local.item
    if local.kind == "git":
        tree = _git_checkout(local, scratch / f"git-{item.name}")
        return tree / item.source.subdirectory if item.source.subdirectory else tree
    if local.path is None:
        raise BuildError(f"{item.name}: a {item.source.kind} source without a path cannot be built", hint="re-lock")
    if not local.path.exists():
        raise BuildError(
            f"{item.name}: {local.path} does not exist",
            path=local.path,
            hint="the lock points at a local package that is not there; check out the whole repository or re-lock",
        )
    return local.path


def check_local_hash(local: LocalSource, file: Path) -> None:
    """A local *file* (a vendored wheel or sdist) must have a sha256 the lock allows;
    trees have no file hash. Raise ``BuildError`` naming both digests otherwise."""
    allowed = {h.partition(":")[2].lower() for h in local.hashes if h.lower().startswith("sha256:")}
    if not allowed or not file.is_file():
        return
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() not in allowed:
        raise BuildError(
            f"{local.item.name}: {file.name} has sha256 {digest.hexdigest()}, which the lock does not allow",
            path=file,
            hint="the file changed since the lock was written; re-lock",
        )


def _git_checkout(local: LocalSource, checkout: Path) -> Path:
    """The locked commit of a git dependency (the lock pins the full commit), without ``.git``."""
    item, source = local.item, local.item.source
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
