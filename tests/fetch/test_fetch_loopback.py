"""Fetching from a real HTTP server on 127.0.0.1: retries, cut connections, errors, cache."""

from __future__ import annotations

import hashlib
import os
import socket

import pytest

from layerplan.fetch import (
    DownloadError,
    HashMismatchError,
    IndexLookupError,
    NoMatchingFileError,
    UnhashedFileError,
    WantedFile,
)

BODY = os.urandom(300_000)  # larger than one read chunk
SHA = "sha256:" + hashlib.sha256(BODY).hexdigest()
NAME = "demo-1.0-py3-none-any.whl"


def _files(root):  # type: ignore[no-untyped-def]
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_cut_connection_then_success(server, make_fetcher, sleeps):  # type: ignore[no-untyped-def]
    url = server.serve_file(f"/files/{NAME}", BODY, failures=["cut", "cut"])
    fetcher = make_fetcher()
    [got] = fetcher.fetch([WantedFile.from_url("demo", url, [SHA])])
    assert got.path.read_bytes() == BODY
    assert server.hits[f"/files/{NAME}"] == 3
    assert fetcher.stats.retries == 2 and len(sleeps) == 2
    assert _files(fetcher.cache.root) == [f"wheels/sha256/{SHA[7:]}/{NAME}"]  # no temp file left


def test_503_then_success(server, make_fetcher, sleeps):  # type: ignore[no-untyped-def]
    url = server.serve_file(f"/files/{NAME}", BODY, failures=["503"])
    [got] = make_fetcher().fetch([WantedFile.from_url("demo", url, [SHA])])
    assert got.sha256 == SHA[7:]
    assert server.hits[f"/files/{NAME}"] == 2
    assert sleeps == [0.0]  # Retry-After: 0 honoured


def test_retries_are_bounded(server, make_fetcher, sleeps):  # type: ignore[no-untyped-def]
    url = server.serve_file(f"/files/{NAME}", BODY, failures=["503"] * 10)
    with pytest.raises(DownloadError, match=r"demo: download of .* failed with HTTP 503") as caught:
        make_fetcher(attempts=3).fetch([WantedFile.from_url("demo", url, [SHA])])
    assert server.hits[f"/files/{NAME}"] == 3
    assert caught.value.hint


def test_cut_every_time_gives_a_download_error(server, make_fetcher):  # type: ignore[no-untyped-def]
    url = server.serve_file(f"/files/{NAME}", BODY, failures=["cut"] * 10)
    fetcher = make_fetcher(attempts=3)
    with pytest.raises(DownloadError, match="cannot download .* after 3 tries"):
        fetcher.fetch([WantedFile.from_url("demo", url, [SHA])])
    assert _files(fetcher.cache.root) == []


def test_404_download(server, make_fetcher):  # type: ignore[no-untyped-def]
    with pytest.raises(DownloadError, match="HTTP 404") as caught:
        make_fetcher().fetch([WantedFile.from_url("demo", server.url + "/files/gone.whl", [SHA])])
    assert "re-lock" in str(caught.value)


def test_lookup_json_index_and_cache_hit(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY, "demo-1.0.tar.gz": b"sdist", "demo-0.9-py3-none-any.whl": b"old"})
    wanted = WantedFile.from_index("demo", "1.0", [SHA, "sha256:" + hashlib.sha256(b"sdist").hexdigest()])
    fetcher = make_fetcher(indexes=[index])
    [got] = fetcher.fetch([wanted])
    assert got.filename == NAME and got.path.read_bytes() == BODY
    assert server.hits == {"/simple/demo/": 1, f"/files/{NAME}": 1}
    again = make_fetcher(indexes=[index])
    again.fetch([wanted])
    assert again.stats.requests == 0 and server.hits[f"/files/{NAME}"] == 1


def test_lookup_html_index(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY}, html=True)
    [got] = make_fetcher(indexes=[index]).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    assert got.path.read_bytes() == BODY


def test_wanted_index_overrides_the_lock_indexes(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    wanted = WantedFile.from_index("demo", "1.0", [SHA], index=index)
    [got] = make_fetcher(indexes=["http://127.0.0.1:9/never/"]).fetch([wanted])
    assert got.filename == NAME


def test_second_index_is_tried_after_a_404(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    [got] = make_fetcher(indexes=[server.url + "/other/", index]).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    assert got.filename == NAME and server.hits["/other/demo/"] == 1


def test_package_not_on_index(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    with pytest.raises(NoMatchingFileError, match=r"nothere==1.0: not found on .*HTTP 404.*hint: check the package name"):
        make_fetcher(indexes=[index]).fetch([WantedFile.from_index("nothere", "1.0", [SHA])])


def test_no_file_with_an_allowed_hash(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    with pytest.raises(NoMatchingFileError, match="none of the 1 files .* has a hash the lock allows"):
        make_fetcher(indexes=[index]).fetch([WantedFile.from_index("demo", "1.0", ["sha256:" + "1" * 64])])
    with pytest.raises(NoMatchingFileError, match="no files for version 2.0"):
        make_fetcher(indexes=[index]).fetch([WantedFile.from_index("demo", "2.0", [SHA])])


def test_named_file_with_another_hash_is_refused_before_download(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    wanted = WantedFile.from_index("demo", "1.0", ["sha256:" + "1" * 64], filename=NAME)
    with pytest.raises(HashMismatchError):
        make_fetcher(indexes=[index]).fetch([wanted])
    assert server.hits[f"/files/{NAME}"] == 0


def test_unreachable_index(make_fetcher):  # type: ignore[no-untyped-def]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetcher = make_fetcher(indexes=[f"http://127.0.0.1:{port}/simple/"], attempts=2)
    with pytest.raises(IndexLookupError, match=r"demo: cannot reach the index http://127.0.0.1:\d+/simple/"):
        fetcher.fetch([WantedFile.from_index("demo", "1.0", [SHA])])


def test_index_credentials_are_not_shown(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.url.replace("http://", "http://user:secret@") + "/missing/"
    with pytest.raises(NoMatchingFileError) as caught:
        make_fetcher(indexes=[index]).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    assert "secret" not in str(caught.value)


def test_unhashed_files_are_refused_unless_allowed(server, make_fetcher):  # type: ignore[no-untyped-def]
    url = server.serve_file(f"/files/{NAME}", BODY)
    with pytest.raises(UnhashedFileError, match="no hash"):
        make_fetcher().fetch([WantedFile.from_url("demo", url, [])])
    assert server.hits[f"/files/{NAME}"] == 0
    [got] = make_fetcher(require_hashes=False).fetch([WantedFile.from_url("demo", url, [])])
    assert got.sha256 == SHA[7:]


def test_unhashed_lookup_is_verified_against_the_index(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    server.routes[f"/files/{NAME}"].body = b"tampered"  # the index lists BODY's hash
    with pytest.raises(HashMismatchError):
        make_fetcher(indexes=[index], require_hashes=False).fetch([WantedFile.from_index("demo", "1.0", [])])


def test_first_failure_in_input_order_is_raised_and_the_rest_is_kept(server, make_fetcher):  # type: ignore[no-untyped-def]
    good = server.serve_file(f"/files/{NAME}", BODY)
    fetcher = make_fetcher()
    with pytest.raises(DownloadError, match="bad"):
        fetcher.fetch([WantedFile.from_url("bad", server.url + "/files/bad.whl", [SHA]),
                       WantedFile.from_url("demo", good, [SHA])])  # fmt: skip
    assert fetcher.cache.find(SHA[7:], NAME) is not None


@pytest.mark.parametrize("leftover", [f"tmp/.{NAME}.tmp-x1y2", f"wheels/tmp/{NAME}.12345.x1y2.part"], ids=["now", "older layerplan"])
def test_leftover_temp_file_of_a_killed_download_is_ignored_and_cleaned(server, make_fetcher, tmp_path, leftover):  # type: ignore[no-untyped-def]
    temp = tmp_path / "cache" / leftover  # nobody holds its lock: its writer was killed
    temp.parent.mkdir(parents=True)
    temp.write_bytes(BODY[:1000])
    url = server.serve_file(f"/files/{NAME}", BODY)
    fetcher = make_fetcher()  # cleans on start
    assert not temp.exists()
    [got] = fetcher.fetch([WantedFile.from_url("demo", url, [SHA])])
    assert got.path.read_bytes() == BODY and not got.from_cache


def test_a_size_larger_than_the_lock_says_stops_the_download(server, make_fetcher):  # type: ignore[no-untyped-def]
    url = server.serve_file(f"/files/{NAME}", BODY)
    with pytest.raises(HashMismatchError):
        make_fetcher().fetch([WantedFile.from_url("demo", url, [SHA], size=10)])


def test_a_download_that_stalls_says_what_it_waits_for(server, tmp_path):  # type: ignore[no-untyped-def]
    """Index and download requests are watched like the registry's: a body that stops
    coming is a ``Stall`` naming the host and the file (nothing else of the URL)."""
    import threading

    from layerplan.fetch import Fetcher
    from layerplan.fetch.http import HttpClient
    from layerplan.http import Stall, Watchdog

    body = os.urandom(200_000)
    url = server.serve_file("/files/slow-1.0-py3-none-any.whl", body, failures=["hold"])
    stalls: list[Stall] = []
    noticed = threading.Event()

    def notify(stall: Stall) -> None:
        stalls.append(stall)
        noticed.set()

    fetcher = Fetcher(tmp_path / "cache", http=HttpClient(watchdog=Watchdog(after=0.1, notify=notify)))
    wanted = WantedFile.from_url("slow", url, ["sha256:" + hashlib.sha256(body).hexdigest()])
    done = threading.Thread(target=fetcher.fetch, args=([wanted],))
    done.start()
    try:
        assert noticed.wait(30), "no stall reported"
    finally:
        server.resume.set()
    done.join(30)
    assert stalls[0].host == server.address and stalls[0].what == "GET slow-1.0-py3-none-any.whl"
    assert fetcher.stats.downloads == 1
