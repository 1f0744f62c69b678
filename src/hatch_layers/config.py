"""``[tool.hatch.build.targets.image]``: the image target's options, validated on first access.

Every ``[tool.layerplan]`` option is accepted here too and wins over the one there, key
by key. Errors name the full key the way hatchling's own do
(``Field `tool.hatch.build.targets.image.mode` must be one of: image, dockerfile``).
"""

from __future__ import annotations

from functools import cache, cached_property
from typing import Any

from hatchling.builders.config import BuilderConfig

from layerplan.errors import ConfigError

# The rest of layerplan is imported on first use: hatchling imports this module for
# every build (sdist and wheel too) in an environment where layerplan is installed.

__all__ = [
    "FLAVOURS",
    "MODES",
    "PLUGIN_KEYS",
    "ImageBuilderConfig",
    "ImageConfigError",
    "ImageConfigTypeError",
    "generic_target_keys",
    "layerplan_keys",
]

MODES = ("image", "dockerfile")
"""``image``: build the image directly; ``dockerfile``: write a Dockerfile build context."""

@cache
def layerplan_keys() -> frozenset[str]:
    """Every ``[tool.layerplan]`` option (``max-layers``, ``base``, ``outputs``...)."""
    from layerplan.plan.config import OPTION_KEYS

    return OPTION_KEYS


@cache
def generic_target_keys() -> frozenset[str]:
    """Keys hatchling reads in every ``[tool.hatch.build.targets.*]`` table: left to hatchling."""
    from layerplan.resolution.options import HATCH_GENERIC_KEYS

    return HATCH_GENERIC_KEYS


FLAVOURS = ("portable", "buildkit")
"""Dockerfile flavours: ``portable`` (any builder) or ``buildkit`` (adds a pip cache mount)."""

PLUGIN_KEYS = frozenset({"mode", "tag", "archive", "insecure-registries", "flavour", "offline"})
"""Options only the image target has."""


class ImageConfigError(ValueError):
    """A wrong ``[tool.hatch.build.targets.image]`` option; the message names the full key."""


class ImageConfigTypeError(ImageConfigError, TypeError):
    """An option of the wrong TOML type (a ``TypeError``, as in hatchling)."""


class ImageBuilderConfig(BuilderConfig):
    """The image target's configuration; each option is checked when first read."""

    def field_name(self, key: str) -> str:
        """The full TOML path of ``key`` in the target table."""
        return f"tool.hatch.build.targets.{self.plugin_name}.{key}"

    def validate(self) -> None:
        """Read (and so check) every option; raise ``ImageConfigError`` on the first bad one."""
        _ = (self.image_keys, self.mode, self.tags, self.archive, self.insecure_registries, self.flavour, self.offline)
        _ = (self.plan_settings, self.outputs)

    @cached_property
    def image_keys(self) -> dict[str, Any]:
        """The target table without hatchling's generic keys; unknown keys are errors."""
        known = layerplan_keys() | PLUGIN_KEYS
        own = {k: v for k, v in self.target_config.items() if k not in generic_target_keys()}
        for key in own:
            if key not in known:
                raise ImageConfigError(
                    f"Unknown field `{self.field_name(key)}`; known options: {', '.join(sorted(known))} "
                    f"(plus hatchling's generic target options)"
                )
        return own

    @cached_property
    def mode(self) -> str:
        """``image`` (default) or ``dockerfile``."""
        value = self.image_keys.get("mode", "image")
        if not isinstance(value, str) or value not in MODES:
            raise ImageConfigError(f"Field `{self.field_name('mode')}` must be one of: {', '.join(MODES)}")
        return value

    @cached_property
    def tags(self) -> tuple[str, ...]:
        """Names for the archive outputs (``tag``: a string or an array); empty means the default."""
        value = self.image_keys.get("tag", [])
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
            raise ImageConfigTypeError(
                f"Field `{self.field_name('tag')}` must be an image name such as \"my-app:1.0\", or an array of them"
            )
        from layerplan.oci.reference import ImageReference

        for item in items:
            try:
                ImageReference.parse(item)
            except ValueError as exc:
                raise ImageConfigError(f"Field `{self.field_name('tag')}` has an invalid image name: {exc}") from None
        return tuple(items)

    @cached_property
    def archive(self) -> bool:
        """Whether to write the OCI archive ``NAME-VERSION-image.tar`` into the build directory."""
        return self._bool("archive", default=True)

    @cached_property
    def flavour(self) -> str:
        """Dockerfile mode: ``portable`` (default) or ``buildkit``."""
        value = self.image_keys.get("flavour", "portable")
        if not isinstance(value, str) or value not in FLAVOURS:
            raise ImageConfigError(f"Field `{self.field_name('flavour')}` must be one of: {', '.join(FLAVOURS)}")
        return value

    @cached_property
    def offline(self) -> bool:
        """Dockerfile mode: put every wheel into the context, so it builds with no network."""
        return self._bool("offline", default=False)

    @cached_property
    def insecure_registries(self) -> tuple[str, ...]:
        """``HOST:PORT`` registries reached over plain HTTP (loopback ones always are)."""
        return self._string_array("insecure-registries")

    @cached_property
    def plan_settings(self) -> dict[str, Any]:
        """The ``[tool.layerplan]`` options set in the target table, as ``PlanConfig`` field values."""
        from layerplan.plan.config import check_option

        settings: dict[str, Any] = {}
        for key, raw in self.image_keys.items():
            if key not in layerplan_keys() or key in PLUGIN_KEYS:
                continue
            try:
                settings[key.replace("-", "_")] = check_option(key, raw)
            except ConfigError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                raise ImageConfigError(f"Field `{self.field_name(key)}` {exc.message}{hint}") from None
        return settings

    @cached_property
    def outputs(self) -> tuple[str, ...]:
        """The configured outputs (``outputs``), each a valid output spec."""
        from layerplan.transports import parse_output

        specs: tuple[str, ...] = self.plan_settings.get("outputs", ())
        for index, spec in enumerate(specs, 1):
            try:
                parse_output(spec)
            except ConfigError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                raise ImageConfigError(f"Output #{index} of field `{self.field_name('outputs')}`: {exc.message}{hint}") from None
        return specs

    def _bool(self, key: str, *, default: bool) -> bool:
        value = self.image_keys.get(key, default)
        if not isinstance(value, bool):
            raise ImageConfigTypeError(f"Field `{self.field_name(key)}` must be a boolean")
        return value

    def _string_array(self, key: str) -> tuple[str, ...]:
        value = self.image_keys.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ImageConfigTypeError(f"Field `{self.field_name(key)}` must be an array of strings")
        return tuple(value)

