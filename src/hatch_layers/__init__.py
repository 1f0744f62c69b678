"""hatch_layers: ``hatch build -t image`` -- a hatchling build target for container images.

Registered through the ``hatch`` entry-point group (``hatch_layers.hooks``); configured
in ``[tool.hatch.build.targets.image]`` (see docs/hatch.md). It builds the project's
wheel with hatchling's own wheel builder and hands it to layerplan.
"""

from hatch_layers.builder import ImageBuilder
from hatch_layers.config import ImageBuilderConfig, ImageConfigError

__all__ = ["ImageBuilder", "ImageBuilderConfig", "ImageConfigError"]
