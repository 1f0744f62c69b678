"""What the code says the interfaces are: every command and flag of the argparse parser,
every exit code the CLI returns, the setuptools command's options -- read from the code,
so the docs tests compare the pages with the real thing, never with a copied list."""

from __future__ import annotations

import argparse
import ast
from dataclasses import dataclass
from pathlib import Path

from layerplan.cli.parser import build_parser

__all__ = ["Flag", "cli_exit_codes", "command_parsers", "flags_of", "setuptools_options"]

SRC = Path(__file__).resolve().parents[2] / "src" / "layerplan"


@dataclass(frozen=True, kw_only=True, slots=True)
class Flag:
    """One option of one command: all its spellings (``-o``, ``--output``) and its default."""

    command: str
    """The command path, ``plan`` or ``cache prune``; empty for ``layerplan`` itself."""
    spellings: tuple[str, ...]
    default: object


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every parser of the CLI by command path: ``""`` (``layerplan``), ``plan``, ...,
    ``cache``, ``cache info``, ``cache prune``."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        found[path] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}".strip())

    walk(build_parser(), "")
    return found


def flags_of(command: str, parser: argparse.ArgumentParser) -> list[Flag]:
    """The options of one command, ``-h/--help`` left out (every parser has it)."""
    return [
        Flag(command=command, spellings=tuple(action.option_strings), default=action.default)
        for action in parser._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    ]


def cli_exit_codes() -> set[int]:
    """Every exit code the ``layerplan`` command returns on purpose, found in the code of
    ``layerplan.cli``: ``EXIT_*`` constants, integers returned by functions, and the codes
    given to ``exit()`` / ``sys.exit()`` calls."""
    codes: set[int] = set()
    for module in sorted((SRC / "cli").glob("*.py")) + [SRC / "__main__.py"]:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, int)
            for target in node.targets
            if isinstance(target, ast.Name) and target.id.startswith("EXIT_")
        }
        codes.update(constants.values())
        for node in ast.walk(tree):
            value: ast.expr | None = None
            if isinstance(node, ast.Return):
                value = node.value
            elif isinstance(node, ast.Call) and node.args and _is_exit(node.func):
                value = node.args[0]
            if isinstance(value, ast.Constant) and type(value.value) is int:
                codes.add(value.value)
            elif isinstance(value, ast.Name) and value.id in constants:
                codes.add(constants[value.id])
    return codes


def _is_exit(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "exit") or (isinstance(func, ast.Name) and func.id == "exit")


def setuptools_options() -> list[tuple[str, ...]]:
    """``python setup.py build_image``'s options as distutils spells them on the command
    line: ``("--base",)``, ``("--output", "-o")``..."""
    from layerplan.setuptools_cmd import BuildImage

    options = []
    for long, short, _ in BuildImage.user_options:
        spellings = ["--" + long.rstrip("=")]
        if short:
            spellings.append("-" + short)
        options.append(tuple(spellings))
    return options
