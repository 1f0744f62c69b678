"""greeting: a tiny local package, so the example image has a local-packages layer."""

__all__ = ["greet"]


def greet(name: str) -> str:
    """Return a greeting for ``name``."""
    return f"Hello, {name}!"
