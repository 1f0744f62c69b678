"""Fixtures for the image stage's tests (engine fixtures from tests/engine.py)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _path in (str(_HERE.parent), str(_HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from engine import base_image, docker_client, registry  # noqa: F401
from lp_image_helpers import base_layout  # noqa: F401
