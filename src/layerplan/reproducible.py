"""The one time stamp every reproducible output carries: ``SOURCE_DATE_EPOCH``.

Layer tarballs, archives and the wheels built for the image all take their times from
here, decided once per build, so a wheel and the layer holding it never disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from layerplan.errors import ConfigError

__all__ = ["DEFAULT_EPOCH", "source_date_epoch"]

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
