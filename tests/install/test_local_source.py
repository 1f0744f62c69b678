"""Local package sources: lock paths and git checkouts of the locked commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from layerplan.install.errors import BuildError
from layerplan.install.local_source import local_source_path
from layerplan.lockfiles.model import Source
from layerplan.materialize import local_source
from layerplan.selection.model import InstallItem


def item(source: Source) -> InstallItem:
    return InstallItem(name="pkg", version="1.0", source=source, choice="build")  # type: ignore[arg-type]


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def test_git_checkout_is_the_locked_commit_without_dot_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git("init", "-q", cwd=repo)
    (repo / "sub" / "marker.txt").write_text("first")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "one", cwd=repo)
    locked = git("rev-parse", "HEAD", cwd=repo)
    (repo / "sub" / "marker.txt").write_text("second")
    git("commit", "-qam", "two", cwd=repo)
    source = Source(kind="git", url=f"file://{repo}?branch=main", reference=locked, subdirectory="sub")
    tree = local_source_path(local_source(item(source), tmp_path), tmp_path / "scratch")
    assert (tree / "marker.txt").read_text() == "first"
    assert not (tree.parent / ".git").exists()


def test_missing_commit_and_missing_path_are_named(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "f").write_text("x")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "one", cwd=repo)
    with pytest.raises(BuildError, match="cannot check out"):
        local_source_path(local_source(item(Source(kind="git", url=f"file://{repo}", reference="0" * 40)), tmp_path), tmp_path / "s")
    with pytest.raises(BuildError, match="does not exist") as info:
        local_source_path(local_source(item(Source(kind="directory", path="vendor/nope")), tmp_path), tmp_path / "s")
    assert info.value.hint
