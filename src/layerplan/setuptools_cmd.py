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
from setuptools.errors import BaseError  # type: ignore[import-untyped, unused-ignore]

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
            ("base image: REF or docker://REF, docker-daemon:NAME, oci:DIR[:REF], oci-archive:FILE, docker-archive:FILE "
            "[default: tool.layerplan.base]"),
        ),
        (
            "output=",
            "o",
            ("comma-separated outputs: docker://REF, docker-daemon:REF, oci:DIR, oci-archive:FILE, docker-archive:FILE "
            "[default: tool.layerplan.outputs, else oci-archive:dist/NAME-VERSION-image.tar]"),
        ),
        ("platform=", None, "target os/arch, e.g. linux/arm64 [default: the base image's]"),
        ("tag=", None, "comma-separated names for archive outputs [default: NAME:VERSION]"),
        ("lock=", None, "lockfile [default: tool.layerplan.lock, else auto-detected]"),
        ("cache-from=", None, "comma-separated images whose matching layers are reused [default: each registry output]"),
        ("cache-dir=", None, "layer and wheel cache [default: $LAYERPLAN_CACHE_DIR or ~/.cache/layerplan]"),
    ]

    def initialize_options(self) -> None:
        self.base: str | None = None
        self.output: str | None = None
        self.platform: str | None = None
        self.tag: str | None = None
        self.lock: str | None = None
        self.cache_dir: str | None = None
        self.cache_from: str | None = None

    def finalize_options(self) -> None:
        self.outputs = _split(self.output)
        self.tags = _split(self.tag)
        self.cache_refs = _split(self.cache_from)

    @property
    def project_root(self) -> Path:
        """The directory of the setup script (the current directory for ``python -c``)."""
        script = self.distribution.script_name or ""
        directory = os.path.dirname(os.path.abspath(script)) if os.path.isfile(script) else os.getcwd()
        return Path(directory)

    def run(self) -> None:
        from layerplan.containerize import build_image
        from layerplan.resolution import Request, command_line_layer

        root = self.project_root
        try:
            # This command's options (its command line, or setup.cfg [build_image] through
            # distutils) are the front end's layer; the resolution merges the rest. Its
            # checks are the same as every front end's, so a bad value reads the same.
            options = command_line_layer(
                {
                    "base": ("--base", self.base),
                    "outputs": ("--output", self.outputs),
                    "platform": ("--platform", self.platform),
                    "tags": ("--tag", self.tags),
                    "lock": ("--lock", self.lock),
                    "cache_from": ("--cache-from", self.cache_refs),
                },
                origin="setup.py build_image",
                cwd=root,
            )
            request = Request(
                project=root,
                options=options,
                default_outputs=(f"oci-archive:{self._default_archive(root)}",),
                app_version=self.distribution.get_version(),
                cache_dir=Path(self.cache_dir) if self.cache_dir else None,
            )
            self.announce(f"building the image of {self.distribution.get_name()} with layerplan", level=2)
            from layerplan.progress import show_progress

            # distutils' verbosity: 0 with -q, 1 by default, 2 and more with -v
            with show_progress(quiet=not self.verbose, verbose=self.verbose > 1) as progress:
                report = build_image(request, quiet=not self.verbose, progress=progress)
        except LayerplanError as exc:
            raise BuildImageError(str(exc)) from None
        self._print(report)

    def _print(self, report: BuildReport) -> None:
        from layerplan.console import results, warn_each
        from layerplan.containerize import print_report

        warn_each(report.warnings)
        if self.verbose:
            print_report(report, results())
        else:
            print(report.image_digest)

    def _default_archive(self, root: Path) -> Path:
        return default_archive(self.distribution.get_name(), self.distribution.get_version(), root / "dist")


# distutils titles `--help` with the class's name ("Options for 'BuildImage' command:");
# its own commands are classes named as the command (`build_py`), so name this one so too.
BuildImage.__name__ = BuildImage.__qualname__ = "build_image"
