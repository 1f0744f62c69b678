"""A setuptools project's metadata when ``pyproject.toml`` has no ``[project]`` table:
``setup.cfg``'s ``[metadata]``/``[options]``, else the literal arguments of the
``setup(...)`` call in ``setup.py``.

``setup.py`` is read, never run: running it would run the project's code (and its
imports) just to plan. Written by hand because no library reads it without running it;
what is not a literal (a version computed from a module, a ``find_packages()`` call) is
left out and comes from the wheel the backend builds.
"""

from __future__ import annotations

import ast
import configparser
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SetupMetadata", "read_setup_metadata"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SetupMetadata:
    """What a setuptools project says about itself without running anything."""

    name: str | None = None
    version: str | None = None
    requires_python: str | None = None
    install_requires: tuple[str, ...] | None = None
    """``None`` when not a literal list (then nothing is checked against the lock)."""
    console_scripts: dict[str, str] = field(default_factory=dict)
    """``name -> module:function`` (``entry_points["console_scripts"]``)."""
    file_scripts: tuple[str, ...] = ()
    """Names of the ``scripts=[...]`` files, as they land in the venv's ``bin/``."""


def read_setup_metadata(root: Path) -> SetupMetadata | None:
    """The metadata of the setuptools project in ``root``; ``None`` when it has neither
    ``setup.cfg`` metadata nor a readable ``setup.py``."""
    from_cfg = _from_setup_cfg(root / "setup.cfg")
    from_py = _from_setup_py(root / "setup.py")
    if from_cfg is None and from_py is None:
        return None
    cfg, py = from_cfg or SetupMetadata(), from_py or SetupMetadata()
    return SetupMetadata(
        name=cfg.name or py.name,
        version=cfg.version or py.version,
        requires_python=cfg.requires_python or py.requires_python,
        install_requires=cfg.install_requires if cfg.install_requires is not None else py.install_requires,
        console_scripts={**py.console_scripts, **cfg.console_scripts},
        file_scripts=cfg.file_scripts or py.file_scripts,
    )


def _from_setup_cfg(path: Path) -> SetupMetadata | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    if not parser.has_section("metadata"):
        return None

    def get(section: str, key: str) -> str | None:
        value = parser.get(section, key, fallback=None)
        return value.strip() if value and value.strip() else None

    version = get("metadata", "version")
    requires = get("options", "install_requires")
    scripts = get("options", "scripts")
    entry_points = get("options.entry_points", "console_scripts")
    return SetupMetadata(
        name=get("metadata", "name"),
        version=None if version is None or version.startswith(("attr:", "file:")) else version,
        requires_python=get("options", "python_requires"),
        install_requires=tuple(_lines(requires)) if requires else None,
        console_scripts=_console_scripts(_lines(entry_points or "")),
        file_scripts=tuple(Path(s).name for s in _lines(scripts or "")),
    )


def _from_setup_py(path: Path) -> SetupMetadata | None:
    if not path.is_file():
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
    except (SyntaxError, ValueError):
        return None
    call = next((node for node in ast.walk(tree) if isinstance(node, ast.Call) and _is_setup(node.func)), None)
    if call is None:
        return None
    args = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
    scripts = _strings(args.get("scripts"))
    entry_points = args.get("entry_points")
    console: list[str] = []
    if isinstance(entry_points, ast.Dict):
        for key, value in zip(entry_points.keys, entry_points.values, strict=False):
            if isinstance(key, ast.Constant) and key.value == "console_scripts":
                console = list(_strings(value) or ())
    return SetupMetadata(
        name=_string(args.get("name")),
        version=_string(args.get("version")),
        requires_python=_string(args.get("python_requires")),
        install_requires=_strings(args.get("install_requires")),
        console_scripts=_console_scripts(console),
        file_scripts=tuple(Path(s).name for s in scripts or ()),
    )


def _is_setup(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "setup") or (isinstance(func, ast.Attribute) and func.attr == "setup")


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value else None


def _strings(node: ast.expr | None) -> tuple[str, ...] | None:
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    values = [_string(element) for element in node.elts]
    return tuple(v for v in values if v) if all(values) else None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(";", "\n").splitlines() if line.strip() and not line.strip().startswith("#")]


def _console_scripts(specs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, target = spec.partition("=")
        if sep and name.strip() and target.strip():
            out[name.strip()] = target.strip().split(" ", 1)[0]
    return out
