"""Front end: the ``layerplan`` command line."""
