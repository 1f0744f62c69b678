"""HEAD's commit, its committer time and ``origin``'s URL read from the ``.git`` files,
without starting ``git`` (two processes on every build, ~5-15 ms).

Only the plain layouts are read: a ``.git`` directory or a ``.git`` file (worktree,
submodule) with ``commondir``, HEAD on a branch (loose or packed ref) or detached, the
commit as a loose object, ``remote.origin.url`` written plainly in the repository's
``config``. Anything that could make ``git`` answer differently returns ``None`` and the
caller asks ``git`` itself: a ``GIT_DIR``-like variable, a repository owned by another user
(``safe.directory``), config includes or ``insteadOf`` rewrites (here or in the user's or
system's config), extensions (reftable...), replace refs or grafts, a packed commit.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitFiles", "read_git_files"]

_GIT_ENV = frozenset({
    "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS", "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE",
})  # fmt: skip
"""The variables that change where git looks or what ``log``/``remote`` say (with every
``GIT_CONFIG*``); others (``GIT_SSL_CAINFO``, CI's ``GIT_DEPTH``...) do not."""
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_SECTION = re.compile(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"([^"\\]*)")?\s*\]\s*$')
_HEAD_BYTES = 1 << 16
"""How much of a commit object is read for its committer line (the headers before the
message: tree, parents, author, committer)."""
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$")


@dataclass(frozen=True, kw_only=True, slots=True)
class GitFiles:
    """What the files say; ``commit_time`` is ``None`` when the commit is packed."""

    commit: str
    commit_time: int | None
    remote: str | None
    """``remote.origin.url`` as written (credentials and all), ``None`` without one."""


def read_git_files(root: Path) -> GitFiles | None:
    """HEAD and ``origin`` of the work tree holding ``root``, or ``None`` when the files
    cannot say with certainty what ``git`` would (see the module's docstring)."""
    if any(name in _GIT_ENV or name.startswith("GIT_CONFIG") for name in os.environ):
        return None
    try:
        found = _git_dir(root.resolve())
        if found is None:
            return None
        top, git_dir = found
        uid = os.geteuid()
        if top.stat().st_uid != uid or git_dir.stat().st_uid != uid:
            return None  # git's safe.directory check decides
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
        if (git_dir / "config.worktree").exists() or (common / "info" / "grafts").exists() or _has_replace_refs(common):
            return None
        if (common / "remotes" / "origin").exists() or (common / "branches" / "origin").exists():
            return None  # a remote defined the old way
        remote = _origin_url(common / "config")
        if isinstance(remote, _Unsure) or not _user_configs_are_plain():
            return None
        commit = _head(git_dir, common)
        if commit is None:
            return None
        return GitFiles(commit=commit, commit_time=_commit_time(common, commit), remote=remote)
    except (OSError, UnicodeDecodeError, ValueError, zlib.error):
        return None


class _Unsure:
    pass


_UNSURE = _Unsure()


def _git_dir(start: Path) -> tuple[Path, Path] | None:
    """(the work tree's top, its git directory), as git's discovery finds them, or ``None``
    for anything unusual (a bare repository on the way, a file system boundary)."""
    device = start.stat().st_dev
    for directory in (start, *start.parents):
        if directory.stat().st_dev != device:
            return None  # git stops here unless GIT_DISCOVERY_ACROSS_FILESYSTEM: let it say
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return directory, dot_git
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:") or "\n" in text:
                return None
            target = Path(text.removeprefix("gitdir:").strip())
            return directory, (directory / target).resolve()
        if (directory / "HEAD").is_file() and (directory / "objects").is_dir():
            return None  # a bare repository (or a git directory itself)
    return None


def _head(git_dir: Path, common: Path) -> str | None:
    head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    if _SHA.fullmatch(head):
        return head  # detached
    if not head.startswith("ref: refs/heads/"):
        return None
    ref = head.removeprefix("ref: ")
    loose = common.joinpath(*ref.split("/"))
    if loose.is_file():
        value = loose.read_text(encoding="utf-8").strip()
        return value if _SHA.fullmatch(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.fullmatch(sha):
                return sha
    return None  # an unborn branch: git says so itself


def _has_replace_refs(common: Path) -> bool:
    replace = common / "refs" / "replace"
    if replace.is_dir() and any(replace.iterdir()):
        return True
    packed = common / "packed-refs"
    return packed.is_file() and " refs/replace/" in packed.read_text(encoding="utf-8")


def _commit_time(common: Path, commit: str) -> int | None:
    """The committer time of a loose commit object; ``None`` when it is not loose."""
    path = common / "objects" / commit[:2] / commit[2:]
    try:
        with path.open("rb") as stream:
            # The headers come first and are short: a bounded read, whatever the file holds
            # (a crafted object cannot make a build inflate gigabytes); longer goes to git.
            data = zlib.decompressobj().decompress(stream.read(_HEAD_BYTES), _HEAD_BYTES)
    except FileNotFoundError:
        return None
    header, _, body = data.partition(b"\0")
    if not header.startswith(b"commit "):
        raise ValueError("not a commit")
    lines = body.split(b"\n")
    for line in lines[:-1]:  # the last may be cut by the bounded read
        if not line:
            break  # the end of the headers: no committer line
        if line.startswith(b"committer "):
            return int(line.rsplit(b" ", 2)[-2])
    raise ValueError("no committer in the first bytes")


def _origin_url(config: Path) -> str | None | _Unsure:
    """``remote.origin.url`` when the config states it plainly, else ``_UNSURE``."""
    if not config.is_file():
        return None
    section: tuple[str, str | None] | None = None
    urls: list[str] = []
    for raw in config.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = _SECTION.match(line)
            if match is None:
                return _UNSURE
            section = (match.group(1).lower(), match.group(2))
            if section[0] in ("include", "includeif", "url", "extensions") or "." in section[0]:
                return _UNSURE
            continue
        match = _KEY.match(line)
        if match is None or line.endswith("\\"):
            return _UNSURE
        if section == ("remote", "origin") and match.group(1).lower() == "url":
            value = (match.group(2) or "").strip()
            if not value or any(c in value for c in '"\\#;'):
                return _UNSURE
            urls.append(value)
    if len(urls) > 1:
        return _UNSURE
    return urls[0] if urls else None


def _user_configs_are_plain() -> bool:
    """No ``insteadOf`` rewrite, include or remote in the user's or system's git config."""
    home = Path.home()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    system = (Path("/etc/gitconfig"), Path("/usr/local/etc/gitconfig"))  # git's usual prefixes
    for path in (*system, home / ".gitconfig", Path(xdg) / "git" / "config"):
        try:
            text = path.read_text(encoding="utf-8").lower()
        except FileNotFoundError:
            continue
        if "insteadof" in text or "[include" in text or "[remote" in text:
            return False
    return True
