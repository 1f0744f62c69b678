"""The store's ``locations`` records: where blobs were seen, bounded, whole, shared by builds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from layerplan.cache import BlobLocations, Store
from layerplan.cache.locations import MAX_REGISTRIES, MAX_REPOSITORIES
from layerplan.oci import Digest

REGISTRY = "127.0.0.1:5000"
BLOB = Digest.of_bytes(b"a shared dependency layer")
OTHER = Digest.of_bytes(b"another layer")


def test_most_recently_seen_first_and_bounded(tmp_path: Path) -> None:
    known = BlobLocations(tmp_path)
    assert known.repositories(REGISTRY, BLOB) == ()
    for n in range(MAX_REPOSITORIES + 3):
        known.remember(REGISTRY, f"team/service-{n}", [BLOB, OTHER])
    known.remember(REGISTRY, "team/service-5", [BLOB])  # seen again: first again, once
    assert known.repositories(REGISTRY, BLOB) == ("team/service-5", "team/service-6", "team/service-4", "team/service-3")
    assert known.repositories(REGISTRY, OTHER)[0] == "team/service-6"
    for n in range(MAX_REGISTRIES + 2):
        known.remember(f"registry-{n}.example", "team/app", [BLOB])
    assert known.repositories(REGISTRY, BLOB) == ()  # the least recently seen registries went
    assert known.repositories(f"registry-{MAX_REGISTRIES + 1}.example", BLOB) == ("team/app",)
    record = Store(tmp_path).locations._records.path(BLOB.hex)
    assert record == tmp_path / "locations" / f"{BLOB.hex}.json"
    assert len(record.read_bytes()) < 400
    assert json.loads(record.read_bytes())["format"] == 1


def test_forget_drops_a_repository_and_an_empty_registry(tmp_path: Path) -> None:
    known = BlobLocations(tmp_path)
    known.remember(REGISTRY, "team/service-a", [BLOB])
    known.remember(REGISTRY, "team/service-b", [BLOB])
    known.remember("other.example", "team/service-a", [BLOB])
    known.forget(REGISTRY, "team/service-b", [BLOB])
    assert known.repositories(REGISTRY, BLOB) == ("team/service-a",)
    assert known.repositories("other.example", BLOB) == ("team/service-a",)
    known.forget(REGISTRY, "team/service-a", [BLOB, OTHER])
    assert known.repositories(REGISTRY, BLOB) == ()
    assert not (tmp_path / "locations" / f"{OTHER.hex}.json").exists()  # nothing to forget: nothing written


def test_seeing_the_same_again_writes_nothing(tmp_path: Path) -> None:
    known = BlobLocations(tmp_path)
    known.remember(REGISTRY, "team/service-a", [BLOB])
    record = tmp_path / "locations" / f"{BLOB.hex}.json"
    inode = record.stat().st_ino
    known.remember(REGISTRY, "team/service-a", [BLOB])  # a rebuild pushing to the same repository
    assert record.stat().st_ino == inode  # not replaced (atomic_write would rename a new file in)


def test_an_unreadable_record_is_no_record_and_is_written_anew(tmp_path: Path) -> None:
    known = BlobLocations(tmp_path)
    record = tmp_path / "locations" / f"{BLOB.hex}.json"
    record.parent.mkdir(parents=True)
    for garbage in (b"{half", b'{"format": 99, "registries": []}', b'{"format": 1, "registries": [1, 2]}'):
        record.write_bytes(garbage)
        assert known.repositories(REGISTRY, BLOB) == ()
    # names that cannot be a registry or a repository are never handed to a push
    record.write_bytes(json.dumps({"format": 1, "registries": [
        [REGISTRY, ["team/ok", "../../etc", "Team/Upper", 7]], ["bad host/x", ["team/ok"]],
    ]}).encode())  # fmt: skip
    assert known.repositories(REGISTRY, BLOB) == ("team/ok",)
    known.remember(REGISTRY, "team/new", [BLOB])
    assert json.loads(record.read_bytes()) == {"format": 1, "registries": [[REGISTRY, ["team/new", "team/ok"]]]}


def test_a_digest_the_store_does_not_key_is_never_recorded(tmp_path: Path) -> None:
    known = BlobLocations(tmp_path)
    sha512 = Digest("sha512", "a" * 128)
    known.remember(REGISTRY, "team/service-a", [sha512])
    assert known.repositories(REGISTRY, sha512) == ()
    assert not (tmp_path / "locations").exists()


def test_a_cache_that_cannot_be_written_costs_the_hint_not_the_push(tmp_path: Path) -> None:
    (tmp_path / "locations").write_text("a file where the area's directory should be")
    known = BlobLocations(tmp_path)
    known.remember(REGISTRY, "team/service-a", [BLOB])  # no error: the push it follows is done
    assert known.repositories(REGISTRY, BLOB) == ()


_WRITER = """
import sys
from pathlib import Path
from layerplan.cache import BlobLocations
from layerplan.oci import Digest
known, blob = BlobLocations(Path(sys.argv[1])), Digest.of_bytes(b"a shared dependency layer")
for n in range(40):
    known.remember("127.0.0.1:5000", f"team/{sys.argv[2]}-{n % 6}", [blob])
    known.forget("127.0.0.1:5000", f"team/{sys.argv[2]}-{(n + 3) % 6}", [blob])
"""


def test_concurrent_builds_never_leave_half_a_record(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), name], stderr=subprocess.PIPE)
        for name in ("a", "b", "c", "d")
    ]
    known = BlobLocations(tmp_path)
    record = tmp_path / "locations" / f"{BLOB.hex}.json"
    reads = 0
    while any(w.poll() is None for w in writers):
        if record.exists():
            json.loads(record.read_bytes())  # always whole: never a torn or empty file
            assert len(known.repositories(REGISTRY, BLOB)) <= MAX_REPOSITORIES
            reads += 1
    assert [w.wait() for w in writers] == [0, 0, 0, 0], [w.stderr.read() for w in writers if w.stderr]
    assert 1 <= len(known.repositories(REGISTRY, BLOB)) <= MAX_REPOSITORIES
    assert list((tmp_path / "tmp").iterdir()) == []  # no temporary left behind
    assert reads > 0
