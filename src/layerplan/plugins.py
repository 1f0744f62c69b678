"""The plugin manager: built-ins and third-party plugins, found by entry point.

A command pays only for the lock reader it uses: the built-in readers are registered as
stand-ins that know each format's file names and priority (``BUILTIN_LOCK_FORMATS``) and
import the reader's module when a file of that format is read. The entry points are read
with pluggy (``importlib.metadata``, every installed distribution) only when some
distribution declares a ``layerplan`` entry point that is not a built-in's: a quick look
at the ``entry_points.txt`` files on ``sys.path`` decides it (``_third_party_plugins``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import os
import sys
from pathlib import Path

import pluggy

from layerplan import hookspecs
from layerplan.errors import PluginError
from layerplan.lockfiles.format import BUILTIN_FORMATS, LockFormat, builtin_format
from layerplan.lockfiles.model import Lock

__all__ = ["BUILTIN_LOCK_FORMATS", "BUILTIN_PLUGINS", "plugin_manager"]

# Also listed as entry points in pyproject.toml; registered directly as well so a
# source checkout without installed metadata still works (pluggy skips duplicates).
# Keys are the entry-point names, so pluggy skips the entry point of a built-in.
BUILTIN_PLUGINS = {
    "uv-lock": "layerplan.lockfiles.uv",
    "pylock": "layerplan.lockfiles.pylock",
    "poetry-lock": "layerplan.lockfiles.poetry",
    "pdm-lock": "layerplan.lockfiles.pdm",
    "pipfile-lock": "layerplan.lockfiles.pipfile",
    "requirements": "layerplan.lockfiles.requirements",
    "default-strategy": "layerplan.plan.strategy",
}

# entry-point name -> (format name, file names, priority, explicit file names) of each
# built-in reader, from ``lockfiles.format.BUILTIN_FORMATS`` (where the readers take theirs
# too), so finding the lockfile imports no reader.
_READER_FORMATS = {
    "uv-lock": "uv", "pylock": "pylock", "poetry-lock": "poetry", "pdm-lock": "pdm", "pipfile-lock": "pipfile",
    "requirements": "requirements",
}  # fmt: skip
BUILTIN_LOCK_FORMATS: dict[str, tuple[str, tuple[str, ...], int, tuple[str, ...]]] = {
    plugin: (name, *BUILTIN_FORMATS[name]) for plugin, name in _READER_FORMATS.items()
}

_PATH_FINDER = importlib.machinery.PathFinder  # finds the dist-info directories read below


class _LazyReader:
    """A built-in lock reader's plugin that imports the reader when a file is read."""

    def __init__(self, plugin_name: str) -> None:
        self._module = BUILTIN_PLUGINS[plugin_name]
        self._format = builtin_format(_READER_FORMATS[plugin_name], self._read)

    @hookspecs.hookimpl
    def layerplan_lock_formats(self) -> list[LockFormat]:
        return [self._format]

    def _read(self, path: Path) -> Lock:
        formats = importlib.import_module(self._module).layerplan_lock_formats()
        (reader,) = [f for f in formats if f.name == self._format.name]
        lock: Lock = reader.read(path)
        return lock


@functools.lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with every installed plugin registered."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for plugin_name, module_name in BUILTIN_PLUGINS.items():
        if plugin_name in BUILTIN_LOCK_FORMATS:
            manager.register(_LazyReader(plugin_name), name=plugin_name)
        else:
            manager.register(importlib.import_module(module_name), name=plugin_name)
    if not _third_party_plugins():
        return manager
    try:
        manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    except Exception as exc:  # a broken third-party plugin must not look like our bug
        raise PluginError(f"a layerplan plugin failed to load: {exc}", hint="uninstall or fix the plugin") from exc
    return manager


def _third_party_plugins() -> bool:
    """Whether a distribution on ``sys.path`` may declare a ``layerplan`` entry point other
    than a built-in's (whose names pluggy skips). Reads the distributions' own
    ``entry_points.txt`` as ``importlib.metadata`` finds and parses them; says yes
    whenever it cannot tell (a zip on the path, another finder of distributions, a file
    it cannot read)."""
    if any(hasattr(finder, "find_distributions") for finder in sys.meta_path if finder is not _PATH_FINDER):
        return True
    for entry in sys.path:
        if not isinstance(entry, str):  # bytes or a path object: leave it to importlib
            return True
        root = entry or "."
        try:
            names = os.listdir(root)
        except FileNotFoundError:
            continue
        except OSError:  # a zip, or what importlib.metadata might still read
            return True
        if root.endswith(".egg") and _declares_others(os.path.join(root, "EGG-INFO")):
            return True
        for name in names:
            if name.lower().endswith((".dist-info", ".egg-info")) and _declares_others(os.path.join(root, name)):
                return True
    return False


def _declares_others(metadata_dir: str) -> bool:
    """Whether this distribution's ``entry_points.txt`` names a ``layerplan`` plugin that is
    not a built-in (parsed as ``importlib.metadata`` does: stripped lines, ``#``
    comments, ``[group]`` headers, ``name = value``)."""
    try:
        with open(os.path.join(metadata_dir, "entry_points.txt"), encoding="utf-8") as file:
            text = file.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False
    except (OSError, UnicodeDecodeError):
        return True
    if hookspecs.PROJECT_NAME not in text:
        return False
    group = None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line.strip("[]")
        elif group == hookspecs.PROJECT_NAME and line.partition("=")[0].strip() not in BUILTIN_PLUGINS:
            return True
    return False
