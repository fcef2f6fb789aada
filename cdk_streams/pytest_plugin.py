"""A pytest plugin (registered as ``cdk_streams``) for apps that test with cdk-streams.

When syrupy is not installed, the ``snapshot`` fixture fails with one line that
names the extra to install, instead of pytest's ``fixture 'snapshot' not found``.
With syrupy installed this plugin defines nothing.
"""

from __future__ import annotations

import pytest

from .optional import require

try:
    import syrupy  # noqa: F401
except ImportError:

    @pytest.fixture
    def snapshot() -> None:
        """Stands in for syrupy's fixture and says how to get it."""
        try:
            require("syrupy", "testing", "snapshot testing")
        except ImportError as error:
            pytest.fail(str(error), pytrace=False)
