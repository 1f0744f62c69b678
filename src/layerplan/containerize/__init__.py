"""Back end: the direct (daemonless) image build, from the resolved build to its outputs."""

from layerplan.containerize.entry import build_image
from layerplan.containerize.report import BuildReport, print_report

__all__ = ["BuildReport", "build_image", "print_report"]
