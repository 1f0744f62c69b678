"""One helper makes every URL safe to show: no credentials in labels, reports, requirements
files or messages."""

from __future__ import annotations

import pytest

from layerplan.urls import has_credentials, public_url


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
