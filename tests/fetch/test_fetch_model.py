"""The pure parts of fetching: wanted-file shapes, hashes, ranking, choosing on a page."""

from __future__ import annotations

import hashlib
import io

import pytest
from packaging.tags import Tag
from rich.console import Console

from layerplan.events import Event, StageAdvanced, StageFinished, StageStarted
from layerplan.fetch import HashMismatchError, IndexFile, NoMatchingFileError, WantedFile, tag_rank
from layerplan.fetch.cache import WheelCache
from layerplan.fetch.index import page_url, select
from layerplan.fetch.model import filename_from_url, parse_hashes
from layerplan.lockfiles.model import LockedFile, LockedPackage, Source

A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_parse_hashes() -> None:
    assert parse_hashes(["sha256:AB", "sha256:cd", "md5:00"]) == {"sha256": {"ab", "cd"}, "md5": {"00"}}
    with pytest.raises(ValueError, match="algorithm:hexdigest"):
        parse_hashes(["abc"])


def test_filename_from_url() -> None:
    assert filename_from_url("https://h/p/x/foo%2Bbar-1.0-py3-none-any.whl#sha256=1") == "foo+bar-1.0-py3-none-any.whl"


def test_wanted_file_shapes_from_the_lock_model() -> None:
    registry = Source(kind="registry", url="https://pypi.org/simple")
    uv_like = LockedPackage(name="six", version="1.16.0", source=registry)
    by_url = WantedFile.from_locked(uv_like, LockedFile(kind="wheel", url="https://f/six.whl", hashes=(f"sha256:{A}",), size=3))
    assert (by_url.url, by_url.size, by_url.hashes) == ("https://f/six.whl", 3, (f"sha256:{A}",))

    poetry_like = LockedPackage(name="six", version="1.16.0", source=registry, index="https://idx/simple")
    named = WantedFile.from_locked(poetry_like, LockedFile(kind="wheel", filename="six.whl", hashes=(f"sha256:{A}",)))
    assert named.url is None and named.filename == "six.whl" and named.index == "https://idx/simple"

    pipfile_like = LockedPackage(name="six", version="1.16.0", source=registry, hashes=(f"sha256:{A}", f"sha256:{B}"))
    hashes_only = WantedFile.from_locked(pipfile_like)
    assert hashes_only.filename is None and hashes_only.hashes == (f"sha256:{A}", f"sha256:{B}")

    with pytest.raises(ValueError, match="needs a URL"):
        WantedFile(name="six")


def test_tag_rank_prefers_earlier_tags_and_refuses_the_rest() -> None:
    rank = tag_rank([Tag("cp312", "cp312", "manylinux_2_28_x86_64"), Tag("py3", "none", "any")])
    assert rank("x-1-cp312-cp312-manylinux_2_28_x86_64.whl") == 0
    assert rank("x-1-py2.py3-none-any.whl") == 1
    assert rank("x-1-cp311-cp311-manylinux_2_28_x86_64.whl") is None
    assert rank("x-1.tar.gz") is None


def test_select_cases() -> None:
    files = [
        IndexFile(filename="x-1.0-py3-none-any.whl", url="u1", hashes=(f"sha256:{A}",)),
        IndexFile(filename="x-1.0.tar.gz", url="u2", hashes=(f"sha256:{B}",)),
        IndexFile(filename="x-0.9-py3-none-any.whl", url="u3", hashes=(f"sha256:{C}",)),
    ]
    any_rank = tag_rank([Tag("py3", "none", "any")])
    pick = WantedFile.from_index("x", "1.0", [f"sha256:{A}", f"sha256:{B}"], rank=any_rank)
    assert select(pick, files, "idx").url == "u1"
    # A version given as 1 matches files named 1.0.
    assert select(WantedFile.from_index("x", "1", [f"sha256:{A}"], rank=any_rank), files, "idx").url == "u1"
    with pytest.raises(NoMatchingFileError, match="allowed files: x-1.0.tar.gz"):
        select(WantedFile.from_index("x", "1.0", [f"sha256:{B}"], rank=any_rank), files, "idx")
    # A file name picks that file; its listed hash must be allowed.
    assert select(WantedFile.from_index("x", "1.0", [f"sha256:{B}"], filename="x-1.0.tar.gz"), files, "idx").url == "u2"
    with pytest.raises(HashMismatchError):
        select(WantedFile.from_index("x", "1.0", [f"sha256:{C}"], filename="x-1.0.tar.gz"), files, "idx")
    with pytest.raises(NoMatchingFileError, match="no file named"):
        select(WantedFile.from_index("x", "1.0", [f"sha256:{A}"], filename="x-1.0-cp3-none-any.whl"), files, "idx")
    # Without hashes on the index page, the ranked files are candidates (verified after download).
    bare = [IndexFile(filename="x-1.0-py3-none-any.whl", url="u9")]
    assert select(WantedFile.from_index("x", "1.0", [f"sha256:{A}"], rank=any_rank), bare, "idx").url == "u9"


def test_page_url() -> None:
    assert page_url("https://pypi.org/simple", "six") == page_url("https://pypi.org/simple/", "six")


def test_cache_paths_are_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cache = WheelCache(tmp_path)
    with pytest.raises(ValueError):
        cache.path_for("../x", "a.whl")
    with pytest.raises(ValueError):
        cache.path_for(A, "../a.whl")
    assert cache.find(A) is None and cache.known_name(A) is None


def test_downloads_are_a_fetch_stage_and_cache_hits_say_nothing(server, make_fetcher, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = b"x" * 1000
    url = server.serve_file("/files/x-1.0-py3-none-any.whl", body)
    wanted = WantedFile.from_url("x", url, ["sha256:" + hashlib.sha256(body).hexdigest()])
    events: list[Event] = []
    out = io.StringIO()
    fetcher = make_fetcher(console=Console(file=out, force_terminal=False), progress=events.append)
    fetcher.fetch([wanted])
    assert events[0] == StageStarted(stage="fetch")
    assert sum(e.bytes for e in events if isinstance(e, StageAdvanced)) == 1000
    assert sum(e.total_bytes for e in events if isinstance(e, StageAdvanced)) == 1000
    assert events[-1] == StageFinished(stage="fetch", summary="1 file, 1.0 kB", bytes=1000)
    assert out.getvalue() == ""  # a loopback index is plain http:// but gets no warning
    events.clear()
    fetcher.fetch([wanted])  # cached: no work, no stage (no "0/0 files" flash)
    assert events == []
