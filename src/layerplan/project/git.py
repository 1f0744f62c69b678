"""What git says about a project's source: the commit, its time, where it is published.

Read once per build (``resolution``): the ``created`` date, the ``revision``/``source``
labels and the provenance's source all come from here. A remote is only ever kept
without credentials (CI clones with ``https://user:TOKEN@host/...``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

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
    (or git is not installed)."""
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
