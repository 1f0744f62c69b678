"""The one place a URL is made safe to show: in a label, an annotation, a report, a
requirements file, a log line or an error, a URL never carries credentials.

CI systems clone with ``https://user:TOKEN@host/org/app.git`` and private indexes are
often ``https://user:password@pkgs.example/simple``: everything layerplan writes or
prints goes through ``public_url``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["browsable_url", "has_credentials", "is_loopback_host", "public_text", "public_url"]

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


def browsable_url(url: str) -> str | None:
    """A git remote as the web address of its repository, for a label: credentials
    removed, ``git@host:org/app.git`` / ``ssh://git@host:22/org/app.git`` /
    ``git://host/org/app.git`` as ``https://host/org/app.git``. ``None`` for anything that
    is not a remote URL (a local path differs between clones)."""
    public = public_url(url.strip())
    parts = urlsplit(public)
    if parts.scheme in ("https", "http"):
        return public
    if parts.scheme in ("ssh", "git", "git+ssh", "git+https") and parts.hostname:
        # the ssh port is not the web server's
        return urlunsplit(("https", parts.hostname, parts.path, "", ""))
    return None


_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s'\"<>@]*@")
"""``scheme://user[:password]@`` anywhere in a text (the netloc ends at ``/``, a space or a
quote; a password with a raw ``@`` is covered up to the last ``@`` before the host)."""


def public_text(text: str) -> str:
    """``text`` with the credentials of every URL in it removed (``scheme://host...``).

    For messages that quote a value the user wrote, which may hold a URL anywhere (a
    misplaced index URL in a ``markers`` field is quoted back as written).
    """
    if "@" not in text:
        return text
    previous = None
    while previous != text:  # a password holding a raw ``@`` takes more than one pass
        previous, text = text, _USERINFO_IN_TEXT.sub(r"\g<scheme>", text)
    return text


def has_credentials(url: str) -> bool:
    """True when ``url`` names a user or a password (``public_url`` drops them)."""
    return public_url(url) != url and "://" in url


def is_loopback_host(address: str) -> bool:
    """True for this machine: ``localhost``, ``127.x.y.z`` or ``::1``, as a bare host or a
    registry address with a port (``127.0.0.1:5000``, ``[::1]:5000``). The one definition:
    a loopback registry is reached over plain HTTP, and a loopback index is not warned
    about for it."""
    if address.startswith("["):
        host = address[1 : address.find("]")] if "]" in address else address[1:]
    elif address.count(":") > 1:
        host = address  # a bare IPv6 address
    else:
        host = address.rsplit(":", 1)[0]
    host = host.lower()
    return host in ("localhost", "::1") or host.startswith("127.")
