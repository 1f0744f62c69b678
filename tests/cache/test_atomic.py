"""The write-then-rename helpers for files and directories: whole or not at all."""

from __future__ import annotations

import errno
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from layerplan.cache.atomic import atomic_directory, atomic_write, is_temp_name, remove_if_abandoned
from layerplan.errors import DiskFullError, disk_full

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def test_a_new_directory_appears_whole(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with atomic_directory(dest) as staging:
        (staging / "a").write_text("1")
        assert not dest.exists()
    assert (dest / "a").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_replace_swaps_the_old_tree_out(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old").write_text("old")
    with atomic_directory(dest) as staging:
        (staging / "new").write_text("new")
    assert sorted(p.name for p in dest.iterdir()) == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_first_writer_wins_without_replace(tmp_path: Path) -> None:
    dest = tmp_path / "env"
    with atomic_directory(dest, replace=False) as staging:
        (staging / "mine").write_text("1")
        dest.mkdir()  # another process finished first
        (dest / "theirs").write_text("2")
    assert sorted(p.name for p in dest.iterdir()) == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["env"]


def test_a_failure_leaves_the_old_tree_and_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(dest) as staging:
        (staging / "half").write_text("x")
        assert is_temp_name(staging.name)
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in dest.iterdir()) == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ---- atomic_write: the one way every file is written --------------------------------


def test_a_file_appears_whole_with_its_mode(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "out.bin"
    with atomic_write(dest, temp_dir=tmp_path / "tmp") as out:
        out.write(b"data")
        assert not dest.exists()
        (temp,) = (tmp_path / "tmp").iterdir()
        assert is_temp_name(temp.name) and temp.name.startswith(".out.bin")
    assert dest.read_bytes() == b"data" and stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("durable", [True, False])
def test_a_hint_is_written_whole_without_waiting_for_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool) -> None:
    import layerplan.cache.atomic as atomic

    flushed: list[int] = []
    real_fsync = atomic.os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: flushed.append(fd) or real_fsync(fd))
    dest = tmp_path / "hint.json"
    with atomic_write(dest, temp_dir=tmp_path / "tmp", durable=durable) as out:
        out.write(b"{}")
        assert not dest.exists()
    assert dest.read_bytes() == b"{}" and list((tmp_path / "tmp").iterdir()) == []
    assert len(flushed) == (2 if durable else 0)  # the file, then its directory


def test_a_destination_decided_by_the_content(tmp_path: Path) -> None:
    with atomic_write(lambda: tmp_path / "by-content", temp_dir=tmp_path / "tmp", label="blob") as out:
        out.write(b"x")
    assert (tmp_path / "by-content").read_bytes() == b"x"
    with atomic_write(lambda: None, temp_dir=tmp_path / "tmp") as out:  # None: dropped
        out.write(b"y")

    def refuse() -> Path:
        raise ValueError("wrong digest")

    with pytest.raises(ValueError), atomic_write(refuse, temp_dir=tmp_path / "tmp") as out:
        out.write(b"z")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["by-content", "tmp"]
    with pytest.raises(ValueError, match="temp_dir"), atomic_write(lambda: None):
        pass


def test_a_failure_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(dest) as out:
        out.write(b"half")
        raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out"]


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from layerplan.cache.atomic import atomic_write
    with atomic_write(Path(sys.argv[1]), temp_dir=Path(sys.argv[2])) as out:
        out.write(b"x" * 100000)
        out.flush()
        print("ready", flush=True)
        sys.stdin.read()  # blocks until killed
    """
)


@pytest.mark.skipif(fcntl is None, reason="flock needs fcntl (POSIX)")
def test_a_killed_writer_leaves_only_a_temp_that_a_pruner_takes_once_it_is_dead(tmp_path: Path) -> None:
    dest, temps = tmp_path / "records" / "r.json", tmp_path / "tmp"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(dest), str(temps)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    (temp,) = temps.iterdir()
    assert not remove_if_abandoned(temp) and temp.exists()  # its writer is alive and holds it
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not dest.exists()  # a reader never sees half a file
    assert remove_if_abandoned(temp, dry_run=True) and temp.exists()
    assert remove_if_abandoned(temp) and not temp.exists()


@pytest.mark.skipif(fcntl is None, reason="flock needs fcntl (POSIX)")
def test_a_directory_being_filled_is_held(tmp_path: Path) -> None:
    with atomic_directory(tmp_path / "env", replace=False) as staging:
        assert not remove_if_abandoned(staging) and staging.exists()
    assert (tmp_path / "env").is_dir()


def test_a_full_disk_leaves_nothing_and_names_the_destination(tmp_path: Path) -> None:
    """ENOSPC from the writer's body: the temporary goes, ``dest`` is untouched, and the
    error is a DiskFullError naming ``dest`` (a ``write()`` error names no file)."""
    dest = tmp_path / "entry"
    dest.write_bytes(b"old")
    with pytest.raises(DiskFullError, match=f"no space left on device writing {dest}"):
        with atomic_write(dest) as out:
            out.write(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
    assert disk_full(OSError(errno.EACCES, "denied")) is None
    assert "quota" in str(disk_full(OSError(errno.EDQUOT, "quota"), "/x"))

