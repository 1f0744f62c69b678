"""docs/cli.md (and the front ends' pages) list every flag, transport and exit code the
code has, and nothing the code no longer has (issue 12).

The lists are read from the code -- the argparse parser, the transports' table, the
exit codes in ``layerplan.cli``, the setuptools command, the hatch target's keys -- so a
new flag without a line in the docs fails here, naming the flag and the page.

How docs/cli.md is read:
- a flag is documented by a **table row** whose first cell holds it in a code span
  (``| `-o`, `--output SPEC` | meaning (default ...) |``), every spelling of it (``-o``
  and ``--output``), with a meaning in the next cell; a flag with a default other than
  none/off/empty names that default in its row;
- the row is in the command's section (heading ``## `layerplan build` ``; ``cache info``
  may use ``## `layerplan cache` ``), or in a shared section whose heading names the
  commands it is for in code spans (``## Target and lock options (`plan`, `build`...)``);
  ``layerplan``'s own flags are in ``## Global options``;
- rows there must be flags those commands have (a removed flag fails too).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.markdown import Section, code_spans, sections, table_rows
from tests.docs.reference import Flag, cli_exit_codes, command_parsers, flags_of, setuptools_options

DOCS = Path(__file__).resolve().parents[2] / "docs"
CLI_MD = DOCS / "cli.md"
_FLAG = re.compile(r"^--?[A-Za-z][\w-]*$")
PARSERS = command_parsers()


def _leaf_commands() -> list[str]:
    """Commands that run something (``cache`` alone only chooses ``info`` or ``prune``)."""
    import argparse

    return [
        path
        for path, parser in PARSERS.items()
        if not any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)
    ]


def _flags_in(section: Section) -> dict[str, tuple[int, str]]:
    """flag spelling -> (line, whole row text) for every table row of the section that
    names flags in code spans in its first cell."""
    found: dict[str, tuple[int, str]] = {}
    for number, cells in table_rows(section.lines):
        for span in code_spans(cells[0]):
            for word in span.replace(",", " ").split():
                if _FLAG.match(word):
                    found.setdefault(word, (number, " | ".join(cells)))
    return found


def _command_section(command: str, all_sections: list[Section]) -> Section | None:
    """The section ``## `layerplan COMMAND` ``, or the nearest parent command's (``cache``)."""
    words = command.split()
    while words:
        title = f"`layerplan {' '.join(words)}`"
        for section in all_sections:
            if section.title.startswith(title) and section.level >= 2:
                return section
        words.pop()
    return None


def _shared_sections(all_sections: list[Section]) -> list[tuple[Section, set[str]]]:
    """Sections for several commands: their heading names the commands in code spans."""
    leaves = set(_leaf_commands())
    shared = []
    for section in all_sections:
        names = set(code_spans(section.title))
        if names and names <= leaves and "options" in section.title.lower():
            shared.append((section, names))
    return shared


def _documented(command: str) -> dict[str, tuple[int, str]]:
    """Every flag spelling documented for ``command``, with its row (own section first)."""
    all_sections = sections(CLI_MD)
    found: dict[str, tuple[int, str]] = {}
    if command == "":
        for section in all_sections:
            if section.title == "Global options":
                found.update(_flags_in(section))
        return found
    own = _command_section(command, all_sections)
    if own is not None:
        found.update(_flags_in(own))
    for section, names in _shared_sections(all_sections):
        if command in names:
            for flag, row in _flags_in(section).items():
                found.setdefault(flag, row)
    return found


def _cases() -> list[Flag]:
    return [flag for command in ["", *_leaf_commands()] for flag in flags_of(command, PARSERS[command])]


@pytest.mark.parametrize("flag", _cases(), ids=lambda f: f"{f.command or 'layerplan'}:{'/'.join(f.spellings)}")
def test_every_flag_is_in_cli_md_with_its_meaning_and_default(flag: Flag) -> None:
    documented = _documented(flag.command)
    where = f"`layerplan {flag.command}`" if flag.command else "Global options"
    missing = [spelling for spelling in flag.spellings if spelling not in documented]
    assert not missing, (
        f"docs/cli.md does not document {', '.join(missing)} of `layerplan {flag.command}`: add a table row "
        f"(first cell `{flag.spellings[-1]} ...`, then its meaning and default) to the section {where} "
        "or to a shared options section whose heading names the command"
    )
    line, row = documented[flag.spellings[0]]
    cells = row.split(" | ")
    assert len(cells) > 1 and cells[1].strip(), f"docs/cli.md:{line}: {flag.spellings[0]} has no meaning"
    if flag.default not in (None, False, [], "==SUPPRESS==") and not isinstance(flag.default, Path):
        assert re.search(rf"(?<![\w.-]){re.escape(str(flag.default))}(?![\w-])", row), (
            f"docs/cli.md:{line}: the row of {flag.spellings[0]} does not say its default {flag.default!r}"
        )


def test_cli_md_documents_no_flag_the_parser_lacks() -> None:
    all_sections = sections(CLI_MD)
    stale = []
    for command in _leaf_commands():
        own = _command_section(command, all_sections)
        if own is None:
            continue
        # a parent section (`cache`) may document any of its commands' flags
        prefix = own.title.strip("`").removeprefix("layerplan").split("`")[0].strip()
        real = {s for c in _leaf_commands() if c.startswith(prefix) for f in flags_of(c, PARSERS[c]) for s in f.spellings}
        stale += [f"docs/cli.md:{line}: {flag} (section {own.title})" for flag, (line, _) in _flags_in(own).items()
                  if flag not in real]
    for section, names in _shared_sections(all_sections):
        for flag, (line, _) in _flags_in(section).items():
            lacking = sorted(n for n in names if flag not in {s for f in flags_of(n, PARSERS[n]) for s in f.spellings})
            if lacking:
                stale.append(f"docs/cli.md:{line}: {flag} is listed for {', '.join(lacking)}, which have no such flag")
    for section in all_sections:
        if section.title == "Global options":
            real = {s for f in flags_of("", PARSERS[""]) for s in f.spellings} | {"-h", "--help"}
            stale += [f"docs/cli.md:{line}: {flag} (Global options)" for flag, (line, _) in _flags_in(section).items()
                      if flag not in real]
    assert not stale, "docs/cli.md documents flags the CLI does not have:\n" + "\n".join(sorted(set(stale)))


def test_every_command_has_a_section() -> None:
    all_sections = sections(CLI_MD)
    missing = [c for c in _leaf_commands() if c and _command_section(c, all_sections) is None]
    assert not missing, f"docs/cli.md has no section `layerplan COMMAND` for: {', '.join(missing)}"


def _section(path: Path, title: str) -> Section:
    found = [s for s in sections(path) if s.title == title]
    assert found, f"{path.name} has no section {title!r}"
    return found[0]


def test_every_exit_code_is_in_the_table() -> None:
    rows = table_rows(_section(CLI_MD, "Exit codes").lines)
    documented = {int(cells[0].strip("` ")): (number, cells) for number, cells in rows if cells[0].strip("` ").isdigit()}
    in_code = cli_exit_codes()
    assert in_code >= {0, 2, 130}, f"the exit codes were not found in layerplan.cli: {sorted(in_code)}"
    missing = sorted(in_code - documented.keys())
    assert not missing, f"docs/cli.md (Exit codes) lacks the exit code(s) {missing} that layerplan.cli returns"
    # 1 is Python's for an exception nobody caught: documented as a bug, not returned on purpose
    stale = sorted(documented.keys() - in_code - {1})
    assert not stale, f"docs/cli.md (Exit codes) lists {stale}, which layerplan.cli never returns"
    assert all(cells[1] for _, cells in documented.values())


def test_every_transport_and_old_spelling_is_in_the_table() -> None:
    from layerplan.transports.kinds import KINDS, OLD_SPELLINGS

    rows = table_rows(_section(CLI_MD, "Transport names").lines)
    first = [span for _, cells in rows for span in code_spans(cells[0])]
    old = [span for _, cells in rows for span in code_spans(cells[-1])]
    prefixes = {p for kind in KINDS for p in (*kind.source_prefixes, kind.sink_prefix) if p}
    missing = sorted(p for p in prefixes if not any(span.startswith(p) for span in first))
    assert not missing, f"docs/cli.md (Transport names) has no row for {missing}"
    missing_old = sorted(p for p in OLD_SPELLINGS if not any(span.startswith(p) for span in old))
    assert not missing_old, f"docs/cli.md (Transport names) does not give the old spelling(s) {missing_old}"
    stale = [span for span in first if (m := re.match(r"^[a-z-]+:(//)?", span)) and m.group(0) not in prefixes]
    assert not stale, f"docs/cli.md (Transport names) names transports the code lacks: {stale}"
    stale_old = [span for span in old if (m := re.match(r"^[a-z-]+:(//)?", span)) and m.group(0) not in
                 {*OLD_SPELLINGS, "docker://"}]
    assert not stale_old, f"docs/cli.md (Transport names) gives old spellings the code does not read: {stale_old}"


def test_setuptools_md_lists_every_build_image_option() -> None:
    rows = table_rows(_section(DOCS / "setuptools.md", "Options").lines)
    documented = {word for _, cells in rows for span in code_spans(cells[0]) for word in span.replace(",", " ").split()
                  if _FLAG.match(word)}
    real = setuptools_options()
    missing = [s for option in real for s in option if s not in documented]
    assert not missing, f"docs/setuptools.md (Options) lacks build_image option(s) {missing}"
    stale = sorted(documented - {s for option in real for s in option})
    assert not stale, f"docs/setuptools.md (Options) lists option(s) build_image lacks: {stale}"


def _keys_in_table(path: Path, title: str) -> set[str]:
    return {code_spans(cells[0])[0] for _, cells in table_rows(_section(path, title).lines) if code_spans(cells[0])}


def test_configuration_md_lists_every_tool_layerplan_option() -> None:
    from layerplan.plan.config import OPTION_KEYS

    documented = _keys_in_table(DOCS / "configuration.md", "Configuration: `[tool.layerplan]`")
    assert not OPTION_KEYS - documented, f"docs/configuration.md lacks option(s) {sorted(OPTION_KEYS - documented)}"
    assert not documented - OPTION_KEYS, f"docs/configuration.md lists unknown option(s) {sorted(documented - OPTION_KEYS)}"


def test_hatch_md_lists_the_image_target_options_and_the_shared_ones() -> None:
    from hatch_layers.config import PLUGIN_KEYS

    from layerplan.plan.config import OPTION_KEYS
    from layerplan.resolution.options import HATCH_GENERIC_KEYS

    hatch_md = DOCS / "hatch.md"
    own = _keys_in_table(hatch_md, "Options of the image target")
    # `base` and `outputs` are [tool.layerplan] options the table explains for hatch too
    assert PLUGIN_KEYS <= own <= PLUGIN_KEYS | OPTION_KEYS, (
        f"docs/hatch.md (Options of the image target): missing {sorted(PLUGIN_KEYS - own)}, "
        f"unknown {sorted(own - PLUGIN_KEYS - OPTION_KEYS)}"
    )
    shared = {
        span for span in code_spans(" ".join(text for _, text in _section(hatch_md, "`[tool.layerplan]` options, here or there").lines))
        if re.fullmatch(r"[a-z][a-z-]*", span)
    }
    assert OPTION_KEYS <= shared, f"docs/hatch.md does not list [tool.layerplan] option(s) {sorted(OPTION_KEYS - shared)}"
    assert shared <= OPTION_KEYS, f"docs/hatch.md lists unknown [tool.layerplan] option(s) {sorted(shared - OPTION_KEYS)}"
    generic = set(code_spans(" ".join(text for _, text in _section(hatch_md, "hatchling's own target options").lines)))
    assert HATCH_GENERIC_KEYS <= generic, (
        f"docs/hatch.md does not list hatchling's generic key(s) {sorted(HATCH_GENERIC_KEYS - generic)}"
    )


def _command_lines() -> list[tuple[str, list[str]]]:
    """(where, argv) of every ``layerplan`` command in the code blocks of the pages and in
    the ``examples:`` of every ``--help`` (run or not: a plain block must not drift either)."""
    import shlex

    from tests.docs.markdown import fenced_blocks

    found: list[tuple[str, str]] = []
    for command, parser in PARSERS.items():
        for line in (parser.epilog or "").splitlines():
            if line.strip().startswith("layerplan "):
                found.append((f"`layerplan {command} --help`", line.strip()))
    for page in [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]:
        for block in fenced_blocks(page):
            if block.info not in ("", "sh", "bash", "shell"):  # console blocks are run instead
                continue
            pending = ""
            for number, text in block.lines:
                text = pending + text.removeprefix("$ ")
                if text.endswith("\\"):
                    pending = text[:-1] + " "
                    continue
                pending = ""
                if text.startswith("layerplan ") and (block.info or "$ " in dict(block.lines)[number][:2]):
                    found.append((f"{page.name}:{number}", text))
    commands = []
    for where, text in found:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in ("|", "&&", "||", ";", ">", "2>", "<") or set(token) <= set("|&;<>"):
                if words and words[0] == "layerplan":
                    commands.append((where, words[1:]))
                words = [] if token != ">" else ["(redirect)"]
            else:
                words.append(token)
    return commands


@pytest.mark.parametrize("where,argv", _command_lines(), ids=[f"{w}:{' '.join(a)[:40]}" for w, a in _command_lines()])
def test_every_documented_command_line_parses(where: str, argv: list[str]) -> None:
    """Every ``layerplan ...`` in the docs' code blocks and in the ``--help`` examples uses
    commands and flags the parser has (synopsis blocks, with ``[OPTION]``, are left out)."""
    if any(word.startswith("[") or word.endswith("...") for word in argv):
        pytest.skip("a synopsis, not a command")
    from layerplan.cli.parser import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0, f"{where}: `layerplan {' '.join(argv)}` is not a valid command line (exit {exc.code})"


def test_setuptools_help_names_the_command_and_its_documented_options() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "build_image", "--help"],
        cwd=DOCS.parent / "tests" / "fixtures" / "setuptools-app", capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Options for 'build_image' command:" in result.stdout
    for option in setuptools_options():
        assert option[0] in result.stdout
