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
        named = _images_every_match_needs(pattern.fields)
        for image in _IMAGES:
            if image in named and image not in carried:
                shown = ", ".join(["Keys", *sorted(carried)])
                raise StreamsValidationError(
                    f"{scope.node.path}: filters[{index}].pattern.dynamodb.{image} must be on "
                    f"an image the table's {view_type} stream carries ({shown}), got "
                    f"{image}: this filter would drop every record. Filter on "
                    f"{_instead(image, carried)}, or give the table "
                    "stream=StreamViewType.NEW_AND_OLD_IMAGES"
                )


def _images_every_match_needs(fields: Sequence[Field]) -> set[str]:
    """The images a record must carry to match: those holding a field the pattern ANDs in.

    A field inside an ``$or`` branch is left out (another branch may match without the
    image), and so is one that matches when absent (``exists: false`` holds on a record
    without the image).
    """
    needed: set[str] = set()
    for leaf in fields:
        parts = leaf.path.split(".")
        in_or = ".$or[" in leaf.where
        if len(parts) > 1 and parts[0] == "dynamodb" and not (leaf.matches_absent or in_or):
            needed.add(parts[1])
    return needed


def _instead(image: str, carried: frozenset[str]) -> str:
    other = next(iter(carried), None)
    return f"{other} or Keys" if other else "Keys"
