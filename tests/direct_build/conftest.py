"""Fixtures for the direct-build tests: the real engine, registry and base image."""

from engine import auth_registry, base_image, docker_client, registry  # noqa: F401
