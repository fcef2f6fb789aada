"""A function's code directory, assembled from a handler directory as the
construct's bundler assembles it: the directory, plus the bundled
``stream_runtime`` package unless the directory vendors its own.

Standard library only (the bundler itself runs inside jsii's callback).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..handler_code import RUNTIME_PACKAGE, bundled_code_dir

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".venv")


def copy_handler_code(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` (which must not exist) with the runtime beside it."""
    shutil.copytree(source, target, ignore=_IGNORE)
    if not (target / RUNTIME_PACKAGE).exists():
        shutil.copytree(
            bundled_code_dir() / RUNTIME_PACKAGE, target / RUNTIME_PACKAGE, ignore=_IGNORE
        )
    return target
