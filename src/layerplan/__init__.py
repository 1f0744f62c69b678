"""layerplan: plan and build layered container images for Python projects from their lockfile."""

__all__ = ["__version__"]

__version__ = "0.1.0"
