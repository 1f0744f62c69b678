"""layerplan-example: a small app whose image layerplan's tests build and run."""

__version__ = "0.1.0"
