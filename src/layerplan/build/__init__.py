"""Front-end stage: the direct (daemonless) image build, from plan to outputs."""

from layerplan.build.containerize import build_image
from layerplan.build.report import BuildReport, print_report
from layerplan.build.request import BuildRequest, OutputSpec, parse_output

__all__ = ["BuildReport", "BuildRequest", "OutputSpec", "build_image", "parse_output", "print_report"]
