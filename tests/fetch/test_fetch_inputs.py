"""What the fetcher says about its inputs: file:// URLs read from disk and verified,
plain http:// warned about once per host, unhashed files refused with a real way out."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from rich.console import Console

from layerplan.fetch import DownloadError, HashMismatchError, IndexLookupError, UnhashedFileError, WantedFile

BODY = os.urandom(300_000)
SHA = "sha256:" + hashlib.sha256(BODY).hexdigest()
NAME = "demo-1.0-py3-none-any.whl"


def test_a_file_url_is_read_from_disk_and_verified(tmp_path, make_fetcher):  # type: ignore[no-untyped-def]
    wheel = tmp_path / "wheels" / NAME
    wheel.parent.mkdir()
    wheel.write_bytes(BODY)
    fetcher = make_fetcher()
    [got] = fetcher.fetch([WantedFile.from_url("demo", wheel.as_uri(), [SHA])])
    assert got.path.read_bytes() == BODY and got.sha256 == SHA[7:] and not got.from_cache
    assert fetcher.stats.requests == 0

    wheel.write_bytes(b"changed since the lock")
    other = tmp_path / "other" / NAME
    other.parent.mkdir()
    other.write_bytes(b"changed since the lock")
    with pytest.raises(HashMismatchError, match="the file was discarded"):
        make_fetcher(cache_dir=tmp_path / "cache2").fetch([WantedFile.from_url("demo", other.as_uri(), [SHA])])
    assert not [p for p in (tmp_path / "cache2").rglob(NAME)]


@pytest.mark.parametrize(("make", "problem"), [("missing", "does not exist"), ("directory", "is a directory")])
def test_a_file_url_that_cannot_be_read_says_so(tmp_path, make_fetcher, make, problem):  # type: ignore[no-untyped-def]
    path = tmp_path / NAME
    if make == "directory":
        path.mkdir()
    with pytest.raises(DownloadError) as caught:
        make_fetcher().fetch([WantedFile.from_url("demo", path.as_uri(), [SHA])])
    message = str(caught.value)
    assert f"the local file {path}" in message and problem in message
    assert "network" not in message and "\n" not in message


def test_a_file_url_on_another_host_is_refused(make_fetcher):  # type: ignore[no-untyped-def]
    with pytest.raises(DownloadError, match="names a file on another host"):
        make_fetcher().fetch([WantedFile.from_url("demo", f"file://fileserver/share/{NAME}", [SHA])])


def test_a_file_index_is_not_blamed_on_the_network(tmp_path, make_fetcher):  # type: ignore[no-untyped-def]
    with pytest.raises(IndexLookupError, match="is not an http\\(s\\) URL") as caught:
        make_fetcher(indexes=[tmp_path.as_uri()]).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    assert "network" not in str(caught.value)


def test_plain_http_to_another_machine_is_warned_about_without_credentials() -> None:
    """Only loopback is reachable here, so the notice is checked as the fetcher words it;
    ``test_plain_http_on_loopback_is_not_warned_about`` is the fetch itself."""
    from layerplan.fetch.fetcher import plain_http_notice

    notice = plain_http_notice("http://user:secret@pkgs.example:8080/simple/demo/")
    assert notice == (
        "pkgs.example:8080 is reached over plain http://: the lock's hashes still check every file, "
        "but the traffic can be read and tampered with on the way; prefer https://"
    )
    for quiet in ("https://pkgs.example/simple/", "http://127.0.0.1:3141/simple/", "http://localhost/x", "http://[::1]:80/x"):
        assert plain_http_notice(quiet) is None, quiet


def test_plain_http_on_loopback_is_not_warned_about(server, make_fetcher):  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    second = server.serve_file("/files/other-1.0-py3-none-any.whl", b"other")
    out = io.StringIO()
    fetcher = make_fetcher(indexes=[index], console=Console(file=out, width=60))
    fetcher.fetch([
        WantedFile.from_index("demo", "1.0", [SHA]),
        WantedFile.from_url("other", second, ["sha256:" + hashlib.sha256(b"other").hexdigest()]),
    ])  # fmt: skip
    assert out.getvalue() == ""


def test_the_unhashed_hint_names_something_that_exists(server, make_fetcher):  # type: ignore[no-untyped-def]
    url = server.serve_file(f"/files/{NAME}", BODY)
    with pytest.raises(UnhashedFileError) as caught:
        make_fetcher().fetch([WantedFile.from_url("demo", url, [])])
    assert "--generate-hashes" in str(caught.value) and "allow unhashed" not in str(caught.value)
