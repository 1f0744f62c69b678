"""The target, decided once: explicit options, else what the base image runs, else the defaults.

An explicit option that the base cannot run (another architecture, another libc
family or a newer libc, another Python) is an error naming both sides: building for it
would give an image that fails at ``docker run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet

from layerplan.errors import TargetError
from layerplan.oci.platform import Platform
from layerplan.resolution.options import Settings
from layerplan.target import DEFAULT_LIBC, DEFAULT_PLATFORM, Libc, Target, default_python, parse_platforms, parse_python

if TYPE_CHECKING:  # only the facts' shape: the image stack loads when a base is opened
    from layerplan.image.platform import DetectedPlatform

__all__ = ["TargetDecision", "base_target", "decide_target", "requested_platform", "requested_platforms"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetDecision:
    """The target and, per fact, where it came from (for ``plan`` and for messages)."""

    target: Target
    python_from: str
    platform_from: str
    libc_from: str

    def describe(self) -> str:
        """``Python 3.11.2 (base image X), linux/amd64 (default), glibc-2.36 (--libc)``."""
        python = self.target.python_full_version or self.target.python_version_text
        return (
            f"Python {python} ({self.python_from}), {self.target.platform} ({self.platform_from}), "
            f"{self.target.libc} ({self.libc_from})"
        )


def requested_platforms(settings: Settings) -> tuple[Platform, ...]:
    """The platforms to build, in order (one image each): the option, else the default."""
    return parse_platforms(settings.config.platform) if settings.config.platform else (DEFAULT_PLATFORM,)


def requested_platform(settings: Settings) -> Platform:
    """The first platform to build (the only one, unless several are asked for)."""
    return requested_platforms(settings)[0]


def decide_target(
    settings: Settings,
    requires_python: SpecifierSet | None,
    base: DetectedPlatform | None,
    base_name: str | None,
    *,
    platform: Platform | None = None,
) -> TargetDecision:
    """The target of the build for ``platform`` (default: the first one asked for); raise
    ``TargetError`` when an option contradicts the base."""
    config = settings.config
    wanted = platform or requested_platform(settings)
    if base is None:
        return TargetDecision(
            target=Target(
                python_version=parse_python(config.python)[0] if config.python else default_python(requires_python),
                python_full_version=parse_python(config.python)[1] if config.python else None,
                os=wanted.os,
                arch=wanted.architecture,
                libc=Libc.parse(config.libc) if config.libc else DEFAULT_LIBC,
            ),
            python_from=settings.origin("python") or _default_python_reason(requires_python),
            platform_from=settings.origin("platform") or "default",
            libc_from=settings.origin("libc") or "default",
        )
    from_base = f"base image {base_name}"
    found = base_target(base, base_name or "the base image", libc=config.libc)
    if config.platform:
        if not wanted.matches(Platform(os=found.os, architecture=found.arch, variant=base.variant)):
            raise TargetError(
                f"{settings.origin('platform')} asks for {wanted}, but {from_base} is {base.os}/{base.arch}",
                hint=f"drop the platform option (the base decides), or use a base image that has {wanted}",
            )
    if config.python:
        version, full = parse_python(config.python)
        if version != found.python_version or (full and found.python_full_version and full != found.python_full_version):
            raise TargetError(
                f"{settings.origin('python')} asks for Python {full or config.python}, "
                f"but {from_base} has Python {base.python_version}",
                hint="drop the python option (the base decides), or use a base image with that Python",
            )
    if config.libc:
        wanted_libc = Libc.parse(config.libc)
        have = _base_libc(base)
        if have is not None and (wanted_libc.family != have.family or (wanted_libc.major, wanted_libc.minor) > (have.major, have.minor)):
            raise TargetError(
                f"{settings.origin('libc')} asks for {wanted_libc}, but {from_base} has {have}: "
                "wheels built for it would not load there",
                hint="drop the libc option (the base decides), or use a base image with that C library",
            )
    return TargetDecision(
        target=found,
        python_from=from_base,
        platform_from=from_base,
        libc_from=settings.origin("libc") or from_base,
    )


def base_target(base: DetectedPlatform, name: str, *, libc: str | None = None) -> Target:
    """The target a base image gives (``libc`` fills in a C library it does not show)."""
    have = _base_libc(base)
    chosen = Libc.parse(libc) if libc else have
    if chosen is None:
        raise TargetError(
            f"the C library (glibc or musl) of {name} and its version could not be found",
            hint="set the target libc explicitly, e.g. --libc glibc-2.36 or musl-1.2",
        )
    full = base.python_version if base.python_version.count(".") == 2 else None
    return Target(
        python_version=base.python_minor,
        python_full_version=full,
        os=base.os,
        arch=base.arch,
        libc=chosen,
        python_path=base.python_path,
    )


def _base_libc(base: DetectedPlatform) -> Libc | None:
    if base.libc_family is None or base.libc_version is None:
        return None
    return Libc.parse(f"{base.libc_family}-{'.'.join(base.libc_version.split('.')[:2])}")


def _default_python_reason(requires_python: SpecifierSet | None) -> str:
    return f"default for requires-python {requires_python}" if requires_python else "default"
