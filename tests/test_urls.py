"""One helper makes every URL safe to show: no credentials in labels, reports, requirements
files or messages."""

from __future__ import annotations

import pytest

from layerplan.urls import has_credentials, public_text, public_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://deploy-user:TOKEN@github.com/org/app.git", "https://github.com/org/app.git"),
        ("https://TOKEN@github.com/org/app.git", "https://github.com/org/app.git"),
        ("https://user:p%40ss@pkgs.example:8443/simple/", "https://pkgs.example:8443/simple/"),
        ("git@github.com:org/app.git", "ssh://github.com/org/app.git"),
        ("ssh://git@github.com/org/app.git", "ssh://github.com/org/app.git"),
        ("https://pypi.org/simple", "https://pypi.org/simple"),
        ("/srv/checkouts/app", "/srv/checkouts/app"),
        ("C:/repo", "C:/repo"),
    ],
)
def test_public_url(url: str, shown: str) -> None:
    assert public_url(url) == shown
    assert has_credentials(url) == (url != shown and "://" in url)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("invalid marker 'https://u:TOKEN@pkgs.example/simple'", "invalid marker 'https://pkgs.example/simple'"),
        ("{'': 'https://TOKEN@h/x', 'b': \"git+ssh://me:pw@h:22/r\"}", "{'': 'https://h/x', 'b': \"git+ssh://h:22/r\"}"),
        ("https://u:p@ss@word@pkgs.example/simple", "https://pkgs.example/simple"),
        ("sha256:0a1https://u:TOKEN@h/simple", "sha256:0a1https://h/simple"),
        ("a@b.example and https://h/path@v1 and user@host:repo", "a@b.example and https://h/path@v1 and user@host:repo"),
    ],
)
def test_public_text_drops_the_credentials_of_every_url_in_a_text(text: str, shown: str) -> None:
    assert public_text(text) == shown


def test_one_definition_of_this_machine() -> None:
    from layerplan.urls import is_loopback_host

    for address in ("localhost", "LOCALHOST:5000", "127.0.0.1", "127.0.0.1:5000", "127.1.2.3", "::1", "[::1]", "[::1]:5000"):
        assert is_loopback_host(address), address
    for address in ("ghcr.io", "pkgs.example:8080", "10.0.0.1:5000", "[2001:db8::1]:5000", "2001:db8::1", "localhost.example.com"):
        assert not is_loopback_host(address), address


@pytest.mark.parametrize(
    ("remote", "web"),
    [
        ("https://ci:TOKEN@github.com/org/app.git", "https://github.com/org/app.git"),
        ("git@github.com:org/app.git", "https://github.com/org/app.git"),
        ("ssh://git@host.example:2222/org/app", "https://host.example/org/app"),
        ("git://host.example/org/app", "https://host.example/org/app"),
        ("/srv/git/app.git", None),
        ("../app", None),
    ],
)
def test_a_git_remote_as_the_web_address_of_its_repository(remote: str, web: str | None) -> None:
    from layerplan.urls import browsable_url

    assert browsable_url(remote) == web
