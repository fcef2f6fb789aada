"""The record a backfill hands a consumer for one existing item: a Lambda INSERT record.

It is built as a stream record is (:func:`cdk_streams.streams.records.stream_record`,
then :func:`~cdk_streams.streams.records.lambda_record`) in the table's stream view
type, so it decodes like any other record, and it carries :data:`BACKFILL_MARKER`
(``"cdkStreamsBackfill": true``) so a handler can tell it apart
(``ChangeRecord.is_backfill`` in the bundled runtime).

Its ``SequenceNumber`` is a decimal string unique within the backfill (segment
and position in the segment), so partial-batch responses identify it; it is no
stream sequence number and sorts apart from them (it starts with the segment).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..streams.records import carried_images, image, lambda_record, stream_record

#: The top-level field that marks a backfilled record. The bundled runtime
#: reads the same name (``stream_runtime.records.ChangeRecord.is_backfill``).
BACKFILL_MARKER = "cdkStreamsBackfill"
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
    carried_images(view_type)  # ValueError for an unknown one, before the item is read
    keys = {name: item[name] for name in key_names}
    # The eventID comes from the item's keys, so it does not depend on where the scan
    # found the item (the synthetic sequence number does).
    keys_json = json.dumps(image(keys), sort_keys=True)
    raw = stream_record(
        event_name="INSERT",
        keys=keys,
        new_image=item,
        view_type=view_type,
        sequence_number=sequence_number(segment, position),
        created=created,
        event_id=hashlib.md5(keys_json.encode(), usedforsecurity=False).hexdigest(),
    )
    record = lambda_record(raw, stream_arn=stream_arn)
    record[BACKFILL_MARKER] = True
    return record


def item_keys(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's keys as plain values (``{"pk": "o-1"}``), for reports."""
    out: dict[str, Any] = {}
    for name, value in record["dynamodb"]["Keys"].items():
        out[name] = next(iter(value.values()))
    return out
