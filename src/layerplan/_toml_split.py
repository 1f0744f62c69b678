"""Parse a big lock a few packages at a time with ``toml-rs``, where that is provably safe.

``toml-rs`` parses a 40 MB, 20,000-package lock in about 0.35-0.45 s against rtoml's
0.55-0.7 s, and agrees with tomli on every fixture and fuzzed mutation
(tests/test_toml_split.py). But it has no nesting limit: ``x = [[[...]]]`` some 5,000
levels deep (fewer in a thread with a small stack: about 1.5 kB of native stack per
level) overflows the stack and kills the process. A lock is untrusted input, so this
module gives it only texts whose nesting is bounded *before* it parses them:

* The text is cut at every line that starts with ``[[name]]``, after spaces or tabs
  (``[[package]]`` for uv.lock, Poetry and pdm, ``[[packages]]`` for pylock.toml: the
  only way lock tools write their entries). Consecutive entries are grouped so that a group holds at most
  ``MAX_BRACKETS`` ``[``/``{`` characters and ``MAX_DOTS`` dots.
* Each nesting level of a parsed value needs an opening bracket of its own, and each
  part of a dotted key or table header a dot. Counting every such character of a group,
  in strings and comments too, bounds the depth its parse can reach, whatever the
  parser makes of the text (even one that recovers from errors): no tokenizing, so no
  way for a crafted string to hide a bracket. 256 levels need under 0.4 MB of stack.
  A group above the bounds alone (one package with hundreds of wheels) goes to
  the whole-text parser ``loads_toml`` (rtoml, capped at about 80 levels, then tomli).
* Each group is parsed on its own. If every group parses, every cut lies outside any
  string, array or inline table of the whole text: a fresh parse of a group sees the
  same tokens as the whole-text parse from the cut on, so a cut inside an open string
  or bracket leaves that group unterminated, which is an error. The whole text is then
  the head's tables plus each group's ``[[name]]`` entries, in order, plus any other
  top-level table a group defines; a top-level key defined twice (which TOML may allow
  through implicit tables, or refuse) or a head that defines ``name`` itself is left to
  the whole-text parse.

Anything else (no ``[[name]]`` line, a byte-order mark, any parse error, ``toml-rs`` not
installed) answers ``None`` and the caller parses the whole text as before, so errors
are worded (with their line) exactly as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_BRACKETS", "MAX_DOTS", "array_headers", "loads_bounded", "loads_split"]


@functools.cache
def _rs_loads() -> Callable[[str], dict[str, Any]] | None:
    """``toml_rs.loads``, imported when a lock is first parsed (its native module takes
    ~10 ms to load: a rebuild that reads no lock never pays it); ``None`` without it."""
    try:
        from toml_rs import loads
    except ImportError:  # pragma: no cover - Python 3.10 or a platform without a wheel: rtoml, as before
        return None
    return loads


MAX_BRACKETS = 256
"""Most ``[`` and ``{`` characters in one ``toml-rs`` parse: its nesting bound."""
MAX_DOTS = 999
"""Most dots in one ``toml-rs`` parse: a key's parts stay within tomli's 1,000."""


def loads_split(
    text: str, name: str, capped: Callable[[str], dict[str, Any]], starts: list[int] | None = None
) -> dict[str, Any] | None:
    """The data of TOML ``text`` (as ``capped``, the whole-text parser, gives it), parsed
    a group of ``[[name]]`` entries at a time; ``None`` when this path declines (see the
    module). A group above the bounds is parsed by ``capped``. ``starts``: the headers'
    line starts, when the caller has them (``array_headers``)."""
    if _rs_loads() is None or text.startswith("\ufeff"):
        return None
    cuts = list(array_headers(text, name)[0] if starts is None else starts)
    if not cuts:
        return None
    cuts.append(len(text))
    try:
        head = text[: cuts[0]]
        data = _parse(head, capped, _within(text, 0, cuts[0]))
        if name in data:
            return None
        entries: list[Any] = []
        extra: dict[str, Any] = {}
        for begin, end, within in _groups(text, cuts):
            if not _add(_parse(text[begin:end], capped, within), name, entries, data, extra):
                return None
    except Exception:  # noqa: BLE001 - any parse error, of either parser: the whole text decides
        return None
    data[name] = entries
    data.update(extra)
    return data


def loads_bounded(text: str) -> dict[str, Any] | None:
    """The data of a whole TOML ``text`` by ``toml-rs`` when the text is within the bounds
    (a ``pyproject.toml``, a small lock: the same argument as a group's); ``None`` when it
    is not, on any parse error, or without ``toml-rs``: the caller parses as before."""
    rs_loads = _rs_loads()
    if rs_loads is None or text.startswith("\ufeff") or not _within(text, 0, len(text)):
        return None
    try:
        return rs_loads(text)
    except Exception:  # noqa: BLE001 - any parse error: the whole-text parsers decide, and word it
        return None


def _groups(text: str, cuts: list[int]) -> list[tuple[int, int, bool]]:
    """``(begin, end, within the bounds)`` of consecutive groups of entries (``cuts[i]`` to
    ``cuts[i + 1]`` is one entry); an entry above the bounds is a group of its own.

    Each entry is counted once (counting spans of several and halving them on a miss
    scanned the text twice as often)."""
    count = text.count
    groups: list[tuple[int, int, bool]] = []
    start, brackets, dots = cuts[0], 0, 0
    for begin, end in zip(cuts, cuts[1:]):
        more_brackets = count("[", begin, end) + count("{", begin, end)
        more_dots = count(".", begin, end)
        if begin > start and (brackets + more_brackets > MAX_BRACKETS or dots + more_dots > MAX_DOTS):
            groups.append((start, begin, brackets <= MAX_BRACKETS and dots <= MAX_DOTS))
            start, brackets, dots = begin, 0, 0
        brackets += more_brackets
        dots += more_dots
    groups.append((start, cuts[-1], brackets <= MAX_BRACKETS and dots <= MAX_DOTS))
    return groups


def _within(text: str, begin: int, end: int) -> bool:
    """``text[begin:end]`` holds at most ``MAX_BRACKETS`` ``[``/``{`` and ``MAX_DOTS`` dots."""
    count = text.count
    return count("[", begin, end) + count("{", begin, end) <= MAX_BRACKETS and count(".", begin, end) <= MAX_DOTS


def _parse(piece: str, capped: Callable[[str], dict[str, Any]], within: bool) -> dict[str, Any]:
    """One group: ``toml-rs`` when its counts are within the bounds, else ``capped``
    (``loads_toml``: rtoml, capped at about 80 levels, then tomli, capped at 400)."""
    rs_loads = _rs_loads()
    if within and rs_loads is not None:
        return rs_loads(piece)
    return capped(piece)


def _add(piece: dict[str, Any], name: str, entries: list[Any], head: dict[str, Any], extra: dict[str, Any]) -> bool:
    """Append a group's entries; False when its other tables clash with earlier ones."""
    tables = piece.pop(name, None)
    if type(tables) is not list:
        return False
    entries.extend(tables)
    for key, value in piece.items():
        if key in head or key in extra:
            return False
        extra[key] = value
    return True


def array_headers(text: str, name: str) -> tuple[list[int], list[int]]:
    """Where each ``[[name]]`` header that starts its line (after spaces or tabs) is:
    the offsets of those lines' starts and their 1-based numbers, in file order.

    One pass with ``str.find``/``str.count``, which run in C: a line loop or a multiline
    regex costs several times more on a lockfile of a few megabytes.
    """
    needle = f"[[{name}]]"
    starts: list[int] = []
    lines: list[int] = []
    line, counted = 1, 0
    find, count = text.find, text.count
    position = find(needle)
    while position != -1:
        start = position
        if position and text[position - 1] != "\n":  # not at column 0 (what tools write)
            start = text.rfind("\n", 0, position) + 1
            if text[start:position].strip(" \t"):
                start = -1
        if start >= 0:
            line += count("\n", counted, position)
            counted = position
            starts.append(start)
            lines.append(line)
        position = find(needle, position + len(needle))
    return starts, lines
