"""A pytest plugin (registered as ``cdk_streams``) for apps that test with cdk-streams.

When syrupy is not installed, the ``snapshot`` fixture fails with one line that
names the extra to install, instead of pytest's ``fixture 'snapshot' not found``;
so does ``pytest --snapshot-update``, instead of ``unrecognized arguments``.
With syrupy installed this plugin defines nothing.
"""

from __future__ import annotations

import pytest

from .optional import MissingExtraError, require


def _missing_syrupy() -> str | None:
    """The one-line message naming the extra, or None when syrupy is installed."""
    try:
        require("syrupy", "testing", "snapshot testing")
    except MissingExtraError as error:
        return str(error)
    return None


_MISSING = _missing_syrupy()

if _MISSING is not None:
    _MESSAGE: str = _MISSING

    @pytest.fixture
    def snapshot() -> None:
        """Stands in for syrupy's fixture and says how to get it."""
        # Called outside any except block: pytest shows the line once, unchained.
        pytest.fail(_MESSAGE, pytrace=False)

    def pytest_addoption(parser: pytest.Parser) -> None:
        parser.addoption(
            "--snapshot-update",
            action="store_true",
            help="update snapshots (needs syrupy: pip install 'cdk-streams[testing]')",
        )

    def pytest_configure(config: pytest.Config) -> None:
        if config.getoption("--snapshot-update"):
            raise pytest.UsageError(_MESSAGE)
