"""Stream records as the Lambda runtime hands them to a function.

boto3's GetRecords gives ``datetime`` and ``bytes``; a function receives JSON:
``ApproximateCreationDateTime`` as epoch seconds (a number, whole seconds, as
DynamoDB rounds it down), ``B`` and ``BS`` values as base64 strings, and each
record tagged with ``eventSourceARN`` and ``awsRegion``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value in Lambda's JSON form (binary as base64, recursively)."""
    out: dict[str, Any] = {}
    for kind, inner in value.items():
        if kind == "B":
            out[kind] = _b64(inner)
        elif kind == "BS":
            out[kind] = [_b64(item) for item in inner]
        elif kind == "M":
            out[kind] = {name: _attribute(item) for name, item in inner.items()}
        elif kind == "L":
            out[kind] = [_attribute(item) for item in inner]
        else:
            out[kind] = inner
    return out


def _b64(value: bytes | bytearray | str) -> str:
    if isinstance(value, str):  # already base64, as in a record read as raw JSON
        return value
    return base64.b64encode(bytes(value)).decode("ascii")


def _image(image: dict[str, Any]) -> dict[str, Any]:
    return {name: _attribute(value) for name, value in image.items()}


def epoch_seconds(value: datetime | float | int | str) -> float:
    """``ApproximateCreationDateTime`` as Lambda delivers it: whole epoch seconds."""
    if isinstance(value, datetime):
        value = value.timestamp()
    return float(int(float(value)))


def lambda_record(record: dict[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """One GetRecords record (as boto3 returns it) in the shape a function receives.

    ``awsRegion`` comes from the stream ARN, since that is where the table lives.
    """
    stream = dict(record["dynamodb"])
    if "ApproximateCreationDateTime" in stream:
        stream["ApproximateCreationDateTime"] = epoch_seconds(stream["ApproximateCreationDateTime"])
    for name in ("Keys", "NewImage", "OldImage"):
        if name in stream:
            stream[name] = _image(stream[name])
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


def kinesis_lambda_record(
    record: dict[str, Any], *, stream_arn: str, shard_id: str
) -> dict[str, Any]:
    """One Kinesis GetRecords record (as boto3 returns it) in the shape a function receives."""
    sequence = record["SequenceNumber"]
    arrival = record["ApproximateArrivalTimestamp"]
    if isinstance(arrival, datetime):
        arrival = arrival.timestamp()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": sequence,
            "data": _b64(record["Data"]),
            "approximateArrivalTimestamp": round(float(arrival), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "awsRegion": stream_arn.split(":")[3],
        "eventSourceARN": stream_arn,
    }
