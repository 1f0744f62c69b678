"""The build context's ``.dockerignore``: an allow-list of exactly what the Dockerfile copies.

The context is a directory layerplan writes, but people (and tools) drop things into
build directories: a ``.env``, a key, a ``git init``. Excluding everything (``*``) and
re-including only the copied files keeps them out of the context sent to the builder,
even if someone later adds ``COPY . .``; the deny patterns after the allow-list win over
it (the last matching line decides), so a secret is never re-included by a folder rule.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["NEVER_SENT", "dockerignore_text"]

NEVER_SENT = (
    "**/.git",
    "**/.env",
    "**/.env.*",
    "**/*.pem",
    "**/*.key",
    "**/id_rsa*",
    "**/.netrc",
    "**/.pypirc",
    "**/__pycache__",
    "**/.venv",
)
"""Secrets and junk that must never reach the builder, whatever else says."""


def dockerignore_text(copied: Sequence[str]) -> str:
    """The ``.dockerignore`` that sends only ``copied`` (context paths) to the builder."""
    lines = [
        "# Written by `layerplan dockerfile`: the context sends only what the Dockerfile copies.",
        "*",
        *(f"!{path}" for path in copied),
        "# never sent, even if a line above would include it",
        *NEVER_SENT,
    ]
    return "\n".join(lines) + "\n"
