"""Put ``lambda_src`` on ``sys.path`` so tests import the runtime as Lambda does.

Import this module first in a test module: ``import runtime_path  # noqa: F401``.
"""

import sys
from pathlib import Path

LAMBDA_SRC = Path(__file__).resolve().parent.parent / "lambda_src"

if str(LAMBDA_SRC) not in sys.path:
    sys.path.insert(0, str(LAMBDA_SRC))
