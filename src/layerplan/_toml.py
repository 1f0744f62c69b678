"""Read TOML and JSON files into plain data, turning syntax errors into located errors.

The one module that parses TOML. ``rtoml`` (Rust's ``toml`` crate) parses a big lockfile
several times faster than ``tomli`` (a 40 MB, 20,000-package uv.lock: 0.6 s against 1.8 s
for tomli's compiled wheel, 4 s for the standard ``tomllib``); ``tomli`` stays the
authority for everything rtoml does not accept: when rtoml refuses a text, tomli parses
it again and either returns its data (rtoml's nesting limit is lower, and it refuses
floats that overflow) or raises the error this module turns into a one-line message
with the line number. A text rtoml accepts and tomli would refuse is read as tomli
reads it (one with a byte-order mark goes straight to tomli); tests/test_toml.py checks
the two agree on every lockfile fixture and on fuzzed mutations of them.

``toml-rs``, faster again, reads first wherever the nesting is provably bounded
(``_toml_split``): a whole small text (a ``pyproject.toml``, a small lock) within the
bounds, a big lock (``load_toml(..., entries="package")``) a group of entries at a time;
it declines whatever it cannot read the same way, and rtoml, then tomli, decide. Each
parser's native module is imported when first needed (~10 ms each).

The standard parsers stop at the first error and do not keep positions of values, so
this module also offers ``line_of`` to point a later (semantic) error at a best-guess
line: the first line that mentions a given text.
"""

from __future__ import annotations

import functools
import gc
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from layerplan._toml_split import array_headers, loads_bounded, loads_split
from layerplan.errors import LayerplanError


@functools.cache
def _fast_loads() -> Callable[[str], dict[str, Any]] | None:
    """``rtoml.loads``, imported when a text needs it (its native module takes ~10 ms to
    load; a build whose TOML is all within ``toml-rs``'s bounds never pays it)."""
    try:
        from rtoml import loads
    except ImportError:  # pragma: no cover - a platform without an rtoml wheel: tomli alone, slower
        return None
    return loads

__all__ = [
    "TextLines",
    "array_header_lines",
    "bulk",
    "key_line",
    "line_of",
    "load_json",
    "load_lock_toml",
    "load_toml",
    "loads_toml",
    "read_text",
]

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_text(path: Path, error: type[LayerplanError]) -> str:
    """Return the UTF-8 text of ``path`` or raise ``error`` saying why it cannot be read."""
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            # A FIFO would block the read forever; a device or socket is no lockfile either.
            raise error("not a regular file (a FIFO, socket or device)", path=path)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error("file not found", path=path) from None
    except IsADirectoryError:
        raise error("is a directory, expected a file", path=path) from None
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text ({exc.reason})", path=path) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", path=path) from None


def load_toml(path: Path, error: type[LayerplanError], entries: str | None = None) -> tuple[dict[str, Any], str]:
    """Parse ``path`` as TOML; return the data and the text (for ``line_of``).

    ``entries`` names a lock's array of tables (``package``): a big lock is then parsed
    a few entries at a time by a faster parser where its nesting is provably bounded
    (``_toml_split``), with the same data and, for a text with an error, the same error.
    """
    text = read_text(path, error)
    if entries is not None:
        data = loads_split(text, entries, loads_toml)
        if data is not None:
            return data, text
    return _loads_located(path, text, error), text


def load_lock_toml(path: Path, error: type[LayerplanError], entries: str) -> tuple[dict[str, Any], str, list[int]]:
    """``load_toml(path, error, entries)`` and ``array_header_lines(text, entries)``, from
    one scan for the headers (a 40 MB lock is scanned once, not twice)."""
    text = read_text(path, error)
    starts, lines = array_headers(text, entries)
    data = loads_split(text, entries, loads_toml, starts)
    return (_loads_located(path, text, error) if data is None else data), text, lines


def _loads_located(path: Path, text: str, error: type[LayerplanError]) -> dict[str, Any]:
    """``loads_toml(text)``, its errors turned into ``error`` with the line."""
    try:
        return loads_toml(text)
    except RecursionError as exc:  # tomli's own limits (400 levels, 1000 key parts) raise this
        raise _too_deep(path, text, error, exc) from None
    except ValueError as exc:
        import tomli  # loaded by ``loads_toml`` when the text was refused: it is the one that raises

        if not isinstance(exc, tomli.TOMLDecodeError):
            raise
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = int(match.group(1)) if match else None
        reason = _TOML_POSITION.sub("", message).strip()
        raise error(f"invalid TOML: {reason}", path=path, line=line) from exc


def loads_toml(text: str) -> dict[str, Any]:
    """The data of a TOML text, as ``tomli.loads`` gives it (offset-aware datetimes may
    carry another ``tzinfo`` class with the same offset).

    Raises ``tomli.TOMLDecodeError`` (which has the line) or ``RecursionError``.
    """
    bounded = loads_bounded(text)  # toml-rs, where the nesting is provably bounded (_toml_split)
    if bounded is not None:
        return bounded
    fast_loads = _fast_loads()
    if fast_loads is not None and not text.startswith("\ufeff"):
        try:
            return fast_loads(text)
        except ValueError:  # rtoml.TomlParsingError
            pass  # tomli decides: it reads what rtoml refused, or says where the error is
    import tomli  # only then (and without rtoml): a valid pyproject.toml or lock never loads it

    return tomli.loads(text)


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while a reader (or the install-set step) builds
    many objects.

    Parsing and reading a big lock allocates a few million containers, none of them in a
    cycle; the collector scans the growing heap over and over meanwhile (a fifth of the
    time to read a 20,000-package lock). It runs again, as it was, when the block ends.
    Usable as a decorator: ``@bulk()``.

    What the block built (a ``Lock``, an install set) lives as long as the run: it goes
    straight to the oldest generation (``freeze`` then ``unfreeze`` moves every tracked
    object there without a scan). Otherwise the first allocation after the block starts
    a young collection that walks all of it (a million objects, 0.05-0.1 s), and the
    next ones walk it again on its way up. Garbage cycles that were young then are
    still freed, by the next full collection. A process that froze objects of its own
    (a host of the hatch or setuptools plugin) keeps them frozen: then this step is skipped.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def load_json(path: Path, error: type[LayerplanError]) -> tuple[Any, str]:
    """Parse ``path`` as JSON; return the data and the text (for ``line_of``)."""
    text = read_text(path, error)
    try:
        return json.loads(text), text
    except RecursionError as exc:  # json's parser recurses per array/object level
        raise _too_deep(path, text, error, exc) from None
    except json.JSONDecodeError as exc:
        raise error(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc


def _too_deep(path: Path, text: str, error: type[LayerplanError], exc: RecursionError) -> LayerplanError:
    """A parser gave up on nesting (no lock tool writes more than a few levels)."""
    reason = str(exc).partition(" while ")[0] if "allowed" in str(exc) else "too many levels of arrays or tables"
    return error(
        f"nested too deeply ({reason})",
        path=path,
        line=_deep_line(text),
        hint="the file is damaged or was not written by a lock tool; restore or regenerate it",
    )


def _deep_line(text: str, limit: int = 100) -> int | None:
    """The first line where brackets outside strings and comments nest ``limit`` deep, or
    where a key has ``limit`` dotted parts: a best guess at the culprit, for the message."""
    depth, line, quote, escaped, comment = 0, 1, "", False, False
    for char in text:
        if char == "\n":
            line, comment = line + 1, False
            continue
        if comment:
            continue
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth >= limit:
                return line
        elif char in "]}":
            depth = max(depth - 1, 0)
    for number, row in enumerate(text.splitlines(), start=1):
        if row.count(".") >= limit:
            return number
    return None


def line_of(text: str, needle: str, start_line: int = 1) -> int | None:
    """The 1-based number of the first line at or after ``start_line`` containing ``needle``
    (a one-off question; a reader asking once per entry keeps a ``TextLines``).

    From the top it is one ``str.find`` and a count of the newlines before, as the TOML
    parsers count lines (a big lock is not split into lines for a question about its head).
    """
    if start_line <= 1 and "\n" not in needle:
        position = text.find(needle)
        return None if position < 0 else text.count("\n", 0, position) + 1
    return TextLines(text).find(needle, start_line)


class TextLines:
    """A text split into lines once. Readers ask for a line per entry: splitting a big lock
    per question made reading it quadratic (16,000 poetry entries: 96 s)."""

    __slots__ = ("lines",)

    def __init__(self, text: str) -> None:
        self.lines: tuple[str, ...] = tuple(text.splitlines())

    def find(self, needle: str, start_line: int = 1) -> int | None:
        """The 1-based number of the first line at or after ``start_line`` containing ``needle``."""
        lines = self.lines
        for index in range(max(start_line, 1) - 1, len(lines)):
            if needle in lines[index]:
                return index + 1
        return None


def key_line(text: str, table: str, key: str) -> int | None:
    """The 1-based line of ``key = ...`` in ``[table]`` (dotted keys and inline forms
    elsewhere fall back to the first line that mentions the key)."""
    lines = TextLines(text)
    start = lines.find(f"[{table}]")
    if start is not None:
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, line in enumerate(lines.lines[start:], start=start + 1):
            if line.lstrip().startswith("["):
                break
            if pattern.match(line):
                return number
    return lines.find(key)


def array_header_lines(text: str, name: str) -> list[int]:
    """1-based lines of every ``[[name]]`` header (at the start of a line), in file order."""
    return array_headers(text, name)[1]
