"""Filters on an image the stream does not carry.

A ``NEW_IMAGE`` stream's records have no ``OldImage``, and a ``KEYS_ONLY``
stream's have neither image, so a filter on a missing image matches nothing and
Lambda drops every record, silently. This check runs after the filter grammar
accepted the patterns, and only when the table's view type is known at synth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from constructs import Construct

from .streams.filter_grammar import Field, FilterPatternError, compile_pattern
from .streams.records import IMAGES_BY_VIEW_TYPE
from .validation import StreamsValidationError

# In a fixed order, so a pattern on both missing images names the same one every time.
_IMAGES = sorted(IMAGES_BY_VIEW_TYPE["NEW_AND_OLD_IMAGES"])


def check_filters_view_type(
    scope: Construct, filters: Sequence[Any] | None, view_type: str
) -> None:
    """Refuse a DynamoDB-stream filter on an image ``view_type`` does not carry."""
    carried = IMAGES_BY_VIEW_TYPE.get(view_type)
    if not filters or carried is None:
        return
    for index, entry in enumerate(filters):
        try:
            pattern = compile_pattern(entry["pattern"])
        except (TypeError, KeyError, FilterPatternError):
            continue  # a token, or refused by the grammar already
        # An image inside an $or counts only when every branch needs it.
        named = pattern.required(_image_of)
        for image in _IMAGES:
            if image in named and image not in carried:
                shown = ", ".join(["Keys", *sorted(carried)])
                raise StreamsValidationError(
                    f"{scope.node.path}: filters[{index}].pattern.dynamodb.{image} must be on "
                    f"an image the table's {view_type} stream carries ({shown}), got "
                    f"{image}: this filter would drop every record. Filter on "
                    f"{_instead(image, carried)}, or give the table a NEW_AND_OLD_IMAGES "
                    "stream (StreamTable(view_type=...), Table(stream=...) or "
                    "TableV2(dynamo_stream=...))"
                )


def _image_of(leaf: Field) -> str | None:
    """The image a field lies in (``dynamodb.OldImage...``), unless it matches when
    absent (``exists: false`` holds on a record without the image)."""
    # The joined path: a pattern may name the image through a dotted key.
    parts = leaf.path.split(".")
    if len(parts) > 1 and parts[0] == "dynamodb" and not leaf.matches_absent:
        return parts[1]
    return None


def _instead(image: str, carried: frozenset[str]) -> str:
    other = next(iter(carried), None)
    return f"{other} or Keys" if other else "Keys"
