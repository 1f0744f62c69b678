"""Poetry's version-constraint syntax, turned into PEP 440 specifier sets.

poetry.lock writes most constraints in PEP 440 form (they come from the packages'
metadata), but ``python-versions`` and the dependencies of path/git packages can use
Poetry's own syntax: ``^1.2``, ``~1.2``, ``1.2.*``, bare versions, space-separated
conjunctions and ``||`` unions. A union has no single ``SpecifierSet``, so the result is
a tuple of alternatives: a version matches when any alternative contains it.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["poetry_constraint"]

_CLAUSE = re.compile(r"(\^|~=|~|===|==|=|!=|<=|>=|<|>)?\s*([^\s,<>=!~^]+)")


def poetry_constraint(constraint: str) -> tuple[SpecifierSet, ...] | None:
    """The alternatives ``constraint`` allows; ``None`` when it is not understood.

    ``*`` (or empty) gives one empty set, which contains every version.
    """
    alternatives = []
    for part in re.split(r"\s*\|\|?\s*", constraint.strip()):
        if part in ("", "*"):
            alternatives.append(SpecifierSet())
            continue
        clauses: list[str] = []
        position = 0
        while position < len(part):
            match = _CLAUSE.match(part, position)
            if match is None:
                return None
            converted = _clause(match.group(1) or "", match.group(2))
            if converted is None:
                return None
            clauses.extend(converted)
            position = match.end()
            separator = re.match(r"\s*,?\s*", part[position:])
            position += separator.end() if separator else 0
        try:
            alternatives.append(SpecifierSet(",".join(clauses)))
        except InvalidSpecifier:
            return None
    return tuple(alternatives)


def _clause(operator: str, version: str) -> list[str] | None:
    if version == "*":
        return []
    if operator in ("^", "~"):
        try:
            release = Version(version).release
        except InvalidVersion:
            return None
        return [f">={version}", f"<{_upper(operator, release)}"]
    if operator in ("", "="):
        operator = "=="
    return [f"{operator}{version}"]


def _upper(operator: str, release: tuple[int, ...]) -> str:
    """The exclusive upper bound of ``^x.y.z`` (first non-zero part) or ``~x.y.z`` (minor)."""
    if operator == "~":
        keep = 1 if len(release) == 1 else 2
    else:
        keep = next((i + 1 for i, part in enumerate(release) if part != 0), len(release))
        keep = min(keep, len(release))
    bumped = list(release[:keep])
    bumped[-1] += 1
    return ".".join(str(part) for part in bumped)
