"""The one time stamp every reproducible output carries: ``SOURCE_DATE_EPOCH``.

Layer tarballs, archives and the wheels built for the image all take their times from
here, decided once per build, so a wheel and the layer holding it never disagree.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone

from layerplan.errors import ConfigError

__all__ = ["DEFAULT_EPOCH", "parse_created", "source_date_epoch"]

DEFAULT_EPOCH = 315532800
"""1980-01-01T00:00:00Z, the earliest time a zip file (a wheel) can hold; used when
``SOURCE_DATE_EPOCH`` is not set."""


def source_date_epoch(environ: Mapping[str, str] | None = None, default: int = DEFAULT_EPOCH) -> int:
    """``SOURCE_DATE_EPOCH`` as an int, else ``default``; ``ConfigError`` when it is not a number."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return default
    try:
        epoch = int(value)
    except ValueError:
        epoch = -1
    if epoch < 0:
        raise ConfigError(
            f"SOURCE_DATE_EPOCH must be a non-negative integer of seconds, not {value!r}",
            key="SOURCE_DATE_EPOCH",
            hint="e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)",
        )
    return epoch


def parse_created(text: str, *, now: float | None = None) -> int:
    """A ``created`` option as seconds since the epoch: an integer (``1700000000``), an
    RFC 3339 time with its offset (``2024-05-01T12:00:00Z``), or ``now`` (not
    reproducible: every build then gives another config digest). ``ValueError`` otherwise."""
    value = text.strip()
    if value == "now":
        return int(time.time() if now is None else now)
    if value.isdigit():
        return int(value)
    try:
        # Python 3.10's fromisoformat does not read a "Z"
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 time, a number of seconds or 'now'") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone: add Z or an offset such as +02:00")
    seconds = int(parsed.astimezone(timezone.utc).timestamp())
    if seconds < 0:
        raise ValueError(f"{value!r} is before 1970")
    return seconds
