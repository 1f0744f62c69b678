"""Front-end stage: the direct (daemonless) image build, from plan to outputs."""

from layerplan.containerize.entry import build_image
from layerplan.containerize.report import BuildReport, print_report
from layerplan.containerize.request import BuildRequest
from layerplan.transports import parse_output

__all__ = ["BuildReport", "BuildRequest", "build_image", "parse_output", "print_report"]
