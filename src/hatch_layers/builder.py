"""The ``image`` build target: ``hatch build -t image`` builds the project's container image.

The app layer holds the wheel hatchling's own wheel builder makes (the same one
``hatch build -t wheel`` would), so the image runs exactly what would be published.
Everything else -- planning, layers, outputs -- is layerplan's ``build_image``, or, in
``dockerfile`` mode, layerplan's Dockerfile emitter.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from hatchling.builders.plugin.interface import BuilderInterface
from hatchling.plugin.manager import PluginManager

from hatch_layers.config import ImageBuilderConfig, ImageConfigError
from layerplan.errors import LayerplanError, LockfileError

if TYPE_CHECKING:
    from layerplan.plan.config import PlanConfig
    from layerplan.planning import PlanRequest

# layerplan's pipeline is imported when a build runs, not when hatchling loads its
# plugins: every hatchling build in an environment with layerplan loads this module.

__all__ = ["ImageBuilder"]

HATCHLING_BACKEND = "hatchling.build"
_PLAN_FIELDS = ("python", "platform", "libc", "package")
"""Options ``PlanRequest`` takes as fields of its own (the rest go in ``overrides``)."""
_NOT_PLAN = ("base", "outputs")
"""Options of the build, not of the plan."""


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
            layerplan_config = self._check_project()
            if self.config.mode == "dockerfile":
                return self._build_context(Path(directory), layerplan_config)
            return self._build_image(Path(directory), layerplan_config)
        except ImageConfigError as exc:
            self._abort(str(exc))
        except LayerplanError as exc:
            self._abort(_describe(exc, self.config.field_name("lock")))

    # -- the two modes --------------------------------------------------------------

    def _build_image(self, directory: Path, layerplan_config: PlanConfig) -> str:
        from layerplan.containerize import BuildRequest, build_image, print_report

        config = self.config
        archive = directory / f"{self.project_id}-image.tar"
        outputs = [f"oci-archive:{archive}"] if config.archive else []
        outputs += [_absolute(spec, Path(self.root)) for spec in (config.outputs or layerplan_config.outputs)]
        outputs = list(dict.fromkeys(outputs))
        if not outputs:
            raise ImageConfigError(
                f"Nothing to build: field `{config.field_name('archive')}` is false and no outputs are "
                f"configured (set `{config.field_name('outputs')}`)"
            )
        quiet = self.app.verbosity < 0
        self.app.display_waiting(f"Building the image of {self.metadata.core.name} {self.metadata.version}")
        with tempfile.TemporaryDirectory(prefix="hatch-layers-") as scratch:
            request = BuildRequest(
                plan=self._plan_request(allow_missing_wheels=False),
                base=config.plan_settings.get("base"),
                outputs=tuple(outputs),
                tags=config.tags or (self._default_tag(),),
                insecure_registries=config.insecure_registries,
                app_wheel=self._app_wheel(Path(scratch), config.plan_settings.get("package", layerplan_config.package)),
                quiet=quiet,
            )
            report = build_image(request)
        if not quiet:
            from rich.console import Console

            print_report(report, Console(file=sys.stderr, highlight=False))
        locations = [o.location for o in report.outputs]
        self._more_artifacts = [loc for loc in locations if loc != str(archive)]
        return str(archive) if config.archive else self._more_artifacts.pop(0)

    def _build_context(self, directory: Path, layerplan_config: PlanConfig) -> str:
        from hatch_layers.dockerfile import write_context

        config = self.config
        context = directory / f"{self.project_id}-image-context"
        self.app.display_waiting(f"Writing the Dockerfile build context of {self.metadata.core.name} {self.metadata.version}")
        package = config.plan_settings.get("package", layerplan_config.package)
        with tempfile.TemporaryDirectory(prefix="hatch-layers-") as scratch:
            warnings = write_context(
                self._plan_request(allow_missing_wheels=True),
                context,
                base=config.plan_settings.get("base"),
                flavour=config.flavour,
                offline=config.offline,
                quiet=True,
                app_wheel=self._app_wheel(Path(scratch), package),
            )
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

    def _check_project(self) -> PlanConfig:
        """Fail fast -- before building a wheel or reaching a registry -- on a bad
        ``[tool.layerplan]`` or a missing lockfile; return ``[tool.layerplan]``."""
        from layerplan.planning import load_lock, project_config
        from layerplan.project import read_project

        project = read_project(self.root)
        config = project_config(project)
        lock = self.config.plan_settings.get("lock")
        load_lock(project, config, Path(self.root) / lock if lock else None)
        return config

    def _plan_request(self, *, allow_missing_wheels: bool) -> PlanRequest:
        from layerplan.planning import PlanRequest

        settings = dict(self.config.plan_settings)
        for name in _NOT_PLAN:
            settings.pop(name, None)
        lock = settings.pop("lock", None)
        extras = settings.pop("extras", ())
        groups = settings.pop("dependency_groups", ())
        fields = {name: settings.pop(name) for name in _PLAN_FIELDS if name in settings}
        return PlanRequest(
            project=Path(self.root),
            lock=Path(self.root) / lock if lock else None,
            extras=tuple(extras),
            groups=tuple(groups),
            allow_missing_wheels=allow_missing_wheels,
            overrides=settings,
            **fields,
        )

    def _app_wheel(self, scratch: Path, package: str | None) -> Path | None:
        """The project's wheel, built by hatchling's own wheel builder (its
        ``[tool.hatch.build.targets.wheel]`` settings and build hooks apply).

        ``None`` when the image is of a uv workspace member: layerplan builds that one.
        """
        if package:
            return None
        from hatchling.builders.wheel import WheelBuilder

        wheel_builder = WheelBuilder(self.root, plugin_manager=self.plugin_manager, metadata=self.metadata, app=self.app)
        artifacts = wheel_builder.build(directory=str(scratch), versions=["standard"], hooks_only=False, clean=False)
        return Path(next(iter(artifacts)))

    def _default_tag(self) -> str:
        """``name:version``, made valid as an image name."""
        name = re.sub(r"[^a-z0-9._-]+", "-", self.metadata.core.name.lower()).strip("-._") or "image"
        version = re.sub(r"[^\w.-]", "-", str(self.metadata.version))[:128] or "latest"
        return f"{name}:{version}"

    def _abort(self, message: str) -> NoReturn:
        self.app.abort(message)
        raise SystemExit(1)  # abort exits; this keeps type checkers (and a stub app) honest


def _absolute(spec: str, root: Path) -> str:
    """A file or directory output relative to the project root, made absolute."""
    kind, _, target = spec.partition(":")
    if kind in ("oci", "oci-archive", "docker-archive") and not os.path.isabs(target):
        return f"{kind}:{root / target}"
    return spec


def _describe(error: LayerplanError, lock_field: str) -> str:
    """One message for ``error``; a missing lock says how to make one, for hatch users."""
    if isinstance(error, LockfileError) and error.message == "no lockfile found":
        return (
            f"No lockfile found in {error.path}: the image installs exactly what a lock pins. "
            f"Create one with `uv lock` (or poetry/pdm/pipenv, or a pylock.toml), "
            f"or point `{lock_field}` at it"
        )
    return str(error)
