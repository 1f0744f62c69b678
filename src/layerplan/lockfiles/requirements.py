"""Reader for pip requirement files used as locks (``requirements.txt`` with hashes).

**Flat.** A requirements file lists every package to install, each pinned with ``==``,
its allowed ``--hash`` values and an environment marker; no edges, no groups. It is
read with ``Lock.graph = False``: a package is installed when its marker holds. Extras
written on a line (``requests[socks]==2.34.2``) are informational: in a hash-pinned
file whatever an extra pulls in is listed on its own line.

Written by ``uv pip compile --generate-hashes``, ``uv export``, ``pip-compile
--generate-hashes`` or ``pipenv requirements --hash``. Understood: backslash
continuations, comments (``#`` at the start or after whitespace, so ``#egg=`` and
``#sha256=`` in URLs stay), ``-r``/``--requirement`` includes (relative to the including
file; cycles are an error), ``-c`` constraints (not read: a constraint installs
nothing), ``-i``/``--index-url`` and ``--extra-index-url`` (``Lock.indexes``, pip's
order: the index first, PyPI when only extra indexes are given), ``--find-links``,
``--no-index``, ``--trusted-host``, ``--pre`` and other install options (accepted,
ignored), direct references (``name @ URL``, bare archive URLs and paths, ``-e PATH``,
``-e git+URL#egg=name``).

Pins are checked the way ``pip install --require-hashes`` checks them: a requirement
without an ``==`` pin or without ``--hash`` is an error, except a direct reference (the
URL or path is the pin). pip only checks requirements whose marker matches, so a line
*with* a marker that lacks a pin or hashes (pipenv writes ``colorama; sys_platform ==
'win32'`` when it locked elsewhere) is kept with ``version = None`` / no hashes and is an
error only when a target selects it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier
from packaging.utils import NormalizedName

from layerplan._toml import bulk, read_text
from layerplan.errors import LockfileError
from layerplan.hookspecs import hookimpl
from layerplan.lockfiles._common import Entries, first_line
from layerplan.lockfiles._requirement_refs import DirectReference, direct_reference, locked_direct
from layerplan.lockfiles.format import LockFormat, builtin_format
from layerplan.lockfiles.model import Lock, LockedPackage, Source

__all__ = ["PYPI_SIMPLE", "layerplan_lock_formats", "read_requirements"]

PYPI_SIMPLE = "https://pypi.org/simple"
_REGENERATE = "regenerate it with `uv pip compile --generate-hashes` or `pip-compile --generate-hashes`"
# Requirements themselves are parsed by packaging's ``Requirement``; only pip's file
# syntax (continuations, comments, options) is written by hand here, following pip's
# req_file.py. pip's own comment rule (``COMMENT_RE``):
_COMMENT = re.compile(r"(^|\s+)#.*$")
_OPTIONS_WITH_VALUE = {
    "-r": "requirement", "--requirement": "requirement",
    "-c": "constraint", "--constraint": "constraint",
    "-e": "editable", "--editable": "editable",
    "-i": "index-url", "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
    "-f": "ignored", "--find-links": "ignored",
    "--trusted-host": "ignored", "--only-binary": "ignored", "--no-binary": "ignored",
    "--use-feature": "ignored", "--progress-bar": "ignored",
}  # fmt: skip
_SIMPLE_PIN = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==([A-Za-z0-9._+!-]+)")
"""A PEP 508 name, ``==`` and a version without wildcards: the common line, read without
``Requirement`` (the version is still checked by packaging's ``Specifier``)."""
_REGISTRY = Source(kind="registry")
_FLAGS = frozenset({"--no-index", "--pre", "--prefer-binary", "--require-hashes"})
_MAX_INCLUDE_DEPTH = 50
"""``-r`` chains deeper than this are refused (pip has no limit, but recursion does)."""
# Options pip allows after a requirement on the same line.
_PER_REQUIREMENT = {"--hash": "hash", "--config-settings": "ignored", "-C": "ignored", "--global-option": "ignored"}


@hookimpl
def layerplan_lock_formats() -> list[LockFormat]:
    """requirements.txt / requirements.lock; any ``*.txt`` when named with ``--lock``."""
    return [builtin_format("requirements", read_requirements)]


@bulk()
def read_requirements(path: Path) -> Lock:
    """Read a pip requirements file (and the files it includes) into a flat ``Lock``.

    Raises ``LockfileError`` naming the file and the (first physical) line of a bad
    requirement or option, an include that is missing or cyclic, or a requirement that
    is neither pinned with hashes nor a direct reference.
    """
    state = _State(top=path.parent)
    _read_file(path, state, stack=())
    indexes = list(state.extra_indexes)
    if state.index_url is not None:
        indexes.insert(0, state.index_url)
    elif indexes:
        indexes.insert(0, PYPI_SIMPLE)  # pip keeps PyPI as the index beside extra ones
    packages = tuple(state.packages.values())
    # ``-e .`` (uv export writes it for a packaged project) is the project itself.
    root = next((p for p in packages if p.source.kind in ("directory", "editable") and p.source.path == "."), None)
    return Lock(
        path=path,
        format="requirements",
        packages=packages,
        graph=False,
        root_package=root.name if root is not None else None,
        indexes=tuple(dict.fromkeys(indexes)),
    )


@dataclass
class _State:
    """What the files read so far have said; includes add to it."""

    top: Path
    """The directory of the file named by the user: local paths are made relative to it."""
    packages: dict[tuple[NormalizedName, str], LockedPackage] = field(default_factory=dict)
    index_url: str | None = None
    extra_indexes: list[str] = field(default_factory=list)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line, text) per logical line; comments are still in the text.

    Mirrors pip's ``join_lines`` + ``ignore_comments``: a line ending in a backslash
    continues on the next, except a comment line, which also ends a continuation.
    """
    first = 0
    pending: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        comment = _COMMENT.match(line) is not None
        if not line.endswith("\\") or comment:
            if comment:
                line = " " + line
            if pending:
                pending.append(line)
                yield first, "".join(pending)
                pending = []
            else:
                yield number, line
        else:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
    if pending:
        yield first, "".join(pending)


def _read_file(path: Path, state: _State, stack: tuple[Path, ...]) -> None:
    text = read_text(path, LockfileError)
    entries = Entries(path, text, _REGENERATE)
    for number, raw in _logical_lines(text):
        line = (_COMMENT.sub("", raw) if "#" in raw else raw).strip()  # the regex is slow on long lines
        if not line:
            continue
        if line.startswith("-"):
            _option_line(entries, line, number, state, stack)
        else:
            _requirement_line(entries, line, number, state)


def _split_options(entries: Entries, text: str, line: int) -> list[str]:
    if not any(char in text for char in "'\"\\"):
        return text.split()  # what shlex gives for text without quotes or escapes, ~50x faster
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise entries.error(f"cannot split options: {exc}", line=line) from None


def _option_line(entries: Entries, text: str, line: int, state: _State, stack: tuple[Path, ...]) -> None:
    tokens = _split_options(entries, text, line)
    position = 0
    while position < len(tokens):
        token = tokens[position]
        option, value, position = _take_option(token, tokens, position)
        if option in _FLAGS and value is None:
            continue
        kind = _OPTIONS_WITH_VALUE.get(option)
        if kind is None:
            raise entries.error(
                f"unknown or misplaced option {token!r}",
                line=line,
                hint="use pip's requirement-file options only (`--hash` belongs after a requirement)",
            )
        if value is None:
            if position >= len(tokens):
                raise entries.error(f"option {option} needs a value", line=line)
            value, position = tokens[position], position + 1
        if kind == "requirement":
            _include(entries, value, line, state, stack)
        elif kind == "editable":
            reference = direct_reference(value)
            if reference is None:
                raise entries.error(f"-e needs a path or a VCS URL, not {value!r}", line=line)
            _add(entries, _direct(entries, reference, (), line, state, editable=True), line, state)
        elif kind == "index-url":
            state.index_url = value.rstrip("/")
        elif kind == "extra-index-url":
            state.extra_indexes.append(value.rstrip("/"))


def _take_option(token: str, tokens: list[str], position: int) -> tuple[str, str | None, int]:
    """``--opt=value``, ``--opt value``, ``-rfile`` or ``-r file``: (option, value or None, next)."""
    position += 1
    if token.startswith("--"):
        option, equals, value = token.partition("=")
        return option, (value if equals else None), position
    if len(token) > 2:
        return token[:2], token[2:], position
    return token, None, position


def _include(entries: Entries, value: str, line: int, state: _State, stack: tuple[Path, ...]) -> None:
    if "://" in value:
        raise entries.error(
            f"remote requirement files are not supported: {value}", line=line, hint="download it next to this file"
        )
    target = (entries.path.parent / value).resolve()
    chain = stack + (entries.path.resolve(),)
    if target in chain:
        cycle = " -> ".join(p.name for p in chain[chain.index(target) :] + (target,))
        raise entries.error(f"include cycle: {cycle}", line=line, hint="remove one of the -r lines")
    if len(chain) >= _MAX_INCLUDE_DEPTH:  # each level is a few Python frames: stop well before RecursionError
        raise entries.error(
            f"includes nested too deeply (more than {_MAX_INCLUDE_DEPTH} levels of -r)",
            line=line,
            hint="include the files from fewer levels",
        )
    try:
        exists, is_file = target.exists(), target.is_file()
    except OSError as exc:  # a name the system refuses (too long)
        raise entries.error(f"cannot read included file {value!r}: {exc.strerror}", line=line, hint="check the -r path") from None
    if not exists:
        raise entries.error(f"included file not found: {value}", line=line, hint="check the -r path")
    if not is_file:
        raise entries.error(f"included path is not a regular file: {value}", line=line, hint="-r takes a requirements file")
    _read_file(target, state, chain)


def _requirement_line(entries: Entries, text: str, line: int, state: _State) -> None:
    # pip's break_args_options: the requirement runs up to the first token that starts with "-".
    tokens = text.split(" ")
    split = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
    requirement_text = " ".join(tokens[:split]).strip()
    hashes: list[str] = []
    options = _split_options(entries, " ".join(tokens[split:]), line)
    position = 0
    while position < len(options):
        option, value, position = _take_option(options[position], options, position)
        kind = _PER_REQUIREMENT.get(option)
        if kind is None:
            raise entries.error(f"option {option} is not allowed after a requirement", line=line)
        if value is None:
            if position >= len(options):
                raise entries.error(f"option {option} needs a value", line=line)
            value, position = options[position], position + 1
        if kind == "hash":
            hashes.append(entries.hash(value, line=line))
    hashes = sorted(set(hashes))
    reference = direct_reference(requirement_text)
    if reference is not None:
        _add(entries, _direct(entries, reference, tuple(hashes), line, state), line, state)
        return
    pin = _SIMPLE_PIN.fullmatch(requirement_text) if hashes else None
    if pin is not None and _valid_pin(pin.group(2)):
        # ``name==version`` with hashes, nearly every line of a lock: what ``Requirement``
        # would give, without its general parser (a fifth of the time on a big file).
        package = LockedPackage(
            name=entries.name(pin.group(1), line=line),
            version=pin.group(2),
            source=_REGISTRY,
            hashes=tuple(hashes),
            line=line,
        )
        _add(entries, package, line, state)
        return
    try:
        requirement = Requirement(requirement_text)
    except InvalidRequirement as exc:
        raise entries.error(
            f"invalid requirement {requirement_text!r}: {first_line(exc)}", line=line
        ) from None
    if requirement.url is not None:
        named = DirectReference(location=requirement.url, name=requirement.name, marker=requirement.marker)
        _add(entries, _direct(entries, named, tuple(hashes), line, state), line, state)
        return
    _add(entries, _pinned(entries, requirement, tuple(hashes), line), line, state)


def _valid_pin(version: str) -> bool:
    try:
        Specifier(f"=={version}")  # the same version grammar ``Requirement`` applies
    except InvalidSpecifier:
        return False
    return True


def _pinned(entries: Entries, requirement: Requirement, hashes: tuple[str, ...], line: int) -> LockedPackage:
    name = entries.name(requirement.name, line=line)
    specs = list(requirement.specifier)
    version = None
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        version = specs[0].version
    if (version is None or not hashes) and requirement.marker is None:
        problem = "is not pinned with `==`" if version is None else "has no `--hash`"
        raise entries.error(
            f"requirement {str(requirement)!r} {problem}; a lock needs every package pinned and hashed",
            line=line,
        )
    return LockedPackage(
        name=name,
        version=version,
        source=_REGISTRY,
        hashes=hashes,
        marker=requirement.marker,
        line=line,
    )


def _direct(
    entries: Entries,
    reference: DirectReference,
    hashes: tuple[str, ...],
    line: int,
    state: _State,
    *,
    editable: bool = False,
) -> LockedPackage:
    return locked_direct(
        entries, reference, hashes, line=line, base=entries.path.parent, top=state.top, editable=editable
    )


def _add(entries: Entries, package: LockedPackage, line: int, state: _State) -> None:
    """Keep one entry per (name, marker); the same pin twice (two includes) is fine."""
    key = (package.name, str(package.marker) if package.marker is not None else "")
    existing = state.packages.get(key)
    if existing is None:
        state.packages[key] = package
        return
    if (existing.version, existing.source, existing.hashes) != (package.version, package.source, package.hashes):
        raise entries.error(
            f"{package.name} is listed twice with different pins", line=line, hint="keep one requirement per package"
        )
