"""Runnable examples in the docs pages: how they are found, run and compared.

The convention (also told at the top of tests/docs/test_examples.py):

- A fenced block whose info string is ``console`` is an example the tests run. Every
  other block (bare, ``sh``, ``bash``, ``toml``...) is only text.
- In it, a line that starts with ``$ `` is a command, run by bash; a command line that
  ends with ``\\`` goes on on the next line. The lines after a command, up to the next
  ``$ `` line, are what it prints -- stdout and stderr together, as a terminal shows
  them.
- They are compared as doctest does with ELLIPSIS and NORMALIZE_WHITESPACE: ``...``
  stands for any text (part of a line, or on a line of its own any number of lines,
  none included), runs of spaces count as one, trailing spaces are ignored. A command
  followed by no lines must print nothing.
- Every command must exit 0, except one followed by the command ``echo $?``, whose
  output (the status) is then compared like any other.
- The commands of a block run in one shell, in order (a ``cd`` holds for the next), in
  a fresh copy of ``example-project/`` -- or of the directory an HTML comment right
  above the fence names: ``<!-- docs-test: project=tests/fixtures/monorepo -->``.
- ``$BASE`` is a base image (Debian 12 + Python 3.11) in ``$REGISTRY``, a registry
  reachable over plain HTTP: a block that uses either needs the test engine.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.docs.markdown import fenced_blocks

__all__ = ["Command", "Example", "collect", "matches", "script_for", "split_output"]

MARK = "@@layerplan-docs-example-status@@"
DEFAULT_PROJECT = "example-project"


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    line: int
    text: str
    expected: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Example:
    page: Path
    line: int
    commands: tuple[Command, ...]
    project: str
    """Directory (relative to the repository) copied to run the example in."""

    @property
    def test_id(self) -> str:
        return f"{self.page.name}:{self.line}"

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.commands)


def collect(pages: list[Path]) -> list[Example]:
    """Every ``console`` block of the pages, as examples."""
    examples = []
    for page in pages:
        for block in fenced_blocks(page):
            if block.info != "console":
                continue
            project = DEFAULT_PROJECT
            if block.directive and block.directive.startswith("docs-test:"):
                settings = dict(item.split("=", 1) for item in block.directive.removeprefix("docs-test:").split())
                project = settings.get("project", project)
            commands = _commands(block.lines)
            if commands:
                examples.append(Example(page=page, line=commands[0].line, commands=tuple(commands), project=project))
    return examples


def _commands(lines: tuple[tuple[int, str], ...]) -> list[Command]:
    commands: list[Command] = []
    current: tuple[int, list[str], list[str]] | None = None
    continued = False
    for number, text in lines:
        if continued and current is not None:
            current[1].append(text.removeprefix("> "))
            continued = text.endswith("\\")
        elif text.startswith("$ "):
            if current is not None:
                commands.append(Command(line=current[0], text="\n".join(current[1]), expected=tuple(current[2])))
            current = (number, [text[2:]], [])
            continued = text.endswith("\\")
        elif current is not None:
            current[2].append(text)
    if current is not None:
        commands.append(Command(line=current[0], text="\n".join(current[1]), expected=tuple(current[2])))
    return commands


def script_for(example: Example) -> str:
    """One bash script running every command, each followed by a line with its status."""
    lines = ["exec 2>&1", "set -o pipefail"]
    for command in example.commands:
        lines.append(command.text)
        lines.append(f'__status=$?; printf "\\n{MARK} %d\\n" "$__status"; ( exit "$__status" )')
    return "\n".join(lines) + "\n"


def split_output(output: str, count: int) -> list[tuple[str, int | None]]:
    """The output of each command, and its status (None: the script ended before it)."""
    results: list[tuple[str, int | None]] = []
    rest = output
    pattern = re.compile(rf"\n{re.escape(MARK)} (\d+)\n")
    for _ in range(count):
        match = pattern.search(rest)
        if match is None:
            results.append((rest, None))
            rest = ""
            continue
        results.append((rest[: match.start()], int(match.group(1))))
        rest = rest[match.end() :]
    return results


def _normal(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", line).rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def matches(expected: tuple[str, ...], actual: str) -> bool:
    """Whether ``actual`` is what the expected lines say (``...`` = any text)."""
    want = _normal("\n".join(expected))
    parts = []
    for line in want.splitlines(keepends=True):
        if line.strip() == "...":
            parts.append(r"(?:.*?\n)?")  # any number of whole lines, none included
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")))
    return re.fullmatch("".join(parts), _normal(actual), flags=re.DOTALL) is not None


def is_status_check(command: Command) -> bool:
    return shlex.split(command.text) == ["echo", "$?"]
