"""Fixtures for the registry client's tests."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/engine.py is a helper module shared by the test folders; make it importable
# until pytest's `pythonpath` setting names tests/ for the whole suite.
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from engine import auth_registry, base_image, docker_client, registry  # noqa: E402,F401
