"""The index page and the wheel download are retried by the one policy of layerplan.http.

Each temporary failure (503 with Retry-After, 429, a refused connection, a body cut
short) is met once on a real 127.0.0.1 server, then the request succeeds; a 404 is not
retried; failures that last end in one clear line after the policy's attempts.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from loopback import running

from layerplan.fetch import DownloadError, IndexLookupError, NoMatchingFileError, WantedFile

BODY = os.urandom(300_000)
SHA = "sha256:" + hashlib.sha256(BODY).hexdigest()
NAME = "demo-1.0-py3-none-any.whl"
PAGE = "/simple/demo/"
WHEEL = f"/files/{NAME}"

# failure -> the wait the policy chose (Retry-After when given, else the first backoff step)
FAILURES = {"503": 0.0, "429": 1.0, "cut": 0.01}


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("path", [PAGE, WHEEL])
def test_one_temporary_failure_is_retried(server, make_fetcher, sleeps, path, failure) -> None:  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    server.routes[path].failures = [failure]
    fetcher = make_fetcher(indexes=[index])

    [got] = fetcher.fetch([WantedFile.from_index("demo", "1.0", [SHA])])

    assert got.path.read_bytes() == BODY
    assert server.hits[path] == 2 and server.hits[PAGE if path == WHEEL else WHEEL] == 1
    assert len(sleeps) == 1 and sleeps[0] == pytest.approx(FAILURES[failure], rel=0.1)
    assert fetcher.stats.retries == 1 and fetcher.stats.requests == 3


def test_a_refused_connection_is_retried(make_fetcher, sleeps) -> None:  # type: ignore[no-untyped-def]
    with running(listening=False) as late:
        url = late.serve(WHEEL, BODY)

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            late.listen()  # refused once, then up

        [got] = make_fetcher(sleep=sleep).fetch([WantedFile.from_url("demo", url, [SHA])])
    assert got.path.read_bytes() == BODY and len(sleeps) == 1


def test_a_refused_index_is_retried(make_fetcher, sleeps) -> None:  # type: ignore[no-untyped-def]
    with running(listening=False) as late:
        late.serve(PAGE, b'{"files": []}', content_type="application/vnd.pypi.simple.v1+json")

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            late.listen()

        with pytest.raises(NoMatchingFileError, match="no files for version 1.0"):  # the page was read
            make_fetcher(indexes=[late.url + "/simple/"], sleep=sleep).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    assert late.hits[PAGE] == 1 and len(sleeps) == 1


def test_404_is_not_retried(server, make_fetcher, sleeps) -> None:  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    with pytest.raises(NoMatchingFileError, match="not found"):
        make_fetcher(indexes=[index]).fetch([WantedFile.from_index("other", "1.0", [SHA])])
    assert server.hits["/simple/other/"] == 1
    server.routes[WHEEL].failures = ["404"]
    with pytest.raises(DownloadError, match="HTTP 404"):
        make_fetcher(indexes=[index]).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    assert server.hits[WHEEL] == 1 and sleeps == []


def test_an_index_cut_short_every_time_is_one_clear_line(server, make_fetcher, sleeps) -> None:  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY}).replace("http://", "http://me:s3cret@")
    server.routes[PAGE].failures = ["cut"] * 10
    with pytest.raises(IndexLookupError) as caught:
        make_fetcher(indexes=[index], attempts=3).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    text = str(caught.value)
    assert server.hits[PAGE] == 3 and len(sleeps) == 2
    assert text.startswith(f"demo: cannot reach the index http://{server.address}/simple/: "
                           "the connection dropped mid-transfer (")  # fmt: skip
    assert text.endswith(", after 3 tries (hint: check the network and the index URL the lock names)")
    assert "s3cret" not in text and "\n" not in text


def test_an_index_that_stays_unavailable_reports_its_status(server, make_fetcher, sleeps) -> None:  # type: ignore[no-untyped-def]
    index = server.serve_project("demo", {NAME: BODY})
    server.routes[PAGE].failures = ["429"] * 10
    with pytest.raises(IndexLookupError, match="answered HTTP 429"):
        make_fetcher(indexes=[index], attempts=3).fetch([WantedFile.from_index("demo", "1.0", [SHA])])
    assert server.hits[PAGE] == 3 and sleeps == [1.0, 1.0]
