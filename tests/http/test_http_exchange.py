"""One request and its body, retried as a whole, against real servers on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
import requests
from loopback import RETRY_DATE_AHEAD, LoopbackServer, running

from layerplan.http import (
    USER_AGENT,
    ReadAgain,
    RetryPolicy,
    Timeouts,
    TransportError,
    exchange,
    new_session,
)

BODY = os.urandom(200_000)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with running() as srv:
        yield srv


@pytest.fixture
def waits() -> list[float]:
    return []


def _policy(waits: list[float], attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, backoff=0.25, jitter=0.0, sleep=waits.append)


def _get(url: str, policy: RetryPolicy, *, session: requests.Session | None = None) -> tuple[int, bytes]:
    session = session or new_session()

    def read(response: requests.Response) -> tuple[int, bytes]:
        return response.status_code, b"".join(response.iter_content(65536))

    return exchange(lambda: session.get(url, stream=True), read, method="GET", url=url, policy=policy)


@pytest.mark.parametrize(
    ("failures", "expected_waits"),
    [
        (["503"], [0.0]),  # Retry-After: 0
        (["429"], [1.0]),  # Retry-After: 1
        (["500", "500"], [0.25, 0.5]),  # no Retry-After: the backoff
        (["cut", "cut"], [0.25, 0.5]),  # body cut short: sent and read again
    ],
)
def test_temporary_failures_are_retried(server, waits, failures, expected_waits) -> None:  # type: ignore[no-untyped-def]
    url = server.serve("/blob", BODY, failures=failures)
    assert _get(url, _policy(waits)) == (200, BODY)
    assert server.hits["/blob"] == len(failures) + 1
    assert waits == expected_waits


def test_retry_after_as_an_http_date_is_honoured_and_capped(server, waits) -> None:  # type: ignore[no-untyped-def]
    url = server.serve("/blob", BODY, failures=["503-date", "503-date"])
    assert _get(url, RetryPolicy(attempts=3, max_backoff=60.0, sleep=waits.append))[1] == BODY
    assert all(RETRY_DATE_AHEAD - 2 <= w <= RETRY_DATE_AHEAD for w in waits) and len(waits) == 2
    waits.clear()
    server.routes["/blob"].failures = ["503-date"]
    _get(url, RetryPolicy(attempts=3, max_backoff=1.5, sleep=waits.append))
    assert waits == [1.5]


def test_a_refused_connection_is_retried_until_the_server_listens(waits) -> None:  # type: ignore[no-untyped-def]
    with running(listening=False) as late:
        url = late.serve("/blob", BODY)

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 2:  # refused twice, then up
                late.listen()

        assert _get(url, RetryPolicy(attempts=4, sleep=sleep)) == (200, BODY)
        assert len(waits) == 2 and late.hits["/blob"] == 1


def test_a_handler_asks_for_the_body_again(server, waits) -> None:  # type: ignore[no-untyped-def]
    url = server.serve("/page", b"complete page")
    reads = []

    def handle(response: requests.Response) -> bytes:
        reads.append(response.content)
        if len(reads) == 1:
            raise ReadAgain("pretend the body was short")
        return response.content

    session = new_session()
    assert exchange(lambda: session.get(url), handle, method="GET", url=url, policy=_policy(waits)) == b"complete page"
    assert reads == [b"complete page"] * 2 and server.hits["/page"] == 2


def test_404_is_not_retried_and_goes_to_the_handler(server, waits) -> None:  # type: ignore[no-untyped-def]
    assert _get(server.url + "/missing", _policy(waits)) == (404, b"")
    assert server.hits["/missing"] == 1 and waits == []


def test_the_last_temporary_answer_goes_to_the_handler(server, waits) -> None:  # type: ignore[no-untyped-def]
    url = server.serve("/busy", BODY, failures=["503"] * 10)
    assert _get(url, _policy(waits, attempts=3)) == (503, b"")
    assert server.hits["/busy"] == 3 and len(waits) == 2


def test_attempts_are_bounded_and_the_error_is_one_clear_line(waits) -> None:  # type: ignore[no-untyped-def]
    with running(listening=False) as never:  # refuses every connection
        url = never.url.replace("http://", "http://user:s3cret@") + "/simple/demo/?token=abc"
        with pytest.raises(TransportError) as caught:
            _get(url, _policy(waits, attempts=3))
    error = caught.value
    assert error.attempts == 3 and len(waits) == 2
    text = str(error)
    assert text == f"GET http://{never.address}/simple/demo/: could not connect ([Errno 111] Connection refused), after 3 tries"
    assert error.reason == "could not connect" and isinstance(error.cause, requests.ConnectionError)


def test_a_body_cut_on_every_try_is_a_transport_error(server, waits) -> None:  # type: ignore[no-untyped-def]
    url = server.serve("/blob", BODY, failures=["cut"] * 5)
    with pytest.raises(TransportError, match=r"the connection dropped mid-transfer \(.*IncompleteRead.*\), after 3 tries"):
        _get(url, _policy(waits, attempts=3))
    assert server.hits["/blob"] == 3


def test_tls_failure_is_not_retried(server, waits) -> None:  # type: ignore[no-untyped-def]
    url = server.serve("/blob", BODY).replace("http://", "https://")  # TLS to a plain-HTTP server
    with pytest.raises(TransportError, match="TLS failed") as caught:
        _get(url, _policy(waits))
    assert caught.value.attempts == 1 and waits == []
    assert "after" not in str(caught.value)


def test_the_session_factory_sets_user_agent_and_default_timeouts(server, waits) -> None:  # type: ignore[no-untyped-def]
    url = server.serve("/page", b"x")
    assert _get(url, _policy(waits)) == (200, b"x")
    assert server.seen[0][2]["User-Agent"] == USER_AGENT and USER_AGENT.startswith("layerplan/")

    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/page"
        session = new_session(timeouts=Timeouts(connect=1.0, read=0.2))
        with pytest.raises(TransportError, match=r"timed out .*after 2 tries"):
            _get(url, _policy(waits, attempts=2), session=session)
