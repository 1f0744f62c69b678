"""Fixtures of the resolution tests: the synthetic base (engine-free builds) and the real engine."""

from engine import base_image, docker_client  # noqa: F401
from synthbase import synthetic_base  # noqa: F401
