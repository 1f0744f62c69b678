"""Fixtures of the resolution tests: the synthetic base and an in-memory registry
(engine-free builds), and the real engine."""

from engine import base_image, docker_client, registry  # noqa: F401
from memregistry import memregistry  # noqa: F401
from synthbase import synthetic_base  # noqa: F401
