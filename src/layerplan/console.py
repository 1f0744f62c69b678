"""Where output goes and how it looks: results on stdout, diagnostics on stderr.

Every front end (CLI, hatch, setuptools) makes its consoles here, so the rules are written
once:
- off a terminal (a CI log, a pipe) nothing wraps: a line is as long as its text, because a
  wrapped digest or reason cannot be grepped;
- ``NO_COLOR`` (any value) means no escape codes at all: rich's own ``no_color`` still
  emits bold and dim;
- ``FORCE_COLOR`` and ``TERM=dumb`` are honoured by rich itself;
- a warning is one line on stderr, whatever ``-q`` or ``--json`` say, since a warning
  hidden by ``-q`` is one CI never shows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

__all__ = ["diagnostics", "escape_controls", "is_plain", "plain_table", "plain_text", "print_table", "results", "warn", "warn_each"]

# Off a terminal rich wraps at 80 columns (or $COLUMNS); a width no line reaches turns that
# off for tables too, which soft_wrap alone does not.
_UNWRAPPED_WIDTH = 100_000


def results(file: IO[str] | None = None) -> Console:
    """The console for what a command prints as its result (stdout unless ``file``)."""
    return _console(file or sys.stdout)


def diagnostics() -> Console:
    """The console for warnings and progress (stderr)."""
    return _console(sys.stderr)


def print_table(console: Console, table: RenderableType) -> None:
    """Print a table; off a terminal without the padding rich puts after the last column
    (a log line should end where its text ends)."""
    if console.is_terminal:
        console.print(table)
        return
    with console.capture() as captured:
        console.print(table)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def warn(message: str, console: Console | None = None) -> None:
    """Print ``warning: MESSAGE`` as one line on stderr (yellow on a terminal)."""
    line = f"warning: {escape_controls(' '.join(message.split()))}"
    if console is None and _plain(sys.stderr):
        # the same line rich prints off a terminal, without loading rich (~20 ms) for it
        print(line, file=sys.stderr, flush=True)
        return
    from rich.text import Text

    (console or diagnostics()).print(Text(line, style="yellow"), soft_wrap=True)


def warn_each(messages: Iterable[str]) -> None:
    """``warn`` for each message (a report's or a plan's warnings)."""
    console = None
    for message in messages:
        if console is None and _plain(sys.stderr):
            warn(message)
            continue
        console = console or diagnostics()
        warn(message, console)


def escape_controls(text: str) -> str:
    """``text`` with each control or other unprintable character (an escape sequence in an
    output path, a tag, a registry's answer) as its Python escape: rich strips a few (BEL,
    CR) but not ESC, and a plain line strips none."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def is_plain(file: IO[str]) -> bool:
    """True when rich would print to ``file`` as to a log (no terminal, none forced): what
    it prints can then be written without loading rich (``plain_text``, ``plain_table``)."""
    return _plain(file)


def plain_text(text: str, *, markup: bool = True) -> str | None:
    """``text`` as rich prints it off a terminal (a ``Console.print`` of a string when
    ``markup``, else of a ``Text``), when that is ``text`` itself; ``None`` when rich would
    change it (markup, an emoji code, a tab, a control or non-ASCII character): the caller
    then lets rich print it. Loading rich costs ~20 ms of a 0.3 s no-change rebuild."""
    if not (text.isascii() and text.isprintable()):
        return None  # rich strips control codes, expands tabs and measures wide characters
    if markup and ("[" in text or (":" in text and not _no_emoji_code(text))):
        return None
    return text


def plain_table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]]) -> list[str] | None:
    """The lines ``print_table`` prints off a terminal for a rich ``Table(box=None,
    pad_edge=False, show_edge=False)`` of ``columns`` (header, ``left`` or ``right``) and
    ``rows`` of string cells; ``None`` when a cell is not ``plain_text`` or has space at
    either end (rich lays such a cell out otherwise)."""
    for row in rows:
        if any(plain_text(cell) is None or cell != cell.strip() for cell in row):
            return None
    if any(plain_text(header) is None or header != header.strip() for header, _ in columns):
        return None
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, (header, _) in enumerate(columns)]
    lines = []
    for row in ([header for header, _ in columns], *rows):
        cells = [
            cell.rjust(width) if justify == "right" else cell.ljust(width)
            for cell, width, (_, justify) in zip(row, widths, columns, strict=True)
        ]
        # one space of padding each side of a cell, none at the table's edges
        lines.append("  ".join(cells).rstrip())
    return lines


def _no_emoji_code(text: str) -> bool:
    """True when rich replaces no emoji code (``:smile:``) in ``text``: asked of rich's own
    function, which loads its table of codes (~2 ms) but not the console."""
    try:
        from rich._emoji_replace import _emoji_replace
    except ImportError:  # pragma: no cover - a rich that moved it: say no, rich prints the text
        return False
    return _emoji_replace(text) == text


def _plain(file: IO[str]) -> bool:
    """True when rich would print to ``file`` as to a log: no terminal, and none forced
    (rich's ``TTY_COMPATIBLE`` and ``FORCE_COLOR``, as its ``Console.is_terminal`` reads
    them), so a line can be written as it is."""
    if os.environ.get("TTY_COMPATIBLE") in ("0", "1") or os.environ.get("FORCE_COLOR") is not None:
        return os.environ.get("TTY_COMPATIBLE") == "0"
    try:
        return not file.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed: rich says "not a terminal" too
        return True


def _console(file: IO[str]) -> Console:
    from rich.console import Console

    color_system: Literal["auto"] | None = None if os.environ.get("NO_COLOR") else "auto"
    if Console(file=file).is_terminal:
        return Console(file=file, highlight=False, color_system=color_system)
    return Console(file=file, highlight=False, color_system=color_system, soft_wrap=True, width=_UNWRAPPED_WIDTH)
