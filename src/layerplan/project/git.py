"""What git says about a project's source: the commit, its time, where it is published.

Read once per build (``resolution``): the ``created`` date, the ``revision``/``source``
labels and the provenance's source all come from here. A remote is only ever kept
without credentials (CI clones with ``https://user:TOKEN@host/...``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from layerplan.project.git_files import read_git_files
from layerplan.urls import browsable_url

__all__ = ["GitSource", "read_git"]


@dataclass(frozen=True, kw_only=True, slots=True)
class GitSource:
    """The commit a project's tree is checked out at."""

    commit: str
    """``HEAD``'s full object name."""
    commit_time: int
    """``HEAD``'s committer time (seconds since the epoch): the same on every clone."""
    remote: str | None
    """``origin`` as a web (``https://``) URL without credentials; ``None`` without one (or a
    local path, which differs between clones)."""


def read_git(root: Path) -> GitSource | None:
    """The git facts of the tree at ``root``, or ``None`` when it is not in a git work tree
    (or git is not installed).

    The ``.git`` files are read directly when they are plain (``git_files``): the same
    answer without starting git twice on every build; git answers what they cannot."""
    if shutil.which("git") is None:
        return None  # as git itself would: the labels must not depend on how a tree is packed
    files = read_git_files(root)
    if files is not None:
        commit_time = files.commit_time
        if commit_time is None:  # a packed commit: git reads it (one process)
            head = _git(root, "log", "-1", "--format=%H %ct")
            if head is None or head.partition(" ")[0] != files.commit:
                return _ask_git(root)
            commit_time = int(head.partition(" ")[2])
        public = browsable_url(files.remote) if files.remote else None
        return GitSource(commit=files.commit, commit_time=commit_time, remote=public)
    return _ask_git(root)


def _ask_git(root: Path) -> GitSource | None:
    head = _git(root, "log", "-1", "--format=%H %ct")
    if head is None or " " not in head:
        return None
    commit, _, when = head.partition(" ")
    try:
        commit_time = int(when)
    except ValueError:
        return None
    remote = _git(root, "remote", "get-url", "origin")
    public = browsable_url(remote) if remote else None
    return GitSource(commit=commit, commit_time=commit_time, remote=public)


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=10,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None
