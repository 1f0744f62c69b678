"""Fixtures for the outputs' tests: the image stage's helpers and the engine."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
for _path in (str(_TESTS), str(_TESTS / "image")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from engine import base_image, docker_client, registry  # noqa: F401
from lp_image_helpers import base_layout  # noqa: F401
