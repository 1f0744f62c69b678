"""The one place a URL is made safe to show: in a label, an annotation, a report, a
requirements file, a log line or an error, a URL never carries credentials.

CI systems clone with ``https://user:TOKEN@host/org/app.git`` and private indexes are
often ``https://user:password@pkgs.example/simple``: everything layerplan writes or
prints goes through ``public_url``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["has_credentials", "public_url"]

_SCP_LIKE = re.compile(r"^(?P<user>[\w.+-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>.+)$")
"""git's ``[user@]host:path`` form (``git@github.com:org/app.git``); a bare one-word
``host`` without a user (``C:/repo``) is a path, not a host."""


def public_url(url: str) -> str:
    """``url`` without ``user[:password]@``; git's ``user@host:path`` as ``ssh://host/path``.

    Anything that is not a URL (a local path) is returned as it is.
    """
    if "://" not in url:
        scp = _SCP_LIKE.match(url)
        if scp and (scp.group("user") or "." in scp.group("host")):
            return f"ssh://{scp.group('host')}/{scp.group('path').lstrip('/')}"
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def has_credentials(url: str) -> bool:
    """True when ``url`` names a user or a password (``public_url`` drops them)."""
    return public_url(url) != url and "://" in url
