"""Shared test set-up.

CDK's built-in template validator costs about 2 s per process; unit tests turn
it off. tests/test_snapshot.py synthesizes the sample app with the real CDK CLI
with the validator on, so one test still runs it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

os.environ.setdefault("CDK_VALIDATION", "false")

# Example counts (see tests/hypothesis_budget.py): `make test` runs a third of each
# test's thorough count; CDK_STREAMS_HYPOTHESIS=thorough runs them all.
settings.register_profile("quick", max_examples=34)
settings.register_profile("thorough", max_examples=100)
settings.load_profile(os.environ.get("CDK_STREAMS_HYPOTHESIS", "quick"))

REPO = Path(__file__).resolve().parent.parent
# Node 24 from the virtualenv, for jsii and the CDK CLI, even when pytest is
# started without `make`.
_BIN = str(Path(sys.executable).parent)
if not os.environ.get("PATH", "").startswith(_BIN):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")
