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


def pytest_collection_modifyitems(items: list) -> None:
    """Run the modules marked slow first (local-cloud deploys, the CDK CLI, other venvs).

    pytest-xdist hands modules to workers in collection order, and these are the
    longest (5-20 s each): started last, one of them keeps a worker busy while
    the others have nothing left. Order within each module is unchanged.
    """
    slow_modules = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_modules)
