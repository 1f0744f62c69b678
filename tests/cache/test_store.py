"""The one store: every area named once, counted whole by report, pruned whole by prune."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from layerplan.cache import AreaUsage, CachedLayer, CacheError, Records, Store, atomic_directory
from layerplan.cache.layout import AREAS, PLATFORMS, SIZES
from layerplan.oci import Digest

KEY = "0123456789abcdef" * 4
ENV_KEY = "00112233445566778899"
BUILT_KEY = "e" * 64
BYTECODE_KEY = "f" * 64
PYC = PurePosixPath("/app/.venv/lib/python3.11/site-packages/__pycache__/demo.cpython-311.pyc")
WHEEL = "demo-1.0-py3-none-any.whl"
WHEEL_BYTES = b"a wheel, really" * 100
WHEEL_SHA = hashlib.sha256(WHEEL_BYTES).hexdigest()
OTHER_SHA = "b" * 64
BASE_HEX = "c" * 64
OLD = 1_000_000_000.0


def fill(root: Path) -> Store:
    """A store with something in every area, each written through its own accessor."""
    store = Store(root)
    layer = store.blobs.put_bytes(b"layer" * 100)
    store.blobs.put_layer(KEY, CachedLayer(digest=layer, diff_id=layer, size=500))
    store.blobs.put_bytes(b"a pulled base layer")  # no key points to it
    with store.wheels.writer(WHEEL) as out:
        out.write(WHEEL_BYTES)
        store.wheels.commit(out, WHEEL_SHA, WHEEL)
    store.wheels.remember_name(OTHER_SHA, "other-1.0-py3-none-any.whl")
    store.sizes.put(OTHER_SHA, b"123 other-1.0-py3-none-any.whl")
    store.platforms.put(BASE_HEX, b'{"format": 1}')
    store.interpreters.put(BASE_HEX, b"cpython-311 final 3.11.2")
    store.licenses.put(OTHER_SHA, b'{"format": 1, "licenses": {}}')
    store.locations.remember("registry.example:5000", "team/service-a", [Digest("sha256", layer.hex)])
    built = root / "built.whl"
    built.write_bytes(b"a built wheel" * 10)
    store.built_wheels.store(BUILT_KEY, built, {"wheel_sha256": "d" * 64})
    built.unlink()
    staging = root / "staging"
    (staging / PYC.parent.relative_to("/")).mkdir(parents=True)
    (staging / PYC.relative_to("/")).write_bytes(b"pyc" * 10)
    store.bytecode.store(BYTECODE_KEY, staging, [PYC], [])
    shutil.rmtree(staging)
    with atomic_directory(store.build_envs / ENV_KEY, replace=False) as env:
        (env / "bin").mkdir()
        (env / "bin" / "python").symlink_to("/usr/bin/python3")
        (env / "lib.py").write_bytes(b"x" * 1000)
        os.link(env / "lib.py", env / "same-lib.py")  # as uv links files: counted once
    return store


def file_bytes(root: Path) -> int:
    """Every file's (and symlink's) size under ``root``, a hard-linked file once."""
    seen, total = set(), 0
    for path in root.rglob("*"):
        st = path.lstat()
        if path.is_dir() and not path.is_symlink():
            continue
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def snapshot(root: Path) -> dict[str, float]:
    return {p.relative_to(root).as_posix(): p.lstat().st_mtime for p in root.rglob("*")}


def test_every_area_is_named_once() -> None:
    paths = [area.path for area in AREAS]
    assert len(paths) == len(set(paths))
    for a in paths:  # no area inside another: each path belongs to exactly one
        assert not any(b != a and b.startswith(a + "/") for b in paths)


def test_report_counts_every_area_and_adds_up_to_the_files(tmp_path: Path) -> None:
    store = fill(tmp_path)
    (tmp_path / "notes.txt").write_text("not layerplan's")
    (tmp_path / "tmp" / ".blob.tmp-killed").write_bytes(b"half")
    report = store.report()
    counts = {area.name: area.count for area in report.areas}
    assert counts == {
        "blobs": 2, "keys": 1, "wheels": 1, "names": 1, "built-wheels": 1, "bytecode": 1, "sizes": 1,
        "platforms": 1, "locations": 1, "interpreters": 1, "licenses": 1, "build-envs": 1, "temp": 1, "other": 1,
    }  # fmt: skip
    assert report.of("built-wheels").size == len(b"a built wheel" * 10) + (tmp_path / "built-wheels" / BUILT_KEY / "build.json").stat().st_size
    assert report.unreferenced.count == 1
    assert report.of("wheels").size == len(WHEEL_BYTES)
    assert report.of("build-envs").size == 1000 + len("/usr/bin/python3")
    assert report.total_size == file_bytes(tmp_path)
    text = report.describe()
    assert f"({report.total_size} bytes)" in text and "1 not referenced by a layer key" in text


@pytest.mark.skipif(shutil.which("du") is None, reason="needs du")
def test_report_agrees_with_du(tmp_path: Path) -> None:
    store = fill(tmp_path)
    du = int(subprocess.run(["du", "--apparent-size", "-sb", str(tmp_path)], capture_output=True, text=True, check=True).stdout.split()[0])
    directories = sum(p.lstat().st_size for p in [tmp_path, *tmp_path.rglob("*")] if p.is_dir() and not p.is_symlink())
    assert store.report().total_size == du - directories  # du also counts the directories themselves


def test_dry_run_removes_nothing_and_says_what_the_real_run_removes(tmp_path: Path) -> None:
    store = fill(tmp_path)
    (tmp_path / "notes.txt").write_text("not layerplan's")
    (tmp_path / "sizes" / "README").write_text("not a record")
    (tmp_path / "tmp" / "mine.txt").write_text("a wrong --cache-dir's tmp/")  # not a temporary's name
    before = snapshot(tmp_path)
    dry = store.prune(everything=True, dry_run=True)
    assert snapshot(tmp_path) == before
    real = store.prune(everything=True)
    assert dry.removed == real.removed and dry.dry_run and not real.dry_run
    assert {a.name: a.count for a in real.removed if a.count} == {
        "blobs": 2, "keys": 1, "wheels": 1, "names": 1, "built-wheels": 1, "bytecode": 1, "sizes": 1, "platforms": 1,
        "locations": 1, "interpreters": 1, "licenses": 1,
        "build-envs": 1,
    }  # fmt: skip
    assert "would remove" in dry.describe() and "removed:" in real.describe()
    # what is not layerplan's stays, and is all that is left
    report = store.report()
    assert [a.name for a in report.areas if a.count] == ["other"]
    assert report.of("other").count == 3
    assert report.total_size == file_bytes(tmp_path) == len("not layerplan's") + len("not a record") + 26
    assert not list((tmp_path / "keys").iterdir()) and not list((tmp_path / "wheels" / "sha256").iterdir())
    assert not list((tmp_path / "build-envs").iterdir()) and not list((tmp_path / "built-wheels").iterdir())


def test_older_than_applies_to_every_area_by_last_use(tmp_path: Path) -> None:
    store = fill(tmp_path)
    for path in tmp_path.rglob("*"):
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    # used since: a hit refreshes what it reads
    assert store.wheels.find(WHEEL_SHA) is not None
    assert store.sizes.get(OTHER_SHA) is not None
    layer = store.blobs.get_layer(KEY)  # the key and its blob
    assert layer is not None
    assert store.locations.repositories("registry.example:5000", layer.digest) == ("team/service-a",)
    os.utime(store.build_envs / ENV_KEY)  # what a build does when it reuses the environment
    result = store.prune(older_than_days=30)
    assert {a.name: a.count for a in result.removed if a.count} == {
        "blobs": 1, "names": 1, "platforms": 1, "built-wheels": 1, "bytecode": 1, "interpreters": 1, "licenses": 1,
    }  # fmt: skip
    report = store.report()
    assert [report.of(n).count for n in ("blobs", "keys", "wheels", "sizes", "locations", "build-envs")] == [1] * 6


def test_a_built_wheel_is_found_by_its_key_and_a_hit_counts_as_a_use(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.built_wheels.find(BUILT_KEY) is None
    wheel = tmp_path / WHEEL
    wheel.write_bytes(WHEEL_BYTES)
    stored = store.built_wheels.store(BUILT_KEY, wheel, {"wheel_sha256": WHEEL_SHA, "build_requirements": ["setuptools==80.0"]})
    assert stored.path == tmp_path / "built-wheels" / BUILT_KEY / WHEEL and stored.path.read_bytes() == WHEEL_BYTES
    assert list((tmp_path / "built-wheels").iterdir()) == [tmp_path / "built-wheels" / BUILT_KEY]  # no temporaries left
    os.utime(stored.path.parent, (OLD, OLD))
    found = store.built_wheels.find(BUILT_KEY)
    assert found is not None and found.path == stored.path
    assert found.record == {"wheel_sha256": WHEEL_SHA, "build_requirements": ["setuptools==80.0"]}
    assert stored.path.parent.stat().st_mtime > OLD  # prune --older-than goes by it
    # an entry that is not whole (not one of ours) is a miss, and storing again replaces it
    (stored.path.parent / "build.json").unlink()
    assert store.built_wheels.find(BUILT_KEY) is None
    store.built_wheels.store(BUILT_KEY, wheel, {"wheel_sha256": WHEEL_SHA})
    assert store.built_wheels.find(BUILT_KEY) is not None
    with pytest.raises(CacheError, match="invalid built-wheels key"):
        store.built_wheels.find("../escape")


def test_a_build_environment_being_made_is_left_alone(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with atomic_directory(store.build_envs / ENV_KEY, replace=False) as staging:
        (staging / "half").write_bytes(b"x" * 10)
        assert store.report().of("temp").count == 1
        assert store.prune(everything=True).of("temp").count == 0
        assert (staging / "half").exists()
    assert (store.build_envs / ENV_KEY / "half").exists()


def test_a_killed_build_environment_is_a_temp_that_prune_removes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    leftover = store.build_envs / f".{ENV_KEY}.tmp-killed"  # what a kill inside atomic_directory leaves
    (leftover / "lib").mkdir(parents=True)
    (leftover / "lib" / "x.py").write_bytes(b"x" * 10)
    report = store.report()
    assert (report.of("build-envs").count, report.of("temp").count, report.of("temp").size) == (0, 1, 10)
    assert store.prune().of("temp").count == 1
    assert not leftover.exists()


def test_records_are_whole_files_by_digest(tmp_path: Path) -> None:
    sizes = Records(tmp_path, SIZES)
    assert sizes.get(OTHER_SHA) is None and not sizes.has(OTHER_SHA)
    sizes.put(OTHER_SHA, b"42 x.whl")
    assert sizes.get(OTHER_SHA) == b"42 x.whl" and sizes.has(OTHER_SHA)
    assert sizes.path(OTHER_SHA) == tmp_path / "sizes" / OTHER_SHA
    assert Records(tmp_path, PLATFORMS).path(BASE_HEX).name == f"{BASE_HEX}.json"
    assert list((tmp_path / "tmp").iterdir()) == []
    # a key the area cannot hold is simply not there; writing one is refused
    assert sizes.get("../../etc/passwd") is None and not sizes.has("ABC")
    with pytest.raises(CacheError, match="invalid sizes record key"):
        sizes.put("../x", b"")
    os.utime(sizes.path(OTHER_SHA), (OLD, OLD))
    sizes.get(OTHER_SHA)
    assert sizes.path(OTHER_SHA).stat().st_mtime > OLD


def test_a_download_without_commit_is_dropped(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.wheels.writer(WHEEL) as out:
        out.write(b"not verified")
    with pytest.raises(RuntimeError), store.wheels.writer(WHEEL) as out:
        out.write(WHEEL_BYTES)
        store.wheels.commit(out, WHEEL_SHA, WHEEL)
        raise RuntimeError("verification failed after all")
    assert store.wheels.find(WHEEL_SHA) is None
    assert list((tmp_path / "tmp").iterdir()) == []
    assert store.report().total_size == 0


def test_wheels_keep_their_real_name_and_the_index_names(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.wheels.writer(WHEEL) as out:
        out.write(WHEEL_BYTES)
        path = store.wheels.commit(out, WHEEL_SHA, WHEEL)
        assert not path.exists()  # placed when the block ends, whole
    assert path == tmp_path / "wheels" / "sha256" / WHEEL_SHA / WHEEL and path.read_bytes() == WHEEL_BYTES
    assert store.wheels.known_name(WHEEL_SHA) == WHEEL
    store.wheels.remember_name(OTHER_SHA, "other.whl")
    assert store.wheels.known_name(OTHER_SHA) == "other.whl"
    with pytest.raises(ValueError):
        store.wheels.path_for(WHEEL_SHA, ".hidden.whl")  # a dot name is a temporary's


def test_fetch_start_cleans_abandoned_temps_only(tmp_path: Path) -> None:
    store = fill(tmp_path)
    (tmp_path / "tmp" / ".blob.tmp-killed").write_bytes(b"half")
    assert store.wheels.clean_temp() == 1
    assert store.report().of("temp").count == 0 and store.report().of("blobs").count == 2


def test_a_root_that_is_a_file_is_one_clear_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(CacheError, match="must be a directory"):
        Store(not_a_dir).report()
    with pytest.raises(CacheError, match="must be a directory"):
        Store(not_a_dir).prune(everything=True)
    assert Store(tmp_path / "missing").report().total_size == 0
    assert Store(tmp_path / "missing").prune(everything=True).freed_size == 0


_KILLED_ENV_BUILDER = """
import sys
from pathlib import Path, PurePosixPath
from layerplan.cache import Store, atomic_directory
with atomic_directory(Store(Path(sys.argv[1])).build_envs / sys.argv[2], replace=False) as staging:
    (staging / "half.py").write_bytes(b"x" * 100)
    print("ready", flush=True)
    sys.stdin.read()  # blocks until killed
"""


def test_a_build_environment_killed_while_made_is_kept_while_alive_then_pruned(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_ENV_BUILDER, str(tmp_path), ENV_KEY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    store = Store(tmp_path)
    try:
        assert store.prune(everything=True).of("temp").count == 0  # its builder is alive
        assert store.report().of("temp").size == 100
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert not (store.build_envs / ENV_KEY).exists()  # never half an environment
    assert store.prune().of("temp") == AreaUsage(name="temp", count=1, size=100)
    assert list(store.build_envs.iterdir()) == []


def test_a_wheels_bytecode_is_kept_by_its_key_and_restored_at_its_image_paths(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    assert store.bytecode.find(BYTECODE_KEY) is None
    staging = tmp_path / "staging"
    (staging / PYC.parent.relative_to("/")).mkdir(parents=True)
    (staging / PYC.relative_to("/")).write_bytes(b"compiled")
    broken = PurePosixPath("/app/.venv/lib/python3.11/site-packages/py2_only.py")
    store.bytecode.store(BYTECODE_KEY, staging, [PYC], [broken])
    store.bytecode.store(BYTECODE_KEY, staging, [], [])  # a second writer of the key loses: same bytes
    entry = store.bytecode.find(BYTECODE_KEY)
    assert entry is not None and entry.files == (PYC,) and entry.failed == (broken,)
    other = tmp_path / "other-layer"
    store.bytecode.restore(entry, other)
    assert (other / PYC.relative_to("/")).read_bytes() == b"compiled"
    assert [p.name for p in (tmp_path / "cache" / "bytecode").iterdir()] == [BYTECODE_KEY]  # no temporaries left
    with pytest.raises(CacheError, match="invalid bytecode key"):
        store.bytecode.find("../escape")
