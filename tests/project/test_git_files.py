"""The image's git facts (revision, commit time, source) read from the ``.git`` files give
what ``git`` itself says, for every layout the files are read in; the others are left to
``git``, with the same answer. Real repositories made by real ``git``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerplan.project.git import _ask_git, read_git
from layerplan.project.git_files import read_git_files

# The commits must be made with fixed dates and no user config; the reads run in the
# test's own environment (so these variables are only passed to the git commands).
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_AUTHOR_DATE": "2026-03-04T05:06:07Z", "GIT_COMMITTER_DATE": "2026-03-04T05:06:07+02:00",
}  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV})
    return done.stdout.strip()


def repo(path: Path, remote: str | None = "https://github.com/org/app.git") -> Path:
    (path / "app").mkdir(parents=True)
    (path / "app" / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", "one")
    if remote is not None:
        git(path, "remote", "add", "origin", remote)
    return path


def same_as_git(root: Path, *, from_files: bool = True) -> None:
    """``read_git`` equals git's own answer; ``from_files``: the files alone gave HEAD and its time."""
    assert read_git(root) == _ask_git(root) != None  # noqa: E711 - both found a commit
    files = read_git_files(root)
    if from_files:
        assert files is not None and files.commit_time is not None
    else:
        assert files is None or files.commit_time is None


def test_a_plain_repository(tmp_path: Path) -> None:
    root = repo(tmp_path / "r")
    same_as_git(root / "app")  # from a subdirectory, as a project in a monorepo
    got = read_git(root)
    assert got is not None and got.remote == "https://github.com/org/app.git"
    assert got.commit_time == 1772593567  # the committer's time, whatever its zone


def test_detached_head_and_packed_refs(tmp_path: Path) -> None:
    root = repo(tmp_path / "r")
    (root / "two").write_text("2")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "two")
    git(root, "checkout", "--quiet", "--detach", "HEAD~1")
    same_as_git(root)
    git(root, "checkout", "--quiet", "main")
    git(root, "pack-refs", "--all")
    assert not (root / ".git" / "refs" / "heads" / "main").exists()
    same_as_git(root)


def test_a_packed_commit_asks_git_for_its_time(tmp_path: Path) -> None:
    root = repo(tmp_path / "r")
    git(root, "gc", "--quiet")
    same_as_git(root, from_files=False)


def test_a_worktree_and_a_submodule_like_git_file(tmp_path: Path) -> None:
    root = repo(tmp_path / "r")
    git(root, "worktree", "add", "--quiet", "-b", "other", str(tmp_path / "wt"))
    assert (tmp_path / "wt" / ".git").is_file()
    same_as_git(tmp_path / "wt" / "app")
    got = read_git(tmp_path / "wt")
    assert got is not None and got.remote == "https://github.com/org/app.git"


def test_no_remote_and_no_repository(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", remote=None)
    same_as_git(root)
    got = read_git(root)
    assert got is not None and got.remote is None
    (tmp_path / "plain").mkdir()
    if read_git_files(tmp_path / "plain") is None:  # a repository above /tmp is unusual, but possible
        assert read_git(tmp_path / "plain") == _ask_git(tmp_path / "plain")


def test_credentials_in_the_remote_are_never_kept(tmp_path: Path) -> None:
    root = repo(tmp_path / "r", remote="https://ci-user:s3cr3t-token@git.example.com/org/app.git")
    same_as_git(root)
    got = read_git(root)
    assert got is not None and got.remote == "https://git.example.com/org/app.git"
    assert "s3cr3t" not in repr(got)
    ssh = repo(tmp_path / "s", remote="git@github.com:org/app.git")
    same_as_git(ssh)
    assert read_git(ssh) is not None and read_git(ssh).remote == "https://github.com/org/app.git"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "config",
    [
        '[url "https://mirror.example/"]\n\tinsteadOf = https://github.com/\n',  # git rewrites the URL
        "[include]\n\tpath = other.config\n",
        '[remote "origin"]\n\turl = https://second.example/app.git\n',  # two urls
    ],
)
def test_what_the_files_cannot_say_is_asked_of_git(tmp_path: Path, config: str) -> None:
    root = repo(tmp_path / "r")
    with (root / ".git" / "config").open("a") as out:
        out.write(config)
    assert read_git_files(root) is None
    assert read_git(root) == _ask_git(root)


def test_a_build_reads_the_files_without_starting_git(tmp_path: Path) -> None:
    """What the no-change rebuild gains: no process at all for a loose HEAD commit."""
    root = repo(tmp_path / "r")
    code = (
        "import sys\nfrom pathlib import Path\nstarted = []\n"
        "sys.addaudithook(lambda e, a: started.append(e) if e == 'subprocess.Popen' else None)\n"
        "from layerplan.project.git import read_git\n"
        f"assert read_git(Path({str(root)!r})) is not None\nprint(len(started))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"
