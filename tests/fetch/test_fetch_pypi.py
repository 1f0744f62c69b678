"""Fetching real files from PyPI: by URL + hash, by lookup, parallel, cache hits, mismatches."""

from __future__ import annotations

import os

import pytest
from packaging.tags import Tag

from layerplan.fetch import HashMismatchError, NoMatchingFileError, WantedFile, tag_rank
from layerplan.lockfiles.model import LockedFile, LockedPackage, Source

PINS = {
    "six": "1.16.0",
    "idna": "3.7",
    "click": "8.1.7",
    "colorama": "0.4.6",
    "packaging": "24.1",
}


def _wheel(pypi_files, name):  # type: ignore[no-untyped-def]
    version = PINS[name]
    return next(f for f in pypi_files(name) if f.filename.endswith(".whl") and f"-{version}-" in f.filename)


def _cached_files(root):  # type: ignore[no-untyped-def]
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_fetch_by_url_and_hash(make_fetcher, pypi_files, tmp_path):  # type: ignore[no-untyped-def]
    six = _wheel(pypi_files, "six")
    fetcher = make_fetcher()
    [got] = fetcher.fetch([WantedFile.from_url("six", six.url, six.hashes, size=six.size)])
    assert got.filename == "six-1.16.0-py2.py3-none-any.whl"
    assert got.sha256 == six.hashes[0].split(":")[1]
    assert got.path == tmp_path / "cache" / "wheels" / "sha256" / got.sha256 / got.filename
    assert got.path.stat().st_size == six.size == got.size
    assert not got.from_cache
    assert fetcher.stats.downloads == 1 and fetcher.stats.requests == 1


def test_cache_hit_downloads_nothing(make_fetcher, pypi_files):  # type: ignore[no-untyped-def]
    six = _wheel(pypi_files, "six")
    wanted = WantedFile.from_url("six", six.url, six.hashes)
    first = make_fetcher().fetch([wanted])[0]
    again = make_fetcher()
    [hit] = again.fetch([wanted])
    assert hit.from_cache and hit.path == first.path
    assert again.stats.requests == 0 and again.stats.downloads == 0 and again.stats.cache_hits == 1


def test_lookup_by_name_version_and_hashes(make_fetcher, pypi_files):  # type: ignore[no-untyped-def]
    """Pipfile.lock-style: only the allowed hashes (wheel and sdist) of the version."""
    allowed = [h for f in pypi_files("idna") if "-3.7" in f.filename for h in f.hashes]
    assert len(allowed) == 2  # the wheel and the sdist
    fetcher = make_fetcher()
    [got] = fetcher.fetch([WantedFile.from_index("idna", "3.7", allowed)])
    assert got.filename == "idna-3.7-py3-none-any.whl"  # the sdist does not rank
    assert fetcher.stats.requests == 2  # the index page, the wheel

    # The second time the choice is made offline: every allowed hash's name is known.
    offline = make_fetcher()
    [hit] = offline.fetch([WantedFile.from_index("idna", "3.7", allowed)])
    assert hit.from_cache and hit.path == got.path and offline.stats.requests == 0


def test_lookup_by_filename_like_poetry(make_fetcher, pypi_files):  # type: ignore[no-untyped-def]
    click = _wheel(pypi_files, "click")
    package = LockedPackage(name="click", version="8.1.7", source=Source(kind="registry"))
    file = LockedFile(kind="wheel", filename=click.filename, hashes=click.hashes)
    fetcher = make_fetcher()
    [got] = fetcher.fetch([WantedFile.from_locked(package, file)])
    assert got.filename == click.filename and got.url == click.url


def test_lookup_picks_best_platform_wheel_by_rank(make_fetcher, pypi_files):  # type: ignore[no-untyped-def]
    files = [f for f in pypi_files("markupsafe") if "-2.1.5" in f.filename]
    allowed = [h for f in files for h in f.hashes]
    target = [Tag("cp311", "cp311", "manylinux_2_17_aarch64"), Tag("cp311", "abi3", "manylinux_2_17_aarch64")]
    wanted = WantedFile.from_index("MarkupSafe", "2.1.5", allowed, rank=tag_rank(target))
    [got] = make_fetcher().fetch([wanted])
    assert got.filename == "MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"

    musl_only = WantedFile.from_index(
        "markupsafe", "2.1.5", allowed, rank=tag_rank([Tag("cp37", "cp37m", "musllinux_1_1_riscv64")])
    )
    with pytest.raises(NoMatchingFileError, match="no allowed file suits the target"):
        make_fetcher().fetch([musl_only])


def test_hash_mismatch_is_an_error_and_nothing_is_kept(make_fetcher, pypi_files, tmp_path):  # type: ignore[no-untyped-def]
    six = _wheel(pypi_files, "six")
    wrong = "sha256:" + "0" * 64
    with pytest.raises(HashMismatchError) as caught:
        make_fetcher().fetch([WantedFile.from_url("six", six.url, [wrong])])
    error = caught.value
    assert error.package == "six" and error.url == six.url
    assert error.expected == (wrong,) and error.actual == six.hashes[0]
    text = str(error)
    assert six.url in text and wrong in text and six.hashes[0] in text and "six" in text
    assert _cached_files(tmp_path / "cache") == []  # no file, not even a temp one


def test_parallel_fetch_of_several(make_fetcher, pypi_files):  # type: ignore[no-untyped-def]
    wanted = [WantedFile.from_url(name, w.url, w.hashes, size=w.size) for name in PINS for w in [_wheel(pypi_files, name)]]
    fetcher = make_fetcher(jobs=4)
    got = fetcher.fetch(wanted + wanted[:2])  # duplicates are fetched once
    assert [g.wanted for g in got] == wanted + wanted[:2]
    assert all(os.path.getsize(g.path) == g.wanted.size for g in got)
    assert fetcher.stats.downloads == len(PINS)
