"""The Lambda code assets: the bundled sample handler, or the user's handler_dir
with the bundled ``stream_runtime`` package added to it.

Both build without Docker. The user's directory is copied with the runtime into
the asset by a local bundler written in Python, so a handler can
``import stream_runtime`` without vendoring it and without a layer.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from .handler_code import RUNTIME_PACKAGE, SAMPLE_HANDLER, bundled_code_dir

__all__ = ["SAMPLE_HANDLER", "bundled_code_dir", "handler_dir_code", "sample_handler_code"]

_EXCLUDE = ["**/__pycache__", "**/*.pyc", ".pytest_cache", ".mypy_cache", ".venv"]


def sample_handler_code() -> lambda_.Code:
    """The bundled ProcessOrderChanges handler and its runtime, as one asset."""
    return lambda_.Code.from_asset(str(bundled_code_dir()), exclude=_EXCLUDE)


@jsii.implements(ILocalBundling)
class _CopyWithRuntime:
    """Local bundler: the user's directory, then ``stream_runtime`` beside it.

    A ``stream_runtime`` the user vendored in their own directory wins, so a
    team can pin a patched copy.
    """

    def __init__(self, handler_dir: Path) -> None:
        self._handler_dir = handler_dir

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        out = Path(output_dir)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".venv")
        shutil.copytree(self._handler_dir, out, dirs_exist_ok=True, ignore=ignore)
        target = out / RUNTIME_PACKAGE
        if not target.exists():
            shutil.copytree(bundled_code_dir() / RUNTIME_PACKAGE, target, ignore=ignore)
        return True


def handler_dir_code(handler_dir: Path) -> lambda_.Code:
    """The user's handler directory plus the bundled runtime, bundled locally."""
    return lambda_.Code.from_asset(
        str(handler_dir),
        exclude=_EXCLUDE,
        # The output holds the runtime as well as the user's files, so hash the
        # output: a runtime upgrade must change the asset too.
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("cdk-streams-local-bundling-only"),
            local=_CopyWithRuntime(handler_dir),
        ),
    )
