"""Lambda's record shapes (cdk_streams.streams.records): one builder per shape, in
AWS's form, used by both the event factory and the local Kinesis forwarder."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from cdk_streams.streams.records import (
    DYNAMODB,
    KINESIS,
    change_data,
    change_document,
    kinesis_lambda_record,
    lambda_record,
    partition_key,
    record_size,
    shape_of,
)
from cdk_streams.testing import StreamEventFactory

STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"
KINESIS_STREAM = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders-changes"
CREATED = datetime(2026, 11, 24, tzinfo=UTC)


def boto3_record(**dynamodb: Any) -> dict[str, Any]:
    """A DynamoDB GetRecords record as boto3 returns it (datetime, bytes)."""
    return {
        "eventID": "e-1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "dynamodb": {
            "ApproximateCreationDateTime": CREATED,
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}},
            "OldImage": {"pk": {"S": "a"}},
            "SequenceNumber": "4421584500000000017450",
            "SizeBytes": 12,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            **dynamodb,
        },
    }


def test_partition_key_is_32_upper_case_hex_digits_as_aws_writes_it() -> None:
    key = partition_key({"pk": {"S": "a"}})
    assert re.fullmatch(r"[0-9A-F]{32}", key), key


def test_partition_key_depends_on_the_keys_only_not_their_order_or_encoding() -> None:
    a = partition_key({"pk": {"S": "a"}, "sk": {"B": b"\x00"}})
    assert a == partition_key({"sk": {"B": "AA=="}, "pk": {"S": "a"}})  # base64 form
    assert a != partition_key({"pk": {"S": "b"}, "sk": {"B": b"\x00"}})


def test_change_document_has_aws_fields_in_aws_order() -> None:
    document = change_document(boto3_record(), table_name="Orders", region="eu-west-1")
    assert list(document) == [
        "awsRegion",
        "eventID",
        "eventName",
        "userIdentity",
        "recordFormat",
        "tableName",
        "dynamodb",
        "eventSource",
    ]
    assert list(document["dynamodb"]) == [
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "OldImage",
        "SizeBytes",
    ]
    assert document["dynamodb"]["ApproximateCreationDateTime"] == 1795478400000
    assert document["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    assert (document["userIdentity"], document["recordFormat"]) == (None, "application/json")


@pytest.mark.parametrize(
    ("precision", "value"), [("MILLISECOND", 1795478400000), ("MICROSECOND", 1795478400000000)]
)
def test_a_chosen_precision_is_written_with_its_unit(precision: str, value: int) -> None:
    document = change_document(
        boto3_record(), table_name="Orders", region="eu-west-1", precision=precision
    )
    assert document["dynamodb"]["ApproximateCreationDateTime"] == value
    assert document["dynamodb"]["ApproximateCreationDateTimePrecision"] == precision


def test_change_document_refuses_an_unknown_precision() -> None:
    with pytest.raises(
        ValueError, match="precision must be one of MILLISECOND, MICROSECOND, got 'SECOND'"
    ):
        change_document(boto3_record(), table_name="T", region="r", precision="SECOND")


def test_change_data_is_compact_utf8_json() -> None:
    data = change_data({"a": "경기", "b": [1, 2]})
    assert data == '{"a":"경기","b":[1,2]}'.encode()


def test_the_factory_and_the_forwarder_build_the_same_document() -> None:
    """One builder: the factory's Kinesis record carries exactly what the local
    forwarder would put into Kinesis for the same change."""
    f = StreamEventFactory(
        key_names=("pk",), table_name="Orders", region="eu-west-1", start_time=CREATED.timestamp()
    )
    inner = f.insert({"pk": "a", "blob": b"\x00\x01"})
    wrapped = f.to_kinesis(inner)
    from_boto3 = {
        "eventID": inner["eventID"],
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": CREATED,
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}},
            "SizeBytes": inner["dynamodb"]["SizeBytes"],
        },
    }
    forwarded = change_document(
        from_boto3, table_name="Orders", region="eu-west-1", precision="MILLISECOND"
    )
    assert base64.b64decode(wrapped["kinesis"]["data"]) == change_data(forwarded)
    assert wrapped["kinesis"]["partitionKey"] == partition_key(from_boto3["dynamodb"]["Keys"])


def test_kinesis_lambda_record_from_a_get_records_record() -> None:
    record = kinesis_lambda_record(
        {
            "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "ApproximateArrivalTimestamp": datetime(2026, 11, 24, 0, 0, 0, 337000, tzinfo=UTC),
            "Data": b'{"eventName":"INSERT"}',
            "PartitionKey": "859F7C064A4818874FA67ABEC9BF2AF1",
        },
        stream_arn=KINESIS_STREAM,
        shard_id="shardId-000000000000",
    )
    assert record == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "859F7C064A4818874FA67ABEC9BF2AF1",
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": base64.b64encode(b'{"eventName":"INSERT"}').decode(),
            "approximateArrivalTimestamp": 1795478400.337,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record",
        "awsRegion": "eu-west-1",
        "eventSourceARN": KINESIS_STREAM,
    }
    assert KINESIS.event_name(record) == "INSERT"
    assert KINESIS.arrival(record) == 1795478400.337
    assert KINESIS.filter_view(record)["data"] == {"eventName": "INSERT"}


def test_dynamodb_shape_accessors() -> None:
    record = lambda_record(boto3_record(), stream_arn=STREAM)
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1795478400.0
    assert DYNAMODB.sequence(record) == "4421584500000000017450"
    assert (DYNAMODB.event_name(record), DYNAMODB.arrival(record)) == ("MODIFY", 1795478400.0)
    assert DYNAMODB.to_lambda(boto3_record(), STREAM, "shard") == record
    assert (shape_of(STREAM), shape_of(KINESIS_STREAM)) == (DYNAMODB, KINESIS)
    assert (DYNAMODB.batch_info_key, KINESIS.batch_info_key) == (
        "DDBStreamBatchInfo",
        "KinesisBatchInfo",
    )


def test_a_kinesis_record_whose_data_is_not_json_counts_under_the_kinesis_event_name() -> None:
    record = {
        "eventName": "aws:kinesis:record",
        "kinesis": {"data": base64.b64encode(b"hi").decode()},
    }
    assert KINESIS.event_name(record) == "aws:kinesis:record"
    assert KINESIS.filter_view(record)["data"] == "hi"


def test_record_size_is_the_compact_json_length_plus_a_separator() -> None:
    record = {"a": "é"}
    assert record_size(record) == len(json.dumps(record, separators=(",", ":"))) + 1
