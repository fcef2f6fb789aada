"""The record a backfill hands a consumer for one existing item: a Lambda INSERT record.

It is built like a stream record (:func:`cdk_streams.streams.records.lambda_record`)
in the table's stream view type, so it decodes like any other record, and it
carries :data:`BACKFILL_MARKER` (``"cdkStreamsBackfill": true``) so a handler
can tell it apart (``ChangeRecord.is_backfill`` in the bundled runtime).

Its ``SequenceNumber`` is a decimal string unique within the backfill (segment
and position in the segment), so partial-batch responses identify it; it is no
stream sequence number and sorts apart from them (it starts with the segment).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..streams.records import image, lambda_record

#: The top-level field that marks a backfilled record. The bundled runtime
#: reads the same name (``stream_runtime.records.ChangeRecord.is_backfill``).
BACKFILL_MARKER = "cdkStreamsBackfill"
#: Stream view types whose INSERT records carry the new image.
WITH_NEW_IMAGE = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
#: Positions per segment in the synthetic sequence numbers.
_SEGMENT_SPAN = 10**20


def sequence_number(segment: int, position: int) -> str:
    """The synthetic sequence number of the ``position``-th item of ``segment``."""
    return str((segment + 1) * _SEGMENT_SPAN + position)


def backfill_record(
    item: Mapping[str, Any],
    *,
    key_names: Sequence[str],
    stream_arn: str,
    view_type: str,
    segment: int,
    position: int,
    created: float,
) -> dict[str, Any]:
    """One scanned item (as boto3's Scan returns it) as a Lambda INSERT record.

    :param key_names: the table's key attributes (partition key, then sort key).
    :param stream_arn: the table's stream, written as ``eventSourceARN``.
    :param view_type: the stream's view type: KEYS_ONLY and OLD_IMAGE records
        carry only ``Keys`` (an INSERT has no old image).
    :param created: epoch seconds, written as ``ApproximateCreationDateTime``.
    """
    if view_type not in VIEW_TYPES:
        raise ValueError(f"view_type must be one of {', '.join(VIEW_TYPES)}, got {view_type!r}")
    keys = {name: item[name] for name in key_names}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": keys,
        "SequenceNumber": sequence_number(segment, position),
        "StreamViewType": view_type,
    }
    if view_type in WITH_NEW_IMAGE:
        change["NewImage"] = item
    keys_json = json.dumps(image(keys), sort_keys=True)
    change["SizeBytes"] = (
        len(json.dumps(image(item))) if view_type in WITH_NEW_IMAGE else len(keys_json)
    )
    event_id = hashlib.md5(keys_json.encode(), usedforsecurity=False).hexdigest()
    record = lambda_record(
        {"eventID": event_id, "eventName": "INSERT", "eventVersion": "1.1", "dynamodb": change},
        stream_arn=stream_arn,
    )
    record[BACKFILL_MARKER] = True
    return record


def item_keys(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's keys as plain values (``{"pk": "o-1"}``), for reports."""
    out: dict[str, Any] = {}
    for name, value in record["dynamodb"]["Keys"].items():
        out[name] = next(iter(value.values()))
    return out
