"""Helpers for testing stacks built with cdk_streams.

Snapshot testing: :func:`mask_asset_hashes` replaces the parts of a synthesized
template that change whenever handler code changes (asset hashes in S3 keys
and asset metadata), so a snapshot only changes when the infrastructure does.
Use it on ``Template.from_stack(stack).to_json()``, or use
:data:`snapshot_matcher` with syrupy.
"""

from __future__ import annotations

import re
from typing import Any

#: What replaces an asset hash in a masked template.
ASSET_HASH_MASK = "<asset-hash>"

_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_HASHED_KEYS = ("S3Key", "aws:asset:path")


def mask_asset_hashes(template: Any) -> Any:
    """A copy of ``template`` with every 64-hex asset hash replaced by ``<asset-hash>``.

    It masks hashes in ``Code.S3Key``, layer contents, ``aws:asset:path``
    metadata, and any other string that embeds one (for example a bucket key
    built with ``Fn::Join``). Nothing else changes.
    """
    if isinstance(template, dict):
        return {key: mask_asset_hashes(value) for key, value in template.items()}
    if isinstance(template, list):
        return [mask_asset_hashes(value) for value in template]
    if isinstance(template, str):
        return _HASH.sub(ASSET_HASH_MASK, template)
    return template


def snapshot_matcher(data: Any, path: Any) -> Any:
    """A syrupy ``matcher`` that masks asset hashes as the value is serialized::

        assert template == snapshot(matcher=snapshot_matcher)
    """
    return _HASH.sub(ASSET_HASH_MASK, data) if isinstance(data, str) else data
