"""The SBOMs' one time: the build's ``SOURCE_DATE_EPOCH``, never the clock."""

from __future__ import annotations

import datetime

__all__ = ["iso_utc"]


def iso_utc(epoch: int) -> str:
    """``2023-11-14T22:13:20Z``: the form both CycloneDX and SPDX accept."""
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
