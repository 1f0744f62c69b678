"""The sweep of what killed builds left: only layerplan's names, only old ones, only unlocked
ones, only this user's; and every temporary layerplan makes has a name the sweep knows."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from layerplan.cache.atomic import atomic_directory, atomic_write, locked_temp_file
from layerplan.cache.scratch import ScratchDirectory, scratch_directory, scratch_file
from layerplan.cache.store import Store
from layerplan.cache.sweep import cache_places, scratch_places, sweep
from layerplan.cache.temps import GRACE_SECONDS, TempPlace, is_scratch_name, is_temp_name, sibling_prefix
from layerplan.transports import parse_output

OLD = time.time() - GRACE_SECONDS - 60


def aged(path: Path, when: float = OLD) -> Path:
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def debris_file(directory: Path, name: str, data: bytes = b"x" * 100) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)
    return aged(directory / name)


def debris_tree(directory: Path, name: str) -> Path:
    tree = directory / name
    (tree / "root" / "lib").mkdir(parents=True)
    (tree / "root" / "lib" / "big.so").write_bytes(b"\0" * 5000)
    return aged(tree)


@pytest.fixture
def tmpdir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $TMPDIR: the sweep's view of it is this directory."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read $TMPDIR
    return tmp


def test_old_debris_goes_young_and_foreign_names_stay(tmpdir_env: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    gone = [
        debris_tree(tmpdir_env, "layerplan-dep-abcd1234"),
        debris_tree(tmpdir_env, "layerplan-sdist-numpy-x_y9z0k1"),
        debris_file(tmpdir_env, "layerplan-docker-save-q1w2e3r4.tar"),
        debris_file(cache / "tmp", ".blob.tmp-a1b2c3d4"),
        debris_tree(cache / "build-envs", ".0123456789abcdef0123.tmp-zz11yy22"),
        debris_file(cache / "blobs" / "sha256", "." + "a" * 40 + ".tmp-1234abcd"),
    ]
    young = debris_tree(tmpdir_env, "layerplan-dep-young123")
    aged(young, time.time())
    stay = [
        young,
        debris_tree(tmpdir_env, "other-tool-abcd1234"),  # not our prefix
        debris_file(tmpdir_env, "layerplan-notes.txt"),  # our prefix, not our name shape
        debris_file(tmpdir_env, ".blob.tmp-a1b2c3d4"),  # a sibling name, but $TMPDIR holds scratch only
        debris_file(cache / "tmp", "blob-not-temp"),  # the cache's temp area: a non-temporary name is not ours
        debris_file(cache / "blobs" / "sha256", "b" * 64),  # an entry
    ]
    link = tmpdir_env / "layerplan-link-abcd1234"
    link.symlink_to(stay[1])
    aged(link)

    swept = sweep((*cache_places(cache), *scratch_places()))

    assert [p for p in gone if os.path.lexists(p)] == []
    assert [p for p in stay if not p.exists()] == []
    assert link.is_symlink()
    assert swept.count == len(gone)
    assert swept.size == 3 * 5000 + 3 * 100  # the trees' files and the files
    assert swept.describe() == f"layerplan: removed {len(gone)} temporaries left by interrupted builds (15.3 kB)"
    assert sweep((*cache_places(cache), *scratch_places())).describe() == ""  # quiet when nothing went


def test_a_live_writers_temporary_stays_however_old(tmpdir_env: Path, tmp_path: Path) -> None:
    """A build compiling an sdist for two hours keeps its scratch: it holds the lock."""
    with scratch_directory("sdist-slow") as scratch:
        aged(scratch, time.time() - 7200)
        directory = tmp_path / "out"
        directory.mkdir()
        fd, name = locked_temp_file(directory, sibling_prefix("image.tar"))
        aged(Path(name), time.time() - 7200)
        try:
            swept = sweep((*scratch_places(), TempPlace(directory=directory)))
            assert swept.count == 0
            assert scratch.is_dir() and Path(name).is_file()
        finally:
            os.close(fd)
        assert sweep([TempPlace(directory=directory)]).count == 1  # its writer is gone now
    assert not scratch.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="making another user's file needs root")
def test_another_users_debris_stays(tmpdir_env: Path) -> None:
    theirs = debris_tree(tmpdir_env, "layerplan-dep-theirs12")
    os.chown(theirs, 12345, 12345)
    aged(theirs)
    assert sweep(scratch_places()).count == 0
    assert (theirs / "root" / "lib" / "big.so").exists()


def test_an_output_sweep_takes_only_that_outputs_temporaries(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    mine = debris_file(dist, sibling_prefix("app.tar") + "k3j4h5g6")
    staging = debris_tree(dist, sibling_prefix("layout") + "k3j4h5g6")
    inside = debris_file(dist / "layout" / "blobs" / "sha256", sibling_prefix("c" * 64) + "abcdefgh")
    index = debris_file(dist / "layout", sibling_prefix("index.json") + "abcdefgh")
    other = debris_file(dist, sibling_prefix("other.tar") + "k3j4h5g6")  # another output's (or program's)
    places = [
        *parse_output(f"oci-archive:{dist / 'app.tar'}").temp_places(),
        *parse_output(f"oci:{dist / 'layout'}").temp_places(),
        *parse_output("docker://127.0.0.1:5000/x:1").temp_places(),
    ]
    assert sweep(places).count == 4
    assert not any(p.exists() for p in (mine, staging, inside, index))
    assert other.exists()


def test_every_temporary_layerplan_makes_has_a_name_the_sweep_knows(tmpdir_env: Path, tmp_path: Path) -> None:
    """The creators take their names from cache.temps: what they make, the sweep recognises."""
    seen: list[str] = []
    with scratch_directory("dep-numpy") as scratch:
        seen.append(scratch.name)
        assert is_scratch_name(scratch.name) and scratch.parent == tmpdir_env
    owned = ScratchDirectory("app-wheel")
    seen.append(owned.path.name)
    owned.cleanup()
    owned.cleanup()
    with scratch_file("docker-save", suffix=".tar") as (_, path):
        seen.append(path.name)
    assert all(is_scratch_name(name) for name in seen), seen
    assert not any(tmpdir_env.iterdir())  # each removed its own

    dest = tmp_path / "out" / "image.tar"
    with atomic_write(dest) as out:
        (temp,) = [p.name for p in dest.parent.iterdir()]
        out.write(b"x")
    assert is_temp_name(temp) and temp.startswith(sibling_prefix("image.tar"))
    with atomic_directory(tmp_path / "out" / "ctx") as staging:
        assert TempPlace(directory=staging.parent, prefix=sibling_prefix("ctx")).holds(staging.name)


def test_prune_sweeps_tmpdir_and_says_so(tmpdir_env: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    debris_tree(tmpdir_env, "layerplan-dep-abcd1234")
    cache = tmp_path / "cache"
    Store(cache).blobs.put_bytes(b"blob")
    done = subprocess.run(
        [sys.executable, "-m", "layerplan", "cache", "prune", "--all", "--cache-dir", str(cache)],
        capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmpdir_env)}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "removed 1 temporary left by interrupted builds (5.0 kB)" in done.stdout
    assert not any(tmpdir_env.iterdir())
    assert done.stderr == ""  # no build was running: nothing to wait for
