"""Lambda's stream record shapes, written once.

Three shapes, each built by one function here and nowhere else:

* the DynamoDB stream record as DynamoDB Streams' GetRecords returns it, built
  from an item's keys and images (:func:`stream_record`: the images the view
  type carries, :data:`IMAGES_BY_VIEW_TYPE`, and its ``SizeBytes``,
  :func:`size_bytes`), and as Lambda hands it to a function
  (:func:`lambda_record`, from a GetRecords record as boto3 returns it);
* the change document DynamoDB writes to a Kinesis data stream (Kinesis Data
  Streams for DynamoDB, :func:`change_document`), with its partition key
  (:func:`partition_key`) and its bytes (:func:`change_data`);
* the Kinesis record as Lambda hands it to a function (:func:`kinesis_record`,
  or :func:`kinesis_lambda_record` from a Kinesis GetRecords record).

The JSON a function receives differs from what boto3 returns:
``ApproximateCreationDateTime`` is epoch seconds (a number, whole seconds, as
DynamoDB rounds it down), ``B`` and ``BS`` values are base64 strings, and each
record carries ``eventSourceARN`` and ``awsRegion``.

:class:`RecordShape` (:data:`DYNAMODB`, :data:`KINESIS`, :func:`shape_of`)
tells the delivery rules where a Lambda record of either kind keeps its
sequence number, arrival time and event name, and what the on-failure record
calls the batch.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The runtime reads ApproximateCreationDateTime back with the same units.
from stream_runtime.records import CREATION_TIME_PRECISIONS as PRECISIONS
from stream_runtime.records import TTL_IDENTITY

#: The images each stream view type puts on a record (``Keys`` are always there), in
#: the order AWS lists the view types.
IMAGES_BY_VIEW_TYPE: Mapping[str, frozenset[str]] = {
    "KEYS_ONLY": frozenset(),
    "NEW_IMAGE": frozenset({"NewImage"}),
    "OLD_IMAGE": frozenset({"OldImage"}),
    "NEW_AND_OLD_IMAGES": frozenset({"NewImage", "OldImage"}),
}
#: The stream view types: ``KEYS_ONLY``, ``NEW_IMAGE``, ``OLD_IMAGE``, ``NEW_AND_OLD_IMAGES``.
VIEW_TYPES = tuple(IMAGES_BY_VIEW_TYPE)


# --- DynamoDB stream records ---------------------------------------------------------


def carried_images(view_type: str) -> frozenset[str]:
    """The images (``NewImage``, ``OldImage``) a ``view_type`` stream's records carry.

    :raises ValueError: ``view_type`` is not one of :data:`VIEW_TYPES`.
    """
    try:
        return IMAGES_BY_VIEW_TYPE[view_type]
    except (KeyError, TypeError):
        raise ValueError(
            f"view_type must be one of {', '.join(VIEW_TYPES)}, got {view_type!r}"
        ) from None


def stream_record(
    *,
    event_name: str,
    keys: Mapping[str, Any],
    view_type: str,
    sequence_number: str,
    created: datetime | float | int | str,
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    ttl: bool = False,
) -> dict[str, Any]:
    """One change as DynamoDB Streams' GetRecords returns it (raw JSON); :func:`lambda_record`
    turns it into the record a function receives.

    :param event_name: ``INSERT``, ``MODIFY`` or ``REMOVE``.
    :param keys: the item's key attributes in DynamoDB JSON (binary as bytes or base64),
        kept as given, like the images.
    :param view_type: the stream's view type: an image it does not carry is left out.
    :param created: written as ``ApproximateCreationDateTime``, in whole epoch seconds
        (:func:`epoch_seconds`).
    :param event_id: @default - 32 hex digits derived from the sequence number.
    :param ttl: the change is a TTL expiry: ``userIdentity`` names DynamoDB's TTL service.

    ``SizeBytes`` is :func:`size_bytes` of the keys and the images carried.
    """
    carried = carried_images(view_type)
    change: dict[str, Any] = {"ApproximateCreationDateTime": epoch_seconds(created), "Keys": keys}
    if new_image is not None and "NewImage" in carried:
        change["NewImage"] = new_image
    if old_image is not None and "OldImage" in carried:
        change["OldImage"] = old_image
    change["SequenceNumber"] = sequence_number
    change["SizeBytes"] = size_bytes(
        keys, *(change[name] for name in ("NewImage", "OldImage") if name in change)
    )
    change["StreamViewType"] = view_type
    if event_id is None:
        event_id = hashlib.md5(sequence_number.encode(), usedforsecurity=False).hexdigest()
    record: dict[str, Any] = {
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "dynamodb": change,
    }
    if ttl:
        record["userIdentity"] = dict(TTL_IDENTITY)
    return record


def size_bytes(*items: Mapping[str, Any]) -> int:
    """A change's ``SizeBytes``: DynamoDB's item size of its keys and images, summed.

    Item size is AWS's documented rule (UTF-8 bytes of names and strings, raw bytes of
    binary, about a byte per two significant digits of a number plus one, 3 bytes per list
    or map and 1 per element), which gives the ``SizeBytes`` of AWS's sample stream records.
    Binary may be bytes (boto3) or base64 (Lambda's JSON).
    """
    return sum(
        _utf8_size(name) + _value_size(value) for item in items for name, value in item.items()
    )


def _value_size(value: Mapping[str, Any]) -> int:
    size = 0
    for kind, inner in value.items():
        if kind == "S":
            size += _utf8_size(inner)
        elif kind == "N":
            size += _number_size(inner)
        elif kind == "B":
            size += _binary_size(inner)
        elif kind == "SS":
            size += sum(_utf8_size(item) for item in inner)
        elif kind == "NS":
            size += sum(_number_size(item) for item in inner)
        elif kind == "BS":
            size += sum(_binary_size(item) for item in inner)
        elif kind == "M":
            size += 3 + sum(1 + _utf8_size(k) + _value_size(v) for k, v in inner.items())
        elif kind == "L":
            size += 3 + sum(1 + _value_size(item) for item in inner)
        else:  # BOOL, NULL
            size += 1
    return size


def _utf8_size(text: str) -> int:
    # isascii() is O(1) on CPython: a big ASCII image is measured without a copy.
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _number_size(number: Any) -> int:
    mantissa = str(number).lower().partition("e")[0].lstrip("+-").replace(".", "")
    digits = len(mantissa.strip("0")) or 1
    return (digits + 1) // 2 + 1


def _binary_size(value: bytes | bytearray | str) -> int:
    return len(base64.b64decode(value)) if isinstance(value, str) else len(value)


def attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """One attribute value in Lambda's JSON form: binary as base64, recursively.

    Values already in that form (base64 strings) are kept as they are, so a
    record read as raw JSON and one read through boto3 come out the same.
    """
    out: dict[str, Any] = {}
    for kind, inner in value.items():
        if kind == "B":
            out[kind] = _b64(inner)
        elif kind == "BS":
            out[kind] = [_b64(item) for item in inner]
        elif kind == "M":
            out[kind] = {name: attribute_value(item) for name, item in inner.items()}
        elif kind == "L":
            out[kind] = [attribute_value(item) for item in inner]
        else:
            out[kind] = inner
    return out


def image(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's attributes (``Keys``, ``NewImage``, ``OldImage``) in Lambda's JSON form."""
    return {name: attribute_value(value) for name, value in item.items()}


def _b64(value: bytes | bytearray | str) -> str:
    if isinstance(value, str):  # already base64, as in a record read as raw JSON
        return value
    return base64.b64encode(bytes(value)).decode("ascii")


def epoch_seconds(value: datetime | float | int | str) -> float:
    """``ApproximateCreationDateTime`` as Lambda delivers it: whole epoch seconds."""
    if isinstance(value, datetime):
        value = value.timestamp()
    return float(int(float(value)))


def _epoch(value: datetime | float | int | str) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def lambda_record(record: Mapping[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """One DynamoDB GetRecords record (as boto3 returns it) in the shape a function receives.

    ``awsRegion`` comes from the stream ARN, since that is where the table lives.
    """
    stream = dict(record["dynamodb"])
    if "ApproximateCreationDateTime" in stream:
        stream["ApproximateCreationDateTime"] = epoch_seconds(stream["ApproximateCreationDateTime"])
    for name in ("Keys", "NewImage", "OldImage"):
        if name in stream:
            stream[name] = image(stream[name])
    out: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(":")[3],
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        out["userIdentity"] = record["userIdentity"]
    return out


# --- Kinesis Data Streams for DynamoDB -----------------------------------------------


def change_document(
    record: Mapping[str, Any],
    *,
    table_name: str,
    region: str,
    precision: str | None = None,
) -> dict[str, Any]:
    """A DynamoDB stream record as DynamoDB writes it to a Kinesis data stream.

    :param record: a DynamoDB stream record, as boto3's GetRecords returns it
        (``datetime``, ``bytes``) or as Lambda delivers it (epoch seconds, base64).
    :param table_name: written as ``tableName``.
    :param region: written as ``awsRegion``.
    :param precision: ``MILLISECOND`` or ``MICROSECOND``: the unit of
        ``ApproximateCreationDateTime``, also written as
        ``ApproximateCreationDateTimePrecision``. @default - milliseconds with no
        precision field, as a destination created without the setting writes.

    The fields and their order are AWS's: no ``SequenceNumber`` or
    ``StreamViewType``, ``userIdentity`` null unless the change is a TTL expiry.
    """
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    stream = record["dynamodb"]
    created = stream.get("ApproximateCreationDateTime")
    unit = PRECISIONS[precision or "MILLISECOND"]
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": round(_epoch(created or 0) * unit),
        "Keys": image(stream.get("Keys", {})),
    }
    for name in ("NewImage", "OldImage"):
        if name in stream:
            change[name] = image(stream[name])
    change["SizeBytes"] = stream.get("SizeBytes", 0)
    if precision is not None:
        change["ApproximateCreationDateTimePrecision"] = precision
    return {
        "awsRegion": region,
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "userIdentity": record.get("userIdentity"),
        "recordFormat": "application/json",
        "tableName": table_name,
        "dynamodb": change,
        "eventSource": "aws:dynamodb",
    }


def change_data(document: Mapping[str, Any]) -> bytes:
    """The bytes of a change document in the Kinesis record: compact JSON, as AWS writes it."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def partition_key(keys: Mapping[str, Any]) -> str:
    """The Kinesis partition key of an item's change: 32 upper-case hex digits.

    DynamoDB derives it from the item's key, so one item's changes stay in order
    on one shard; AWS's records show an MD5-sized upper-case hex string.
    """
    keys_json = json.dumps(image(keys), sort_keys=True).encode()
    return hashlib.md5(keys_json, usedforsecurity=False).hexdigest().upper()


# --- Kinesis records -----------------------------------------------------------------


def kinesis_record(
    *,
    data: bytes,
    partition_key: str,
    sequence_number: str,
    arrival: datetime | float,
    stream_arn: str,
    shard_id: str,
    invoke_identity_arn: str | None = None,
) -> dict[str, Any]:
    """One Kinesis record in the shape a function receives.

    :param arrival: when Kinesis received the record (epoch seconds or a
        ``datetime``); written with millisecond precision.
    :param invoke_identity_arn: the mapping's execution role, which Lambda adds
        as ``invokeIdentityArn``. @default - left out.
    """
    out: dict[str, Any] = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": _b64(data),
            "approximateArrivalTimestamp": round(_epoch(arrival), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
    }
    if invoke_identity_arn is not None:
        out["invokeIdentityArn"] = invoke_identity_arn
    out["awsRegion"] = stream_arn.split(":")[3]
    out["eventSourceARN"] = stream_arn
    return out


def kinesis_lambda_record(
    record: Mapping[str, Any], *, stream_arn: str, shard_id: str
) -> dict[str, Any]:
    """One Kinesis GetRecords record (as boto3 returns it) in the shape a function receives."""
    return kinesis_record(
        data=record["Data"],
        partition_key=record["PartitionKey"],
        sequence_number=record["SequenceNumber"],
        arrival=record["ApproximateArrivalTimestamp"],
        stream_arn=stream_arn,
        shard_id=shard_id,
    )


def kinesis_data(record: Mapping[str, Any]) -> Any:
    """A Lambda Kinesis record's data: parsed when it is JSON (as Lambda's filters see it),
    else the text."""
    raw = base64.b64decode(record["kinesis"]["data"])
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


# --- Reading either shape ------------------------------------------------------------


def record_size(record: Mapping[str, Any]) -> int:
    """Bytes a Lambda record adds to an invocation payload (its JSON and a separator)."""
    return len(json.dumps(record, separators=(",", ":")).encode("utf-8")) + 1


@dataclass(frozen=True)
class RecordShape:
    """Where a Lambda stream record of one kind keeps what the delivery rules read."""

    #: "dynamodb" or "kinesis".
    name: str
    #: The key of the batch description in Lambda's on-failure record.
    batch_info_key: str
    #: Whether the on-failure record's arrival times carry milliseconds.
    arrival_millis: bool
    #: A GetRecords record (as boto3 returns it), stream ARN, shard id -> the Lambda record.
    to_lambda: Callable[[Mapping[str, Any], str, str], dict[str, Any]]
    #: The record's sequence number: the partial batch response's itemIdentifier.
    sequence: Callable[[Mapping[str, Any]], str]
    #: Epoch seconds the record entered the stream (None when unknown), for the record age.
    arrival: Callable[[Mapping[str, Any]], float | None]
    #: INSERT, MODIFY or REMOVE (Kinesis: the wrapped change's), for the counts.
    event_name: Callable[[Mapping[str, Any]], str]
    #: What Lambda's FilterCriteria patterns are matched against.
    filter_view: Callable[[Mapping[str, Any]], Mapping[str, Any]]


def _dynamodb_arrival(record: Mapping[str, Any]) -> float | None:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    return None if created is None else float(created)


def _kinesis_event_name(record: Mapping[str, Any]) -> str:
    data = kinesis_data(record)
    name = data.get("eventName") if isinstance(data, dict) else None
    return name if isinstance(name, str) else str(record.get("eventName", "aws:kinesis:record"))


DYNAMODB = RecordShape(
    name="dynamodb",
    batch_info_key="DDBStreamBatchInfo",
    arrival_millis=False,
    to_lambda=lambda raw, stream_arn, shard_id: lambda_record(raw, stream_arn=stream_arn),
    sequence=lambda record: str(record["dynamodb"]["SequenceNumber"]),
    arrival=_dynamodb_arrival,
    event_name=lambda record: str(record["eventName"]),
    filter_view=lambda record: record,
)

KINESIS = RecordShape(
    name="kinesis",
    batch_info_key="KinesisBatchInfo",
    arrival_millis=True,
    to_lambda=lambda raw, stream_arn, shard_id: kinesis_lambda_record(
        raw, stream_arn=stream_arn, shard_id=shard_id
    ),
    sequence=lambda record: str(record["kinesis"]["sequenceNumber"]),
    arrival=lambda record: float(record["kinesis"]["approximateArrivalTimestamp"]),
    event_name=_kinesis_event_name,
    filter_view=lambda record: {**record["kinesis"], "data": kinesis_data(record)},
)


def shape_of(event_source_arn: str) -> RecordShape:
    """The record shape of a mapping's event source (a DynamoDB or Kinesis stream ARN)."""
    return KINESIS if ":kinesis:" in event_source_arn else DYNAMODB
