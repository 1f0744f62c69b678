"""setuptools front end: ``python setup.py build_image`` builds the project's container image.

Registered through the ``distutils.commands`` entry point, so any setuptools project
whose environment has layerplan installed gets the command. It reads ``[tool.layerplan]``
like ``layerplan build`` does; command-line options (or a ``[build_image]`` section in
``setup.cfg``) win over it. The wheel of the app layer is built by the project's own
PEP 517 backend -- setuptools -- exactly as ``layerplan build`` builds it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

# Typed in recent setuptools only: the ignores cover the older ones.
from setuptools import Command  # type: ignore[import-untyped, unused-ignore]
from setuptools.errors import BaseError, OptionError  # type: ignore[import-untyped, unused-ignore]

from layerplan.errors import LayerplanError

if TYPE_CHECKING:
    from layerplan.containerize import BuildReport

__all__ = ["BuildImage", "BuildImageError", "default_archive"]


class BuildImageError(BaseError):  # type: ignore[misc, unused-ignore]
    """A ``LayerplanError`` as setuptools reports errors: ``error: ...``, exit status 1."""


def default_archive(name: str, version: str, directory: Path) -> Path:
    """``DIR/NAME-VERSION-image.tar``, the name escaped as in wheel file names."""
    stem = re.sub(r"[-_.]+", "_", name).lower()
    return directory / f"{stem}-{version}-image.tar"


def _split(value: str | None) -> tuple[str, ...]:
    """``"a, b"`` -> ``("a", "b")``: distutils options are strings, so lists are comma-separated."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class BuildImage(Command):  # type: ignore[misc, unused-ignore]
    """``build_image``: plan from the lockfile, build the layers, write/push the image."""

    description = "build a layered container image of the project from its lockfile (layerplan)"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = [
        (
            "base=",
            None,
            ("base image: REF, docker://NAME, oci-layout:DIR, oci-archive:FILE, docker-archive:FILE "
            "[default: tool.layerplan.base]"),
        ),
        (
            "output=",
            "o",
            ("comma-separated outputs: oci:DIR, oci-archive:FILE, docker-archive:FILE, registry:REF, docker:REF "
            "[default: tool.layerplan.transports, else oci-archive:dist/NAME-VERSION-image.tar]"),
        ),
        ("platform=", None, "target os/arch, e.g. linux/arm64 [default: the base image's]"),
        ("tag=", None, "comma-separated names for archive outputs [default: NAME:VERSION]"),
        ("lock=", None, "lockfile [default: tool.layerplan.lock, else auto-detected]"),
        ("cache-dir=", None, "layer and wheel cache [default: $LAYERPLAN_CACHE_DIR or ~/.cache/layerplan]"),
    ]

    def initialize_options(self) -> None:
        self.base: str | None = None
        self.output: str | None = None
        self.platform: str | None = None
        self.tag: str | None = None
        self.lock: str | None = None
        self.cache_dir: str | None = None

    def finalize_options(self) -> None:
        from layerplan.transports import parse_output
        from layerplan.oci.reference import ImageReference

        self.outputs = _split(self.output)
        self.tags = _split(self.tag)
        for spec in self.outputs:
            try:
                parse_output(spec)
            except LayerplanError as exc:
                raise OptionError(f"--output: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")) from None
        for tag in self.tags:
            try:
                ImageReference.parse(tag)
            except ValueError as exc:
                raise OptionError(f"--tag: {exc}") from None
        if self.platform is not None and not re.fullmatch(r"[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?", self.platform):
            raise OptionError(f"--platform: {self.platform!r} is not OS/ARCH, e.g. linux/amd64")

    @property
    def project_root(self) -> Path:
        """The directory of the setup script (the current directory for ``python -c``)."""
        script = self.distribution.script_name or ""
        directory = os.path.dirname(os.path.abspath(script)) if os.path.isfile(script) else os.getcwd()
        return Path(directory)

    def run(self) -> None:
        from layerplan.containerize import BuildRequest, build_image
        from layerplan.planning import PlanRequest, load_lock, project_config
        from layerplan.project import read_project

        root = self.project_root
        try:
            project = read_project(root)
            config = project_config(project)
            load_lock(project, config, root / self.lock if self.lock else None)  # fail before any slow work
            outputs = self.outputs or config.outputs or (f"oci-archive:{self._default_archive(root)}",)
            request = BuildRequest(
                plan=PlanRequest(
                    project=root,
                    lock=root / self.lock if self.lock else None,
                    platform=self.platform,
                    allow_missing_wheels=False,
                ),
                base=self.base,
                outputs=tuple(_absolute(spec, root) for spec in outputs),
                tags=self.tags or (self._default_tag(),),
                cache_dir=Path(self.cache_dir) if self.cache_dir else None,
                quiet=not self.verbose,
            )
            self.announce(f"building the image of {self.distribution.get_name()} with layerplan", level=2)
            report = build_image(request)
        except LayerplanError as exc:
            raise BuildImageError(str(exc)) from None
        self._print(report)

    def _print(self, report: BuildReport) -> None:
        from rich.console import Console

        from layerplan.containerize import print_report

        if self.verbose:
            print_report(report, Console(highlight=False))
        else:
            print(report.image_digest)

    def _default_archive(self, root: Path) -> Path:
        return default_archive(self.distribution.get_name(), self.distribution.get_version(), root / "dist")

    def _default_tag(self) -> str:
        name = re.sub(r"[^a-z0-9._-]+", "-", self.distribution.get_name().lower()).strip("-._") or "image"
        version = re.sub(r"[^\w.-]", "-", self.distribution.get_version())[:128] or "latest"
        return f"{name}:{version}"


def _absolute(spec: str, root: Path) -> str:
    """File and directory outputs are relative to the project, not the working directory."""
    kind, _, target = spec.partition(":")
    if kind in ("oci", "oci-archive", "docker-archive") and not os.path.isabs(target):
        return f"{kind}:{root / target}"
    return spec
