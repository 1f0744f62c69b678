"""The git repository the ``uv-sources`` lock fixture depends on, made again on demand.

``tests/fixtures/locks/regenerate.sh`` created it (with fixed dates) when it wrote the
lock, and the lock pins its commit. Made again here with the same files, author and
dates, it has the same commit id, so the tests of git dependencies run on any machine
(CI included) without the regeneration script or its lock tools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["GIT_FIXTURE", "LOCKED_COMMIT", "ensure_git_fixture"]

GIT_FIXTURE = Path("/tmp/layerplan-fixture-git/gitdep")
"""Where uv-sources/uv.lock says the repository is (``git+file://``)."""
LOCKED_COMMIT = "fce144aa585b8868ef6bf63959c4bc47fc5535b1"

_PYPROJECT = """[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = []

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""
_INIT = '"""{name}: part of layerplan\'s uv-sources fixture."""\n\nNAME = "{name}"\n'


def _package(directory: Path, name: str) -> None:
    """What regenerate.sh's ``hatch_package DIR NAME NAME ""`` writes."""
    (directory / "src" / name).mkdir(parents=True)
    (directory / "pyproject.toml").write_text(_PYPROJECT.format(name=name), encoding="utf-8")
    (directory / "src" / name / "__init__.py").write_text(_INIT.format(name=name), encoding="utf-8")


def ensure_git_fixture() -> str:
    """Make the repository when it is not there (or not at the locked commit); its commit."""
    if _head(GIT_FIXTURE) == LOCKED_COMMIT:
        return LOCKED_COMMIT
    shutil.rmtree(GIT_FIXTURE, ignore_errors=True)
    GIT_FIXTURE.mkdir(parents=True)
    _package(GIT_FIXTURE, "gitdep")
    _package(GIT_FIXTURE / "sub" / "gitsub", "gitsub")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "fixture", "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
        "GIT_COMMITTER_NAME": "fixture", "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }
    for command in (
        ["git", "init", "--quiet", "--initial-branch=main"],
        ["git", "add", "-A"],
        ["git", "commit", "--quiet", "-m", "gitdep 0.1.0"],
        ["git", "tag", "v0.1.0"],
    ):
        subprocess.run(command, cwd=GIT_FIXTURE, env=env, check=True, capture_output=True)
    return _head(GIT_FIXTURE) or ""


def _head(repo: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None
