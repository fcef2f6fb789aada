"""Filters on an image the stream does not carry.

A ``NEW_IMAGE`` stream's records have no ``OldImage``, and a ``KEYS_ONLY``
stream's have neither image, so a filter on a missing image matches nothing and
Lambda drops every record, silently. This check runs after the filter grammar
accepted the patterns, and only when the table's view type is known at synth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from constructs import Construct

from .validation import StreamsValidationError

#: The images each stream view type puts on a record (``Keys`` are always there).
IMAGES_BY_VIEW_TYPE = {
    "KEYS_ONLY": frozenset(),
    "NEW_IMAGE": frozenset({"NewImage"}),
    "OLD_IMAGE": frozenset({"OldImage"}),
    "NEW_AND_OLD_IMAGES": frozenset({"NewImage", "OldImage"}),
}
_IMAGES = ("NewImage", "OldImage")


def check_filters_view_type(
    scope: Construct, filters: Sequence[Any] | None, view_type: str
) -> None:
    """Refuse a DynamoDB-stream filter on an image ``view_type`` does not carry."""
    carried = IMAGES_BY_VIEW_TYPE.get(view_type)
    if not filters or carried is None:
        return
    for index, entry in enumerate(filters):
        try:
            pattern = json.loads(entry["pattern"])
        except (TypeError, KeyError, ValueError):
            continue  # a token, or refused by the grammar already
        change = pattern.get("dynamodb") if isinstance(pattern, dict) else None
        if not isinstance(change, dict):
            continue
        for image in _IMAGES:
            if image in change and image not in carried:
                shown = ", ".join(["Keys", *sorted(carried)])
                raise StreamsValidationError(
                    f"{scope.node.path}: filters[{index}].pattern.dynamodb.{image} must be on "
                    f"an image the table's {view_type} stream carries ({shown}), got "
                    f"{image}: this filter would drop every record. Filter on "
                    f"{_instead(image, carried)}, or give the table "
                    "stream=StreamViewType.NEW_AND_OLD_IMAGES"
                )


def _instead(image: str, carried: frozenset[str]) -> str:
    other = next(iter(carried), None)
    return f"{other} or Keys" if other else "Keys"
