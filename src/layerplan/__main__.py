"""``python -m layerplan``."""

from layerplan.cli.main import console

console()
