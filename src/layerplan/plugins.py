"""The plugin manager: built-ins and third-party plugins, found by entry point."""

from __future__ import annotations

import functools
import importlib

import pluggy

from layerplan import hookspecs
from layerplan.errors import PluginError

__all__ = ["BUILTIN_PLUGINS", "plugin_manager"]

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


@functools.lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with every installed plugin registered."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for plugin_name, module_name in BUILTIN_PLUGINS.items():
        manager.register(importlib.import_module(module_name), name=plugin_name)
    try:
        manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    except Exception as exc:  # a broken third-party plugin must not look like our bug
        raise PluginError(f"a layerplan plugin failed to load: {exc}", hint="uninstall or fix the plugin") from exc
    return manager
