"""``python -m cdk_streams.cli``."""

import sys

from . import main

sys.exit(main())
