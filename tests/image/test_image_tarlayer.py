"""Reproducible layer tarballs."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from layerplan.cache import BlobCache
from layerplan.errors import ConfigError
from layerplan.image import (
    DEFAULT_EPOCH,
    LayerEntry,
    LayerOptions,
    SymlinkConflictError,
    UnsafePathError,
    UnsupportedEntryError,
    build_layer,
    build_layer_into_cache,
    cached_layer,
    entries_from_tree,
    source_date_epoch,
    write_layer,
)

TREE = {
    "app/.venv/bin/tool": (b"#!/app/.venv/bin/python\nprint(1)\n", True),
    "app/.venv/lib/python3.11/site-packages/pkg/__init__.py": (b"X = 1\n", False),
    "app/.venv/lib/python3.11/site-packages/pkg/data.bin": (bytes(range(256)) * 40, False),
    "app/.venv/lib/python3.11/site-packages/pkg-1.0.dist-info/RECORD": (b"pkg/__init__.py,,\n", False),
    "app/src/" + "long_name_" * 12 + ".py": (b"# long path\n", False),
    "app/src/caf\u00e9.txt": ("\u00e9\n".encode(), False),
    "app/data/empty": (b"", False),
}
LINKS = {"app/.venv/bin/python": "/usr/bin/python3.11", "app/.venv/bin/python3": "python"}


def make_tree(root: Path, *, reverse: bool, umask: int, seed: int) -> Path:
    """The same logical tree, created in another order, under another umask, with other times."""
    old = os.umask(umask)
    try:
        items = sorted(TREE.items(), reverse=reverse)
        for path, (content, executable) in items:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            mode = target.stat().st_mode
            target.chmod(mode | 0o111 if executable else mode & ~0o111)
        for path, link in sorted(LINKS.items(), reverse=reverse):
            (root / path).symlink_to(link)
        (root / "app" / "logs").mkdir()  # an empty directory
    finally:
        os.umask(old)
    rng = random.Random(seed)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            stamp = rng.randint(1_000_000_000, 1_900_000_000)
            os.utime(os.path.join(dirpath, name), (stamp + 17, stamp), follow_symlinks=False)
    return root


def test_same_tree_twice_gives_identical_layers(tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a", reverse=False, umask=0o022, seed=1)
    b = make_tree(tmp_path / "b", reverse=True, umask=0o077, seed=2)
    blob_a = build_layer(a, tmp_path / "a.tar.gz")
    blob_b = build_layer(b, tmp_path / "b.tar.gz")
    assert blob_a == blob_b
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    assert blob_a.size == (tmp_path / "a.tar.gz").stat().st_size


def test_diff_id_is_stable_across_machines(tmp_path: Path) -> None:
    """A golden diff_id: the tar bytes depend only on the tree (not on Python, zlib or host)."""
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o022, seed=3)
    blob = build_layer(tree, tmp_path / "t.tar.gz")
    assert str(blob.diff_id) == "sha256:df9abd5fde2e028fd94c36f58d7bf2136c3f9d382c50901c3631aa800bf88537"


def read_members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getmembers()


def test_headers_are_normalised(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o002, seed=4)
    build_layer(tree, tmp_path / "t.tar.gz", LayerOptions(epoch=1_700_000_000))
    raw = (tmp_path / "t.tar.gz").read_bytes()
    assert raw[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no FNAME/FEXTRA/FCOMMENT flags
    assert raw[4:8] == b"\x00\x00\x00\x00"  # gzip header time 0
    members = read_members(tmp_path / "t.tar.gz")
    names = [m.name for m in members]
    assert names[:3] == ["app", "app/.venv", "app/.venv/bin"]
    for member in members:
        assert member.pax_headers == {}
        assert member.mtime == 1_700_000_000
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        parent = member.name.rsplit("/", 1)[0]
        assert "/" not in member.name or parent in names[: names.index(member.name)]
        if member.isdir():
            assert member.mode == 0o755
        elif member.issym():
            assert member.linkname == LINKS[member.name]
        else:
            assert member.isreg()
            assert member.mode == (0o755 if TREE[member.name][1] else 0o644)
    assert "app/logs" in names  # empty directories are kept
    assert ("app/src/" + "long_name_" * 12 + ".py") in names  # GNU long name
    assert "app/src/caf\u00e9.txt" in names
    # the archive is sorted by byte names, directories before their content
    keys = [[os.fsencode(p) for p in n.split("/")] for n in names]
    assert keys == sorted(keys)


def test_gnu_tar_reads_it(tmp_path: Path) -> None:
    if shutil.which("tar") is None:
        pytest.skip("no tar command")
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o022, seed=5)
    build_layer(tree, tmp_path / "t.tar.gz")
    out = subprocess.run(
        ["tar", "--numeric-owner", "-tvzf", str(tmp_path / "t.tar.gz")], capture_output=True, text=True, check=True
    ).stdout
    assert "0/0" in out and "1980-01-01" in out
    assert "app/.venv/bin/python -> /usr/bin/python3.11" in out


def test_tar_is_byte_identical_to_gnu_tar(tmp_path: Path) -> None:
    """The uncompressed layer is exactly what GNU tar writes with the reproducible options."""
    if shutil.which("tar") is None:
        pytest.skip("no tar command")
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o022, seed=9)
    blob = build_layer(tree, tmp_path / "ours.tgz")
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o111 else 0o644)
    subprocess.run(
        ["tar", "--sort=name", "--format=gnu", "--owner=0", "--group=0", "--numeric-owner",
         f"--mtime=@{DEFAULT_EPOCH}", "-cf", str(tmp_path / "gnu.tar"), *sorted(os.listdir(tree))],
        cwd=tree, check=True,
    )
    ours = gzip.decompress((tmp_path / "ours.tgz").read_bytes())
    assert ours == (tmp_path / "gnu.tar").read_bytes()
    assert str(blob.diff_id) == "sha256:" + hashlib.sha256(ours).hexdigest()


def test_source_date_epoch() -> None:
    assert source_date_epoch({}) == DEFAULT_EPOCH == 315532800
    assert source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == 1_700_000_000
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        source_date_epoch({"SOURCE_DATE_EPOCH": "yesterday"})


def test_epoch_changes_the_layer(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o022, seed=6)
    one = build_layer(tree, tmp_path / "1.tgz", LayerOptions(epoch=0))
    two = build_layer(tree, tmp_path / "2.tgz", LayerOptions(epoch=1))
    assert one.diff_id != two.diff_id


def test_owner_for_writable_paths(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o022, seed=7)
    build_layer(tree, tmp_path / "t.tgz", LayerOptions(owners=(("/app/data", 1000, 1000), ("/app/data/empty", 7, 8))))
    owners = {m.name: (m.uid, m.gid) for m in read_members(tmp_path / "t.tgz")}
    assert owners["app/data"] == (1000, 1000)
    assert owners["app/data/empty"] == (7, 8)
    assert owners["app"] == (0, 0) and owners["app/logs"] == (0, 0)


def test_symlink_in_base_is_never_written(tmp_path: Path) -> None:
    stage = tmp_path / "s"
    (stage / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
    (stage / "lib" / "x86_64-linux-gnu" / "libfoo.so").write_bytes(b"elf")
    symlinks = {"/lib": "usr/lib", "/bin": "usr/bin"}
    with pytest.raises(SymlinkConflictError) as info:
        build_layer(stage, tmp_path / "l.tgz", LayerOptions(base_symlinks=symlinks))
    message = str(info.value)
    assert "/lib" in message and "symlink in the base image" in message
    assert "/usr/lib" in message  # the hint says where to write instead
    assert not (tmp_path / "l.tgz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no temp file left
    # the link itself, as a file
    entries = [LayerEntry(path="bin", kind="file", source=stage / "lib/x86_64-linux-gnu/libfoo.so")]
    with pytest.raises(SymlinkConflictError, match="/bin, which is a symlink"):
        write_layer(entries, io.BytesIO(), LayerOptions(base_symlinks=frozenset(symlinks)))
    # unrelated paths are fine, and a plain set works too
    ok = [LayerEntry(path="usr/lib/libfoo.so", kind="file", source=stage / "lib/x86_64-linux-gnu/libfoo.so")]
    write_layer(ok, io.BytesIO(), LayerOptions(base_symlinks=frozenset(symlinks)))


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "app/../../x", "", "a/..", "a\\b"])
def test_escaping_paths_are_rejected(tmp_path: Path, path: str) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(UnsafePathError, match="layer path"):
        write_layer([LayerEntry(path=path, kind="file", source=source)], io.BytesIO())


def test_paths_are_normalised_and_parents_added(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    out = io.BytesIO()
    write_layer([LayerEntry(path="./opt//tool/./f", kind="file", source=source)], out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue()), mode="r:gz") as tar:
        assert [(m.name, m.isdir()) for m in tar.getmembers()] == [("opt", True), ("opt/tool", True), ("opt/tool/f", False)]


def test_duplicate_and_bad_parent_rejected(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(UnsafePathError, match="given twice"):
        write_layer([LayerEntry(path="a", kind="file", source=source)] * 2, io.BytesIO())
    with pytest.raises(UnsafePathError, match="not a directory"):
        write_layer(
            [LayerEntry(path="a", kind="file", source=source), LayerEntry(path="a/b", kind="file", source=source)],
            io.BytesIO(),
        )


def test_hard_links(tmp_path: Path) -> None:
    stage = tmp_path / "s"
    stage.mkdir()
    (stage / "a").write_bytes(b"same inode")
    os.link(stage / "a", stage / "b")
    copied = build_layer(stage, tmp_path / "copy.tgz")
    members = read_members(tmp_path / "copy.tgz")
    assert [m.isreg() for m in members] == [True, True]
    # "copy" ignores how the tree was linked: same layer as two independent files
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a").write_bytes(b"same inode")
    (plain / "b").write_bytes(b"same inode")
    assert build_layer(plain, tmp_path / "plain.tgz") == copied
    linked = build_layer(stage, tmp_path / "link.tgz", LayerOptions(hardlinks="link"))
    members = read_members(tmp_path / "link.tgz")
    assert members[0].isreg() and members[1].islnk() and members[1].linkname == "a"
    assert linked == build_layer(stage, tmp_path / "link2.tgz", LayerOptions(hardlinks="link"))


def test_special_files_rejected(tmp_path: Path) -> None:
    stage = tmp_path / "s"
    stage.mkdir()
    os.mkfifo(stage / "pipe")
    with pytest.raises(UnsupportedEntryError, match="directories, regular files and symlinks"):
        entries_from_tree(stage)


def test_failed_build_leaves_no_file(tmp_path: Path) -> None:
    entries = [LayerEntry(path="gone", kind="file", source=tmp_path / "missing")]
    with pytest.raises(FileNotFoundError):
        from layerplan.cache.atomic import atomic_write

        with atomic_write(tmp_path / "out.tgz") as out:
            write_layer(entries, out)
    assert list(tmp_path.iterdir()) == []


def test_build_into_cache_and_hit(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", reverse=False, umask=0o022, seed=8)
    cache = BlobCache(tmp_path / "cache")
    key = "ab" * 32
    assert cached_layer(cache, key) is None
    built = build_layer_into_cache(tree, cache, key=key)
    hit = cached_layer(cache, key)
    assert hit is not None and (hit.descriptor, hit.diff_id) == (built.descriptor, built.diff_id)
    with hit.open() as handle:
        data = handle.read()
    assert len(data) == built.descriptor.size
    with hit.open_tar() as tar_stream:
        assert gzip.decompress(data) == tar_stream.read()
