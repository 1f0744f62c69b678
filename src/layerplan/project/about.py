"""What a project says about itself (description, license, URLs): the image's labels.

Read from ``[project]`` (PEP 621 / PEP 639), else Poetry's ``[tool.poetry]`` (Poetry 1
projects have no ``[project]``). Lenient: a value of the wrong shape is left out, never
an error -- labels are a courtesy, and the build backend validates the metadata itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


__all__ = ["About", "read_about"]


@dataclass(frozen=True, kw_only=True, slots=True)
class About:
    """The project's description, license and URLs, as declared."""

    description: str | None = None
    license: str | None = None
    """An SPDX license expression (canonical), or ``None`` when the project declares none
    (or only a file, or a free text that is not an expression)."""
    urls: Mapping[str, str] = field(default_factory=dict)
    """``[project.urls]`` (label -> URL); Poetry's ``homepage``/``repository``/``documentation``."""

    def url(self, *labels: str) -> str | None:
        """The first URL whose label is one of ``labels`` (compared as PEP 753 does:
        lowercase, without spaces, ``-``, ``_`` and ``.``)."""
        normal = {_label(key): value for key, value in self.urls.items()}
        for wanted in labels:
            if _label(wanted) in normal:
                return normal[_label(wanted)]
        return None


def _label(text: str) -> str:
    return "".join(c for c in text.lower() if c not in " -_.")


def read_about(project: Mapping[str, Any], poetry: Mapping[str, Any]) -> About:
    """The ``About`` of a ``[project]`` table, falling back to ``[tool.poetry]`` per field."""
    description = _text(project.get("description")) or _text(poetry.get("description"))
    license = _license(project.get("license")) if "license" in project else _license(poetry.get("license"))
    urls = {str(k): v for k, v in (project.get("urls") or {}).items() if _text(v)} if isinstance(project.get("urls"), dict) else {}
    if not urls:
        urls = {key.capitalize(): poetry[key] for key in ("homepage", "repository", "documentation") if _text(poetry.get(key))}
    return About(description=description, license=license, urls=urls)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _license(value: Any) -> str | None:
    """PEP 639's ``license = "MIT OR Apache-2.0"``; PEP 621's ``{text = "MIT"}`` when the text
    is an expression; ``{file = ...}`` and free text name no SPDX license: ``None``."""
    text = _text(value) or (_text(value.get("text")) if isinstance(value, dict) else None)
    if text is None or "\n" in text:
        return None
    # loaded here: SPDX's license list is ~3 ms to import, and most projects state no license
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        return str(canonicalize_license_expression(text))
    except InvalidLicenseExpression:
        return None
