"""Where the bundled handler code lives: the sample ProcessOrderChanges handler
and the ``stream_runtime`` package it stands on.

Standard library only, on purpose: the CDK bundling, the CLI and the custom
consumer all need this lookup, and only the first may start jsii's Node process.
"""

from __future__ import annotations

from pathlib import Path

#: The sample handler inside the bundled code: ProcessOrderChanges.
SAMPLE_HANDLER = "process_order_changes.handler"
#: The handler runtime's package name.
RUNTIME_PACKAGE = "stream_runtime"
#: The file in a handler directory whose packages go into the function's code.
REQUIREMENTS_FILE = "requirements.txt"
#: Directories that never go from a handler directory into a function's code:
#: caches, virtualenvs, VCS data, and cdk.out (an app kept inside its handler
#: directory must not bundle its own output). ``*.pyc`` files stay out too.
IGNORED_DIRS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".venv", ".git", "cdk.out")
#: Template metadata on a function whose code comes from a ``handler_dir``: that
#: directory, relative to the app directory. The local cloud reloads the
#: function's code from there (``cdk-streams local up --watch``).
HANDLER_DIR_METADATA = "cdk_streams:handler_dir"
#: The context key that turns that metadata on. Only the local cloud's synth sets
#: it, so templates for AWS (and snapshots) carry no local paths, as the CDK's own
#: ``aws:cdk:enable-asset-metadata`` keeps asset paths out when asked.
HANDLER_DIR_CONTEXT = "cdk-streams:handler-dir-metadata"


def bundled_code_dir() -> Path:
    """The directory holding ``stream_runtime`` and the sample handler.

    In an installed wheel it is ``cdk_streams/_lambda_src`` (pyproject's
    force-include puts it there); in a checkout or an editable install it is
    the repository's ``lambda_src/``.

    :raises FileNotFoundError: neither copy exists.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_lambda_src", package.parent / "lambda_src"):
        if (candidate / RUNTIME_PACKAGE).is_dir():
            return candidate
    raise FileNotFoundError(
        "cdk_streams: the bundled handler code is missing; expected "
        f"{package / '_lambda_src'} (wheel) or {package.parent / 'lambda_src'} (checkout)"
    )
