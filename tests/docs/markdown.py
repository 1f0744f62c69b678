"""Just enough Markdown for the docs tests: sections, table rows, code spans, fenced blocks.

The docs pages are plain CommonMark written by hand (no HTML tables, no setext
headings), so a line-based reader is exact for them and has no dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Block", "Section", "code_spans", "fenced_blocks", "sections", "table_rows"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_COMMENT = re.compile(r"^\s*<!--\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Section:
    """A heading and the lines under it, up to the next heading of the same or a higher level."""

    title: str
    level: int
    line: int
    """1-based line number of the heading."""
    lines: tuple[tuple[int, str], ...]
    """(1-based line number, text) of every line of the section, fenced blocks included."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Block:
    """A fenced code block."""

    info: str
    """The info string's first word (``console``, ``toml``...; empty for a bare fence)."""
    line: int
    """1-based line number of the opening fence."""
    lines: tuple[tuple[int, str], ...]
    """(line number, text) of the block's content, without the indentation of its fence."""
    directive: str | None
    """The text of an HTML comment on the line right above the fence (``docs-test: ...``)."""


def _heading_lines(text: str) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every heading outside fenced blocks."""
    found, fence = [], None
    for index, line in enumerate(text.splitlines()):
        if (match := _FENCE.match(line)) is not None:
            marker = match.group(2)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is None and (heading := _HEADING.match(line)) is not None:
            found.append((index, len(heading.group(1)), heading.group(2)))
    return found


def sections(path: Path) -> list[Section]:
    """Every section of the page, in order (nested sections are inside their parents too)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    headings = _heading_lines("\n".join(lines))
    result = []
    for position, (index, level, title) in enumerate(headings):
        end = next((i for i, lv, _ in headings[position + 1 :] if lv <= level), len(lines))
        body = tuple((number + 1, lines[number]) for number in range(index + 1, end))
        result.append(Section(title=title, level=level, line=index + 1, lines=body))
    return result


def code_spans(text: str) -> list[str]:
    """The contents of every inline code span of ``text``."""
    return _CODE_SPAN.findall(text)


def table_rows(lines: tuple[tuple[int, str], ...]) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every body row of every table in ``lines`` (the header and
    separator rows left out). ``\\|`` inside a cell is a literal bar."""
    rows: list[tuple[int, list[str]]] = []
    in_body = False
    for number, line in lines:
        stripped = line.strip()
        if not (stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1):
            in_body = False
            continue
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", stripped[1:-1])]
        if all(re.fullmatch(r":?-+:?", cell) for cell in cells):
            in_body = True  # the separator: the rows after it are the body
        elif in_body:
            rows.append((number, cells))
    return rows


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced code block of the page, with the HTML comment just above it, if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, marker, info = match.group(1), match.group(2), match.group(3)
        start, body = index, []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(marker):
            text = lines[index]
            body.append((index + 1, text[len(indent) :] if text.startswith(indent) else text.lstrip()))
            index += 1
        comment = _COMMENT.match(lines[start - 1]) if start > 0 else None
        blocks.append(
            Block(info=info, line=start + 1, lines=tuple(body), directive=comment.group(1) if comment else None)
        )
        index += 1
    return blocks
