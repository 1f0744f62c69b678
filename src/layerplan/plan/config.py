"""Every layerplan option: its one default, and its one validator.

Options come from several places (``[tool.layerplan]``, the build tool's image table,
the command line); each place is read with ``read_options`` into the values it *sets*,
and the resolution step merges them over the defaults of ``PlanConfig``. Errors quote
the full TOML path of the option, as hatchling does
(``tool.layerplan.max-layers must be an integer from 3 to 100``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name

from layerplan._toml import key_line
from layerplan.errors import ConfigError, TargetError
from layerplan.oci.reference import ImageReference
from layerplan.reproducible import parse_created
from layerplan.target import Libc, parse_platform, parse_python

__all__ = ["OPTION_KEYS", "PlanConfig", "check_option", "parse_size", "read_config", "read_options"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanConfig:
    """Every option of ``[tool.layerplan]`` with its default."""

    python: str | None = None
    """Target Python ``X.Y`` (a base image, when given, says it too)."""
    platform: str | None = None
    """Target ``os/arch``, e.g. ``linux/arm64``."""
    libc: str | None = None
    """Target C library, ``glibc-X.Y`` or ``musl-X.Y``."""
    lock: str | None = None
    """Lockfile path relative to the project; auto-detected when unset."""
    package: str | None = None
    """Workspace member to build (uv workspaces); the project itself when unset."""
    extras: tuple[str, ...] = ()
    dependency_groups: tuple[str, ...] = ()
    """Development groups of the lock to install too (never by default)."""
    strategy: str = "default"
    venv: str = "/app/.venv"
    """Absolute path of the virtual environment in the image."""
    workdir: str = "/app"
    user: str = "10001:10001"
    """Numeric ``uid:gid`` the container runs as (non-root by default)."""
    home: str = "/home/app"
    """The user's ``HOME``: created in the environment layer, owned by ``user`` (the app
    directory stays read-only to it), so tools that write ``~/.config`` or ``~/.cache`` work."""
    max_layers: int = 32
    """Most layers layerplan adds on top of the base (the image limit is 127 in all)."""
    large_wheel_size: int = 8 * 1024 * 1024
    """A wheel at least this big (bytes, or ``"8MiB"``) gets a layer of its own."""
    group_layers: int = 4
    """How many layers share the remaining third-party packages."""
    layer_groups: Mapping[str, tuple[NormalizedName, ...]] = field(default_factory=dict)
    """Named layers pinning chosen packages together (like Spring Boot's layers.xml)."""
    entrypoint: tuple[str, ...] = ()
    """The command: a ``[project.scripts]`` name or an argv list; default: the only script."""
    env: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    compile_bytecode: bool = True
    sbom: bool = True
    """``layerplan build`` attaches CycloneDX and SPDX SBOMs to the image (OCI referrers)."""
    provenance: bool = True
    """``layerplan build`` attaches an in-toto SLSA provenance statement (OCI referrer)."""
    created: str | None = None
    """The image's ``created`` time (RFC 3339, seconds, or ``now``); default: the
    ``SOURCE_DATE_EPOCH``, else the commit time of git's HEAD, else 1980-01-01."""
    digest_file: str | None = None
    """``layerplan build`` writes ``REF@sha256:...`` of each pushed image there (for signers)."""
    base: str | None = None
    """Base image reference (used by ``layerplan build``)."""
    outputs: tuple[str, ...] = ()
    """Output specs (``oci:DIR``, ``docker://REF``...) used by ``layerplan build``."""
    tags: tuple[str, ...] = ()
    """Names for archive outputs (``docker-archive`` RepoTags, the OCI ref name); default ``NAME:VERSION``."""
    insecure_registries: tuple[str, ...] = ()
    """``HOST:PORT`` registries reached over plain HTTP (loopback ones always are)."""
    cache_from: tuple[str, ...] = ()
    """Images (``REF``) whose layers ``layerplan build`` reuses when their keys match;
    default: each registry output's own reference (its previous image)."""
    builder: str | None = None
    """The image whose containers compile locked sdists that need a compiler (through
    the Docker engine); default: the base image."""


def parse_size(value: Any) -> int:
    """Bytes from ``8388608``, ``"8MiB"``, ``"10 MB"``; raise ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("negative size")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"not a size: {value!r}")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])


def read_options(
    table: Mapping[str, Any], path: Path | None = None, text: str = "", *, prefix: str = "tool.layerplan"
) -> dict[str, Any]:
    """Validate a table of options (``[tool.layerplan]`` or the like); return the
    ``PlanConfig`` field values it sets. Raise ``ConfigError`` naming ``prefix.key``."""
    values: dict[str, Any] = {}
    for key, raw in table.items():
        spec = _OPTIONS.get(key)
        full_key = f"{prefix}.{key}"
        line = key_line(text, prefix, key) if text else None
        if spec is None:
            raise ConfigError(
                "unknown option", path=path, line=line, key=full_key, hint=f"known options: {', '.join(sorted(_OPTIONS))}"
            )
        values[spec[0]] = check_option(key, raw, path=path, line=line, full_key=full_key)
    return values


def check_option(key: str, raw: Any, *, path: Path | None = None, line: int | None = None, full_key: str | None = None) -> Any:
    """The validated value of option ``key`` (as spelled in TOML: ``max-layers``), from
    whatever place it was written; ``ConfigError`` naming ``full_key`` otherwise."""
    field_name, convert, expected = _OPTIONS[key]
    try:
        return convert(raw)
    except (TypeError, ValueError, TargetError) as exc:
        detail = exc.message if isinstance(exc, TargetError) else str(exc)
        raise ConfigError(
            f"must be {expected}" + (f" ({detail})" if detail else ""),
            path=path,
            line=line,
            key=full_key or key,
        ) from None


def read_config(table: Mapping[str, Any], path: Path | None = None, text: str = "") -> PlanConfig:
    """``[tool.layerplan]`` alone over the defaults (what a project without other options gets)."""
    return PlanConfig(**read_options(table, path, text))


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TypeError("")
    return tuple(value)


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError("")
        return value

    return convert


def _absolute_path(value: Any) -> str:
    text = _string(value)
    segments = text.split("/")[1:]
    if (
        not text.startswith("/")
        or ".." in segments
        or (len(text) > 1 and "" in segments)  # "/app/" or "/app//x"
        or any(ord(c) < 32 or c == "\x7f" for c in text)
    ):
        raise ValueError(f"got {text!r}")
    return text


def _venv_path(value: Any) -> str:
    text = _absolute_path(value)
    if text == "/":
        raise ValueError("got '/': the venv's bin/ and lib/ would replace the base's")
    return text


_MAX_ID = 2**32 - 2  # uid_t is 32-bit; (uid_t)-1 means "no change"


def _user(value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else _string(value)
    if not re.fullmatch(r"\d+(:\d+)?", text):
        raise ValueError(f"got {text!r}; names need an /etc/passwd entry, numbers work on every base")
    if any(int(part) > _MAX_ID for part in text.split(":")):
        raise ValueError(f"got {text!r}; ids go up to {_MAX_ID}")
    return text if ":" in text else f"{text}:{text}"


def _str_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError("")
    return dict(value)


def _env(value: Any) -> dict[str, str]:
    table = _str_table(value)
    for name in table:
        if not name or any(c in name for c in "= \t\n\r\0"):
            raise ValueError(f"{name!r} is not a usable environment variable name")
    return table


def _labels(value: Any) -> dict[str, str]:
    table = _str_table(value)
    for name in table:
        if not name.strip() or any(c in name for c in "\n\r\0"):
            raise ValueError(f"{name!r} is not a usable label name")
    return table


def _layer_groups(value: Any) -> dict[str, tuple[NormalizedName, ...]]:
    if not isinstance(value, dict):
        raise TypeError("")
    out: dict[str, tuple[NormalizedName, ...]] = {}
    owner: dict[NormalizedName, str] = {}
    for name, packages in value.items():
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
            raise ValueError(f"layer name {name!r}: use lowercase letters, digits, . _ -")
        out[name] = tuple(canonicalize_name(p) for p in _strings(packages))
        for package in out[name]:
            if owner.setdefault(package, name) != name:
                raise ValueError(f"{package} is in both {owner[package]!r} and {name!r}; a package has one layer")
    return out


def _entrypoint(value: Any) -> tuple[str, ...]:
    return (_string(value),) if isinstance(value, str) else _strings(value)


def _image_names(value: Any) -> tuple[str, ...]:
    names = _strings(value)
    for name in names:
        try:
            ImageReference.parse(name)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    return names


def _cache_refs(value: Any) -> tuple[str, ...]:
    """Image references; one holding ``{name}``/``{version}`` is filled, then parsed, by the
    resolution (as outputs are)."""
    refs = _strings(value)
    for ref in refs:
        if "{" in ref:
            continue
        try:
            ImageReference.parse(ref.removeprefix("registry:"))
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    return refs


def _python(value: Any) -> str:
    text = _string(value).strip()
    parse_python(text)
    return text


def _platform(value: Any) -> str:
    return str(parse_platform(_string(value)))


def _libc(value: Any) -> str:
    return str(Libc.parse(_string(value)))


def _created(value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else _string(value)
    parse_created(text)
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("")
    return value


def _size(value: Any) -> int:
    return parse_size(value)


# option -> (field, converter, what it must be)
_OPTIONS: dict[str, tuple[str, Callable[[Any], Any], str]] = {
    "python": ("python", _python, "a Python version such as \"3.12\""),
    "platform": ("platform", _platform, "a platform such as \"linux/amd64\" or \"linux/arm64\""),
    "libc": ("libc", _libc, "a C library such as \"glibc-2.36\" or \"musl-1.2\""),
    "lock": ("lock", _string, "a path string"),
    "package": ("package", _string, "a workspace member name"),
    "extras": ("extras", _strings, "a list of extra names"),
    "dependency-groups": ("dependency_groups", _strings, "a list of group names"),
    "strategy": ("strategy", _string, "a strategy name"),
    "venv": ("venv", _venv_path, "an absolute path such as \"/app/.venv\""),
    "workdir": ("workdir", _absolute_path, "an absolute path such as \"/app\""),
    "user": ("user", _user, "a numeric \"uid:gid\" such as \"10001:10001\""),
    "home": ("home", _venv_path, "an absolute path such as \"/home/app\""),
    "max-layers": ("max_layers", _int_range(3, 100), "an integer from 3 to 100"),
    "large-wheel-size": ("large_wheel_size", _size, "a size such as \"8MiB\" or a number of bytes"),
    "group-layers": ("group_layers", _int_range(1, 50), "an integer from 1 to 50"),
    "layer-groups": ("layer_groups", _layer_groups, "a table of layer name -> list of package names"),
    "entrypoint": ("entrypoint", _entrypoint, "a script name or a list of strings"),
    "env": ("env", _env, "a table of string values"),
    "labels": ("labels", _labels, "a table of string values"),
    "compile-bytecode": ("compile_bytecode", _bool, "true or false"),
    "sbom": ("sbom", _bool, "true or false"),
    "provenance": ("provenance", _bool, "true or false"),
    "created": ("created", _created, "an RFC 3339 time such as \"2024-05-01T12:00:00Z\", a number of seconds, or \"now\""),
    "digest-file": ("digest_file", _string, "a path string"),
    "base": ("base", _string, "an image reference"),
    "outputs": ("outputs", _strings, "a list of output specs such as \"oci:dist/image\""),
    "tags": ("tags", _image_names, "a list of image names such as \"my-app:1.0\""),
    "insecure-registries": ("insecure_registries", _strings, "a list of HOST:PORT strings"),
    "cache-from": ("cache_from", _cache_refs, "a list of image references such as \"ghcr.io/org/app:1.0\""),
    "builder": ("builder", _string, "an image reference the Docker engine can run, such as \"python:3.12-bookworm\""),
}
OPTION_KEYS = frozenset(_OPTIONS)
"""Every option's TOML spelling (``max-layers``...)."""
