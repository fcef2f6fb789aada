"""The stream records a simulation writes, and which lane each one goes to.

:func:`stream_record` builds one record as DynamoDB Streams' GetRecords
returns it (an INSERT with a new image of about the item's size, through
:func:`cdk_streams.streams.records.stream_record`), so the simulator's exact path
and the local cloud's runner start from the same records. :func:`lane_of` is
Lambda's per-key ordering under a parallelization factor: all records of one
partition key go to the same lane.
"""

from __future__ import annotations

import zlib
from typing import Any

from ..streams import records
from .clock import EPOCH

#: The attributes around the padding in a record's new image, in bytes (an estimate).
_IMAGE_OVERHEAD = 40


def stream_record(sequence: int, key: str, arrival: float, item_bytes: int) -> dict[str, Any]:
    """An INSERT of an item of about ``item_bytes`` bytes, written at virtual time ``arrival``."""
    return records.stream_record(
        event_name="INSERT",
        keys={"pk": {"S": key}},
        new_image={"pk": {"S": key}, "body": {"S": "x" * max(0, item_bytes - _IMAGE_OVERHEAD)}},
        view_type="NEW_IMAGE",
        sequence_number=str(sequence),
        created=EPOCH + arrival,
        event_id=f"e{sequence}",
    )


def key_of(sequence: int, keys: int) -> str:
    """The partition key of the ``sequence``-th write when writes cycle over ``keys`` items."""
    return f"item-{sequence % keys}"


def lane_of(key: str, lanes: int) -> int:
    """The lane a partition key's records go to: always the same one, so they stay in order."""
    return zlib.crc32(key.encode()) % lanes
