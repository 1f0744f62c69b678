"""The ``image`` build target: ``hatch build -t image`` builds the project's container image.

The app layer holds the wheel hatchling's own wheel builder makes (the same one
``hatch build -t wheel`` would), so the image runs exactly what would be published.
Everything else -- planning, layers, outputs -- is layerplan's ``build_image``, or, in
``dockerfile`` mode, layerplan's Dockerfile emitter.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from hatchling.builders.plugin.interface import BuilderInterface
from hatchling.plugin.manager import PluginManager

from hatch_layers.config import ImageBuilderConfig, ImageConfigError
from layerplan.errors import LayerplanError, LockfileError

if TYPE_CHECKING:
    from layerplan.resolution import Request

# layerplan's pipeline is imported when a build runs, not when hatchling loads its
# plugins: every hatchling build in an environment with layerplan loads this module.

__all__ = ["ImageBuilder"]

HATCHLING_BACKEND = "hatchling.build"


class ImageBuilder(BuilderInterface[ImageBuilderConfig, PluginManager]):
    """Builds ``NAME-VERSION-image.tar`` (an OCI archive) and the configured outputs,
    or, in ``dockerfile`` mode, the build context ``NAME-VERSION-image-context/``."""

    PLUGIN_NAME = "image"

    def get_version_api(self) -> dict[str, Callable[..., str]]:
        return {"standard": self.build_standard}

    def get_default_versions(self) -> list[str]:
        return ["standard"]

    @classmethod
    def get_config_class(cls) -> type[ImageBuilderConfig]:
        return ImageBuilderConfig

    def clean(self, directory: str, versions: list[str]) -> None:
        """``hatch build -c``: remove earlier image archives and build contexts."""
        for entry in Path(directory).glob("*-image*"):
            if entry.is_file() and entry.name.endswith("-image.tar"):
                entry.unlink()
            elif entry.is_dir() and entry.name.endswith("-image-context"):
                shutil.rmtree(entry)

    def build(self, **kwargs: Any) -> Generator[str, None, None]:
        """Hatchling's build, plus every other output of the image (registry pushes, OCI
        layouts...), so hatch lists them all."""
        self._more_artifacts: list[str] = []
        for artifact in super().build(**kwargs):
            yield artifact
            yield from self._more_artifacts
            self._more_artifacts = []

    def build_standard(self, directory: str, **build_data: Any) -> str:
        """Build the image (or the Dockerfile context) into ``directory``; return its path.

        Bad configuration and every ``LayerplanError`` end the build with one message.
        """
        try:
            self._check_backend()
            self.config.validate()
            if self.config.mode == "dockerfile":
                return self._build_context(Path(directory))
            return self._build_image(Path(directory))
        except ImageConfigError as exc:
            self._abort(str(exc))
        except LayerplanError as exc:
            self._abort(_describe(exc, self.config.field_name("lock")))

    # -- the two modes --------------------------------------------------------------

    def _build_image(self, directory: Path) -> str:
        from layerplan.containerize import build_image, print_report

        config = self.config
        archive = directory / f"{self.project_id}-image.tar"
        quiet = self.app.verbosity < 0
        self.app.display_waiting(f"Building the image of {self.metadata.core.name} {self.metadata.version}")
        from layerplan.progress import show_progress

        with show_progress(quiet=quiet, verbose=self.app.verbosity > 0) as progress:
            report = build_image(
                self._request(extra_outputs=(f"oci-archive:{archive}",) if config.archive else ()),
                quiet=quiet,
                progress=progress,
            )
        from layerplan.console import diagnostics, warn_each

        warn_each(report.warnings)
        if not quiet:
            print_report(report, diagnostics())
        locations = [o.location for o in report.outputs]
        self._more_artifacts = [loc for loc in locations if loc != str(archive)]
        return str(archive) if config.archive else self._more_artifacts.pop(0)

    def _build_context(self, directory: Path) -> str:
        from hatch_layers.dockerfile import write_context

        config = self.config
        context = directory / f"{self.project_id}-image-context"
        self.app.display_waiting(f"Writing the Dockerfile build context of {self.metadata.core.name} {self.metadata.version}")
        warnings = write_context(self._request(), context, flavour=config.flavour, offline=config.offline, quiet=True)
        for warning in warnings:
            self.app.display_warning(f"warning: {warning}")
        return str(context)

    # -- helpers --------------------------------------------------------------------

    def _check_backend(self) -> None:
        backend = self.metadata.build.build_backend
        if backend and backend != HATCHLING_BACKEND:
            hint = " or `python setup.py build_image`" if backend.startswith("setuptools") else ""
            self._abort(
                f"This project builds with `{backend}`, not hatchling, so the `{self.PLUGIN_NAME}` target "
                f"cannot build its wheel. Build its image with the layerplan CLI instead: "
                f"`layerplan build --base IMAGE --output oci-archive:dist/image.tar`{hint}"
            )

    def _request(self, *, extra_outputs: tuple[str, ...] = ()) -> Request:
        """The resolution request: this target's table is the build tool's layer (it may
        come from hatch.toml, so it is passed, not re-read); the app wheel is hatchling's."""
        from layerplan.resolution import Request
        from layerplan.resolution.options import table_layer

        config = self.config
        values = dict(config.plan_settings)
        if config.tags:
            values["tags"] = config.tags
        if config.insecure_registries:
            values["insecure_registries"] = config.insecure_registries
        return Request(
            project=Path(self.root),
            tool_table=table_layer(values, prefix=f"tool.hatch.build.targets.{self.PLUGIN_NAME}", base=Path(self.root)),
            app_wheel=self._app_wheel_maker(values.get("package")),
            app_version=str(self.metadata.version),
            extra_outputs=extra_outputs,
        )

    def _app_wheel_maker(self, package: str | None) -> Callable[[Path], Path] | None:
        """Builds the project's wheel with hatchling's own wheel builder (its
        ``[tool.hatch.build.targets.wheel]`` settings and build hooks apply).

        ``None`` when the image is of a uv workspace member: layerplan builds that one.
        """
        if package:
            return None

        def make(scratch: Path) -> Path:
            from hatchling.builders.wheel import WheelBuilder

            wheel_builder = WheelBuilder(self.root, plugin_manager=self.plugin_manager, metadata=self.metadata, app=self.app)
            artifacts = wheel_builder.build(directory=str(scratch), versions=["standard"], hooks_only=False, clean=False)
            return Path(next(iter(artifacts)))

        return make

    def _abort(self, message: str) -> NoReturn:
        self.app.abort(message)
        raise SystemExit(1)  # abort exits; this keeps type checkers (and a stub app) honest


def _describe(error: LayerplanError, lock_field: str) -> str:
    """One message for ``error``; a missing lock says how to make one, for hatch users."""
    if isinstance(error, LockfileError) and error.message == "no lockfile found":
        return (
            f"No lockfile found in {error.path}: the image installs exactly what a lock pins. "
            f"Create one with `uv lock` (or poetry/pdm/pipenv, or a pylock.toml), "
            f"or point `{lock_field}` at it"
        )
    return str(error)
