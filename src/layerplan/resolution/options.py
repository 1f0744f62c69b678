"""Options from every place a user can write them, merged once, in one precedence.

    command line (or the setuptools command's options)
      > the build tool's image table ([tool.hatch.build.targets.image], setup.cfg [build_image])
      > [tool.layerplan]
      > what the base image says (the target, decided in ``target.py``)
      > the defaults (``PlanConfig``'s fields, ``target.options``)

Each place becomes an ``OptionLayer``: the values it sets, already validated, and how
each was spelled there (``--python``, ``tool.layerplan.python``), so a later error can
say which setting it is about. Tables (``env``, ``labels``) merge key by key; every
other option is taken whole from the highest layer that sets it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layerplan._toml import key_line
from layerplan.errors import ConfigError
from layerplan.plan.config import OPTION_KEYS, PlanConfig, check_option, read_options
from layerplan.project import Project

__all__ = [
    "HATCH_TABLE",
    "HATCH_ONLY_KEYS",
    "OptionLayer",
    "Settings",
    "command_line_layer",
    "hatch_table_layer",
    "merge_layers",
    "project_layers",
    "setup_cfg_layer",
    "table_layer",
]

HATCH_TABLE = "tool.hatch.build.targets.image"
HATCH_ONLY_KEYS = frozenset({"mode", "tag", "archive", "flavour", "offline"})
"""Keys of the hatch image table that are the plugin's own (not layerplan options)."""
HATCH_GENERIC_KEYS = frozenset(
    {
        "artifacts", "dependencies", "dev-mode-dirs", "dev-mode-exact", "directory", "exclude", "force-include",
        "hooks", "ignore-vcs", "include", "only-include", "only-packages", "packages", "reproducible",
        "require-runtime-dependencies", "require-runtime-features", "skip-excluded-dirs", "sources", "versions",
    }
)
"""Keys hatchling reads in every ``[tool.hatch.build.targets.*]`` table: left to hatchling."""
_PATH_OPTIONS = ("lock",)
_OUTPUT_PATH_KINDS = ("oci", "oci-archive", "docker-archive")


@dataclass(frozen=True, kw_only=True, slots=True)
class OptionLayer:
    """The options one place sets: validated ``PlanConfig`` field values."""

    origin: str
    """The place, for messages: ``command line``, ``tool.layerplan``..."""
    values: Mapping[str, Any] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    """Field -> how the user wrote it there (``--python``, ``tool.layerplan.python``)."""

    def key_of(self, name: str) -> str:
        return self.keys.get(name, f"{self.origin} {name}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Every option's value after the merge, and which setting gave it."""

    config: PlanConfig
    origins: Mapping[str, str]
    """Field -> the setting that set it (``--python``...); absent: the default."""

    def origin(self, name: str) -> str | None:
        return self.origins.get(name)


def merge_layers(layers: Sequence[OptionLayer]) -> Settings:
    """Merge ``layers`` (highest precedence first) over the defaults."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for layer in reversed(layers):
        for name, value in layer.values.items():
            earlier = values.get(name)
            values[name] = {**earlier, **value} if isinstance(value, Mapping) and isinstance(earlier, Mapping) else value
            origins[name] = layer.key_of(name)
    return Settings(config=PlanConfig(**values), origins=origins)


def command_line_layer(flags: Mapping[str, tuple[str, Any]], *, origin: str = "command line", cwd: Path | None = None) -> OptionLayer:
    """Options given as flags: ``{"python": ("--python", "3.12"), ...}``. Unset ones
    (``None``, empty) are left out; values are checked by the same validators as the
    tables; relative output paths are made absolute against ``cwd`` (a relative lock is
    looked for in the project first, then in the current directory)."""
    values: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for name, (flag, raw) in flags.items():
        if raw is None or (isinstance(raw, (tuple, list, dict, str)) and not raw):
            continue
        toml_key = name.replace("_", "-")
        value = check_option(toml_key, list(raw) if isinstance(raw, tuple) else raw, full_key=flag)
        # A relative --lock stays relative: it is looked for in the project, then here
        # (resolve.lock_path), so `--lock install/requirements.txt` works from anywhere.
        values[name] = value if name in _PATH_OPTIONS else _absolute(name, value, cwd or Path.cwd())
        keys[name] = flag
    return OptionLayer(origin=origin, values=values, keys=keys)


def project_layers(project: Project, *, shown_as: str | None = None) -> tuple[OptionLayer, ...]:
    """The project's own tables, highest first: the hatch image table (when present),
    setup.cfg ``[build_image]`` (when present), then ``[tool.layerplan]``. ``shown_as``
    names its pyproject.toml in messages (``services/api/pyproject.toml`` for a member)."""
    layers = []
    hatch = project.image_target_table
    if hatch is not None:
        layers.append(hatch_table_layer(hatch, project))
    setup_cfg = setup_cfg_layer(project.root)
    if setup_cfg is not None:
        layers.append(setup_cfg_layer_checked(setup_cfg, project))
    values = read_options(project.config, project.pyproject_path, project.pyproject_text)
    layers.append(
        OptionLayer(
            origin="tool.layerplan",
            values={name: _absolute(name, value, project.root) for name, value in values.items()},
            keys={name: f"tool.layerplan.{name.replace('_', '-')} ({_where(project, name, shown_as)})" for name in values},
        )
    )
    return tuple(layers)


def hatch_table_layer(table: Mapping[str, Any], project: Project, *, prefix: str = HATCH_TABLE) -> OptionLayer:
    """The layerplan options of the hatch image table (``tag`` is ``tags``); the
    plugin's own keys and hatchling's generic ones are not options and are skipped.
    An unknown key is an error, as in hatchling's own tables."""
    own: dict[str, Any] = {}
    for key, raw in table.items():
        if key in HATCH_GENERIC_KEYS or key in HATCH_ONLY_KEYS - {"tag"}:
            continue
        if key == "tag":
            own["tags"] = [raw] if isinstance(raw, str) else raw
            continue
        if key not in OPTION_KEYS:
            known = sorted(OPTION_KEYS | HATCH_ONLY_KEYS)
            raise ConfigError(
                "unknown option",
                path=project.pyproject_path,
                line=key_line(project.pyproject_text, prefix, key),
                key=f"{prefix}.{key}",
                hint=f"known options: {', '.join(known)} (plus hatchling's generic target options)",
            )
        own[key] = raw
    return table_layer(read_options(own, project.pyproject_path, project.pyproject_text, prefix=prefix), prefix=prefix, base=project.root)


def table_layer(values: Mapping[str, Any], *, prefix: str, base: Path) -> OptionLayer:
    """A layer of validated option values written in the table ``prefix`` of a project
    in ``base`` (relative paths in it are relative to ``base``)."""
    return OptionLayer(
        origin=prefix,
        values={name: _absolute(name, value, base) for name, value in values.items()},
        keys={name: f"{prefix}.{name.replace('_', '-')}" for name in values},
    )


def setup_cfg_layer(root: Path) -> Mapping[str, str] | None:
    """setup.cfg's ``[build_image]`` section (the setuptools command's saved options)."""
    path = root / "setup.cfg"
    if not path.is_file():
        return None
    import configparser  # a setup.cfg project's: the others never load it

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read setup.cfg: {exc}".splitlines()[0], path=path) from None
    return dict(parser["build_image"]) if parser.has_section("build_image") else None


# setup.cfg [build_image] key -> (option, is a comma-separated list)
_SETUP_CFG_KEYS = {
    "base": ("base", False),
    "output": ("outputs", True),
    "platform": ("platform", False),
    "tag": ("tags", True),
    "lock": ("lock", False),
    "builder": ("builder", False),
    "cache-from": ("cache_from", True),
}


def setup_cfg_layer_checked(section: Mapping[str, str], project: Project) -> OptionLayer:
    path = project.root / "setup.cfg"
    values: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for raw_key, raw in section.items():
        key = raw_key.replace("_", "-")
        if key == "cache-dir":
            continue  # where the cache is, not an image option: the setuptools command reads it
        if key not in _SETUP_CFG_KEYS:
            raise ConfigError(
                "unknown option",
                path=path,
                key=f"build_image.{raw_key}",
                hint=f"known options: {', '.join(sorted([*_SETUP_CFG_KEYS, 'cache-dir']))}",
            )
        name, is_list = _SETUP_CFG_KEYS[key]
        value: Any = [part.strip() for part in raw.split(",") if part.strip()] if is_list else raw.strip()
        values[name] = _absolute(name, check_option(name.replace("_", "-"), value, path=path, full_key=f"build_image.{raw_key}"), project.root)
        keys[name] = f"setup.cfg [build_image] {raw_key}"
    return OptionLayer(origin="setup.cfg [build_image]", values=values, keys=keys)


def _absolute(name: str, value: Any, base: Path) -> Any:
    """Paths in an option are relative to where it was written: a table's project, the
    command line's working directory."""
    if name in _PATH_OPTIONS and isinstance(value, str):
        return str((base / value).absolute()) if not Path(value).is_absolute() else value
    if name == "outputs":
        return tuple(_absolute_output(spec, base) for spec in value)
    if name == "digest_file" and isinstance(value, str) and not Path(value).is_absolute():
        return str((base / value).absolute())
    return value


def _absolute_output(spec: str, base: Path) -> str:
    kind, sep, target = spec.partition(":")
    if sep and kind in _OUTPUT_PATH_KINDS and target and not Path(target).is_absolute():
        return f"{kind}:{(base / target).absolute()}"
    return spec


def _where(project: Project, name: str, shown_as: str | None) -> str:
    line = key_line(project.pyproject_text, "tool.layerplan", name.replace("_", "-"))
    file = shown_as or project.pyproject_path.name
    return f"{file}:{line}" if line else file
