"""Transport errors are one line, name the cause, and never show credentials."""

from __future__ import annotations

import socket
import struct
import threading

import pytest
import requests

from layerplan.http import ReadAgain, TransportError, reason, redact, root_cause


def test_redact_hides_credentials_only() -> None:
    assert redact("https://me:pw@host/simple/") == "https://host/simple/"
    assert redact("https://token@host/simple/") == "https://host/simple/"
    assert redact("https://host/simple/?q=1") == "https://host/simple/?q=1"


def test_root_cause_unwraps_urllib3() -> None:
    inner = ConnectionRefusedError(111, "Connection refused")
    try:
        try:
            raise inner
        except OSError as error:
            raise OSError("<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish") from error
    except OSError as wrapped:
        outer = requests.ConnectionError(wrapped)
    assert root_cause(outer) == "[Errno 111] Connection refused"
    assert root_cause(ReadAgain("body cut short at 3 of 9 bytes")) == "body cut short at 3 of 9 bytes"
    assert root_cause(requests.Timeout()) == "Timeout"


def test_reasons() -> None:
    assert reason(requests.exceptions.ChunkedEncodingError()) == "the connection dropped mid-transfer"
    assert reason(ReadAgain("short")) == "the connection dropped mid-transfer"
    assert reason(requests.exceptions.SSLError()) == "TLS failed"
    assert reason(requests.exceptions.ConnectTimeout()) == "timed out"
    assert reason(requests.ConnectionError()) == "could not connect"
    assert reason(requests.exceptions.InvalidURL()) == "request failed"


def test_transport_error_is_one_line_without_secrets() -> None:
    error = TransportError(
        method="GET",
        url="https://u:pw@r.example/v2/a/blobs/sha256:ab?X-Amz-Signature=secret#frag",
        cause=requests.ConnectionError("reset\nby peer"),
        attempts=5,
    )
    assert error.url == "https://r.example/v2/a/blobs/sha256:ab"
    assert str(error) == "GET https://r.example/v2/a/blobs/sha256:ab: could not connect (reset\\nby peer), after 5 tries"
    assert "pw" not in str(error) and "secret" not in str(error)
    once = TransportError(method="HEAD", url="http://h/x", cause=requests.exceptions.SSLError("bad"), attempts=1)
    assert once.summary == "TLS failed (bad)"


def _hang_up(*, reset: bool) -> str:
    """A loopback server that reads one request and hangs up: RST with ``reset``, else FIN."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        with server:
            connection, _ = server.accept()
            request = b""
            while b"\r\n\r\n" not in request or len(request.split(b"\r\n\r\n", 1)[1]) < 1000:
                request += connection.recv(65536)  # all of it: unread data would make any close a reset
            if reset:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/v2/"


@pytest.mark.parametrize(
    ("reset", "said"), [(True, "the connection was reset"), (False, "the connection was closed without an answer")]
)
def test_a_connection_dropped_after_connecting_is_not_could_not_connect(reset: bool, said: str) -> None:
    with pytest.raises(requests.ConnectionError) as caught:
        requests.patch(_hang_up(reset=reset), data=b"x" * 1000, timeout=10)
    assert reason(caught.value) == said
