"""``python -m layerplan``."""

import sys

from layerplan.cli.main import main

sys.exit(main())
