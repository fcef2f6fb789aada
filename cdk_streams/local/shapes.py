"""The two record shapes a stream mapping delivers: DynamoDB stream records and
Kinesis records (a DynamoDB change as JSON in ``data``, when the table streams
to Kinesis Data Streams).

The mapping runner applies one set of rules to both; a :class:`RecordShape`
tells it where a Lambda-shaped record keeps its sequence number, its age, its
event name and what Lambda's filters see, and what the on-failure record calls
the batch.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .events import kinesis_lambda_record, lambda_record


@dataclass(frozen=True)
class RecordShape:
    """How to read one kind of Lambda-shaped stream record."""

    #: "dynamodb" or "kinesis".
    name: str
    #: The key of the batch description in Lambda's on-failure record.
    batch_info_key: str
    #: A GetRecords record (as boto3 returns it) -> the record a function receives.
    to_lambda: Callable[[dict[str, Any], str, str], dict[str, Any]]
    #: The record's sequence number: the partial batch response's itemIdentifier.
    sequence: Callable[[Mapping[str, Any]], str]
    #: Epoch seconds the record entered the stream, for MaximumRecordAgeInSeconds.
    created: Callable[[Mapping[str, Any]], float | None]
    #: INSERT, MODIFY or REMOVE, for the counts.
    event_name: Callable[[Mapping[str, Any]], str]
    #: What Lambda's FilterCriteria patterns are matched against.
    filter_view: Callable[[Mapping[str, Any]], Mapping[str, Any]]


def _dynamodb_created(record: Mapping[str, Any]) -> float | None:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    return None if created is None else float(created)


DYNAMODB = RecordShape(
    name="dynamodb",
    batch_info_key="DDBStreamBatchInfo",
    to_lambda=lambda raw, stream_arn, shard_id: lambda_record(raw, stream_arn=stream_arn),
    sequence=lambda record: record["dynamodb"]["SequenceNumber"],
    created=_dynamodb_created,
    event_name=lambda record: record["eventName"],
    filter_view=lambda record: record,
)


def _kinesis_data(record: Mapping[str, Any]) -> Any:
    """The record's data as JSON when it is JSON, as Lambda's filters see it; else the text."""
    raw = base64.b64decode(record["kinesis"]["data"])
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _kinesis_event_name(record: Mapping[str, Any]) -> str:
    data = _kinesis_data(record)
    name = data.get("eventName") if isinstance(data, dict) else None
    return name if isinstance(name, str) else record.get("eventName", "aws:kinesis:record")


KINESIS = RecordShape(
    name="kinesis",
    batch_info_key="KinesisBatchInfo",
    to_lambda=lambda raw, stream_arn, shard_id: kinesis_lambda_record(
        raw, stream_arn=stream_arn, shard_id=shard_id
    ),
    sequence=lambda record: record["kinesis"]["sequenceNumber"],
    created=lambda record: float(record["kinesis"]["approximateArrivalTimestamp"]),
    event_name=_kinesis_event_name,
    filter_view=lambda record: {**record["kinesis"], "data": _kinesis_data(record)},
)


def shape_of(event_source_arn: str) -> RecordShape:
    """The record shape of a mapping's event source."""
    return KINESIS if ":kinesis:" in event_source_arn else DYNAMODB
