"""Kinesis-wrapped DynamoDB changes (Kinesis Data Streams for DynamoDB) in stream_runtime."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import runtime_path  # noqa: F401  (puts lambda_src on sys.path)
from stream_runtime import (
    ChangeRecord,
    Image,
    KinesisPayloadError,
    StreamRouter,
    UnidentifiableRecordError,
)

from cdk_streams.testing import StreamEventFactory

OLD = {
    "orderId": "o-1",
    "status": "PLACED",
    "total": Decimal("10.00"),
    "tags": {"a", "b"},
    "blob": b"\x00\x01",
    "lines": [{"sku": "S-1", "qty": 2}],
    "gift": False,
    "note": None,
}
NEW = {**OLD, "status": "SHIPPED", "total": Decimal("12.50"), "tags": {"b", "a"}}
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders-changes"

# What a DynamoDB Streams record and its Kinesis twin must agree on. The rest
# (sequence_number, event_source_arn, view_type, raw) differ by design.
SHARED = (
    "event_id",
    "event_name",
    "keys",
    "new_image",
    "old_image",
    "is_ttl_expiry",
    "changed_attributes",
    "size_bytes",
    "approximate_creation_time",
)


def factory() -> StreamEventFactory:
    return StreamEventFactory(key_names=("orderId",), start_time=1.8e9)


def both_shapes(record: dict, f: StreamEventFactory) -> tuple[ChangeRecord, ChangeRecord]:
    return ChangeRecord(record), ChangeRecord(f.to_kinesis(record))


def kinesis_record(
    data: object, sequence_number: str = "49590338271490256608559692538361571095921575989136588898"
) -> dict:
    """A Lambda Kinesis record carrying ``data`` (JSON-encoded unless bytes/str)."""
    if isinstance(data, str):
        encoded = data
    else:
        payload = data if isinstance(data, bytes) else json.dumps(data).encode()
        encoded = base64.b64encode(payload).decode()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "K",
            "sequenceNumber": sequence_number,
            "data": encoded,
            "approximateArrivalTimestamp": 1.8e9,
        },
        "eventSource": "aws:kinesis",
        "eventID": f"shardId-000000000006:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "eventSourceARN": STREAM_ARN,
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda f: f.insert(NEW),
        lambda f: f.modify(OLD, NEW),
        lambda f: f.modify(OLD, OLD),
        lambda f: f.remove(OLD),
        lambda f: f.remove(OLD, ttl=True),
    ],
    ids=["insert", "modify", "modify-unchanged", "remove", "ttl-expiry"],
)
def test_same_change_gives_the_same_record_through_both_shapes(make):
    f = factory()
    raw = make(f)
    wrapped = f.to_kinesis(raw)
    stream, kinesis = ChangeRecord(raw), ChangeRecord(wrapped)
    for name in SHARED:
        assert getattr(kinesis, name) == getattr(stream, name), name
    assert isinstance(kinesis, ChangeRecord)
    assert kinesis.raw is wrapped
    assert kinesis.sequence_number == wrapped["kinesis"]["sequenceNumber"]
    assert kinesis.sequence_number != stream.sequence_number
    assert kinesis.event_source_arn == STREAM_ARN
    assert kinesis.view_type is None and stream.view_type == "NEW_AND_OLD_IMAGES"
    for image in ("new_image", "old_image"):
        value = getattr(kinesis, image)
        assert value is None or (
            isinstance(value, Image) and value.to_dict() == getattr(stream, image).to_dict()
        )


def test_fields_of_a_kinesis_record():
    f = factory()
    record = ChangeRecord(f.to_kinesis(f.modify(OLD, NEW)))
    assert record.event_name == "MODIFY"
    assert record.keys == {"orderId": "o-1"}
    assert record.new_image["total"] == Decimal("12.50")
    assert record.old_image["blob"] == b"\x00\x01"
    assert record.changed_attributes == frozenset({"status", "total"})  # tags: same set
    assert record.is_ttl_expiry is False
    assert record.approximate_creation_time == datetime.fromtimestamp(1.8e9, UTC)
    assert record.new_image is record.new_image and record.keys is record.keys
    assert "MODIFY" in repr(record) and record.sequence_number in repr(record)


def test_ttl_expiry_through_kinesis():
    f = factory()
    assert ChangeRecord(f.to_kinesis(f.remove(OLD, ttl=True))).is_ttl_expiry is True
    assert ChangeRecord(f.to_kinesis(f.remove(OLD))).is_ttl_expiry is False


def test_millisecond_precision():
    change = {
        "eventSource": "aws:dynamodb",
        "eventName": "INSERT",
        "eventID": "e",
        "dynamodb": {
            "ApproximateCreationDateTime": 1678831218123,
            "Keys": {},
            "ApproximateCreationDateTimePrecision": "MILLISECOND",
        },
    }
    record = ChangeRecord(kinesis_record(change))
    assert record.approximate_creation_time == datetime(2023, 3, 14, 22, 0, 18, 123000, tzinfo=UTC)
    # No precision field: milliseconds, the Kinesis format's unit.
    del change["dynamodb"]["ApproximateCreationDateTimePrecision"]
    assert ChangeRecord(kinesis_record(change)).approximate_creation_time == datetime(
        2023, 3, 14, 22, 0, 18, 123000, tzinfo=UTC
    )


def test_microsecond_precision_is_exact():
    change = {
        "eventSource": "aws:dynamodb",
        "eventName": "INSERT",
        "eventID": "e",
        "dynamodb": {
            "ApproximateCreationDateTime": 1720740233012995,
            "Keys": {},
            "ApproximateCreationDateTimePrecision": "MICROSECOND",
        },
    }
    created = ChangeRecord(kinesis_record(change)).approximate_creation_time
    assert created == datetime(2024, 7, 11, 23, 23, 53, 12995, tzinfo=UTC)
    assert created.tzinfo is UTC


def test_factory_microsecond_precision_matches_the_stream_record():
    f = factory()
    raw = f.insert(NEW)
    wrapped = f.to_kinesis(raw, precision="MICROSECOND")
    dynamodb = json.loads(base64.b64decode(wrapped["kinesis"]["data"]))["dynamodb"]
    assert dynamodb["ApproximateCreationDateTime"] == 1_800_000_000_000_000
    assert dynamodb["ApproximateCreationDateTimePrecision"] == "MICROSECOND"
    assert (
        ChangeRecord(wrapped).approximate_creation_time
        == ChangeRecord(raw).approximate_creation_time
    )


def test_missing_creation_time_is_none():
    change = {"eventSource": "aws:dynamodb", "eventName": "INSERT", "dynamodb": {"Keys": {}}}
    assert ChangeRecord(kinesis_record(change)).approximate_creation_time is None


def test_router_reports_kinesis_sequence_numbers_in_order():
    f = factory()
    wrapped = [f.to_kinesis(f.insert({**NEW, "orderId": f"o-{n}"})) for n in range(4)]
    seen: list = []
    router = StreamRouter()

    @router.on_insert
    def placed(record: ChangeRecord) -> None:
        seen.append(record.keys["orderId"])
        if record.keys["orderId"] == "o-1":
            raise RuntimeError("boom")

    response = router.handler({"Records": wrapped})
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in wrapped[1:]
        ]
    }
    assert seen == ["o-0", "o-1"]
    sequence_numbers = [int(r["kinesis"]["sequenceNumber"]) for r in wrapped]
    assert sequence_numbers == sorted(sequence_numbers) and len(set(sequence_numbers)) == 4


def test_kinesis_batch_succeeds_and_logs_one_summary(caplog):
    start = 1_800_000_000.0
    f = StreamEventFactory(key_names=("orderId",), start_time=start)
    # The oldest change was made at start; the router's clock reads 60.25 s later.
    router = StreamRouter(clock=lambda: start + 60.25)
    router.on_any(lambda r: r.new_image)
    event = f.kinesis_event(f.insert(NEW), f.modify(OLD, NEW), f.remove(OLD, ttl=True))
    with caplog.at_level(logging.INFO, logger="stream_runtime"):
        assert router.handler(event) == {"batchItemFailures": []}
    [summary] = [
        json.loads(r.getMessage()) for r in caplog.records if '"stream batch"' in r.getMessage()
    ]
    assert summary["event_names"] == {"INSERT": 1, "MODIFY": 1, "REMOVE": 1}
    assert summary["records"] == 3 and summary["processed"] == 3 and summary["failures"] == 0
    # Kinesis carries epoch milliseconds: read as seconds, the age would be off by 1000x.
    assert summary["oldest_record_age_s"] == 60.25


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("not base64!", "data is not base64"),
        (b"\xff\xfe not json", "data is not JSON"),
        (
            {"eventSource": "aws:s3", "dynamodb": {}},
            "its eventSource is 'aws:s3', not 'aws:dynamodb'",
        ),
        ([1, 2], "data is JSON but not an object"),
        ({"eventSource": "aws:dynamodb"}, "it has no 'dynamodb' object"),
    ],
    ids=["not-base64", "not-json", "other-source", "not-an-object", "no-dynamodb"],
)
def test_bad_payload_fails_that_record_and_later_ones(data, problem, caplog):
    f = factory()
    good = f.to_kinesis(f.insert(NEW))
    bad = kinesis_record(
        data, sequence_number="49590338271490256608559692538361571095921575989136599999"
    )
    later = f.to_kinesis(f.insert(NEW))
    seen: list = []
    router = StreamRouter()
    router.on_any(lambda r: seen.append(r.sequence_number))
    with caplog.at_level(logging.INFO, logger="stream_runtime"):
        response = router.handler({"Records": [good, bad, later]})
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": bad["kinesis"]["sequenceNumber"]},
            {"itemIdentifier": later["kinesis"]["sequenceNumber"]},
        ]
    }
    assert seen == [good["kinesis"]["sequenceNumber"]]
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert isinstance(failure.exc_info[1], KinesisPayloadError)
    logged = json.loads(failure.getMessage())
    assert logged["error"].startswith(
        "KinesisPayloadError: Kinesis record 49590338271490256608559692538361571095921575989136599999 "
        f"(stream {STREAM_ARN}) does not carry a DynamoDB change record: {problem}"
    )
    assert logged["event_id"] == bad["eventID"] and logged["keys"] is None
    [summary] = [
        json.loads(r.getMessage()) for r in caplog.records if '"stream batch"' in r.getMessage()
    ]
    assert summary["event_names"] == {"INSERT": 2, "<undecodable>": 1}
    assert summary["processed"] == 1 and summary["failures"] == 2


def test_bad_payload_raises_on_every_read_and_is_decoded_once(monkeypatch):
    calls: list = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda s: calls.append(s) or real_loads(s))
    record = ChangeRecord(kinesis_record({"eventSource": "aws:s3"}))
    for _ in range(2):
        with pytest.raises(KinesisPayloadError, match="eventSource is 'aws:s3'"):
            record.keys  # noqa: B018
        with pytest.raises(KinesisPayloadError):
            record.event_name  # noqa: B018
    assert len(calls) == 1
    assert "event_name=None" in repr(record)  # repr never raises


def test_payload_is_decoded_lazily_and_once(monkeypatch):
    f = factory()
    wrapped = f.to_kinesis(f.modify(OLD, NEW))
    calls: list = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda s: calls.append(s) or real_loads(s))
    record = ChangeRecord(wrapped)
    assert record.sequence_number and calls == []  # building it decodes nothing
    for name in SHARED:
        getattr(record, name)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "kinesis",
    [{}, {"sequenceNumber": ""}, {"sequenceNumber": None}, {"sequenceNumber": 42}],
)
def test_kinesis_record_without_sequence_number_fails_the_whole_batch(kinesis):
    f = factory()
    good = f.to_kinesis(f.insert(NEW))
    bad = {**f.to_kinesis(f.insert(NEW)), "eventID": "shardId-000000000006:x"}
    bad["kinesis"] = {**bad["kinesis"], **kinesis}
    if not kinesis:
        del bad["kinesis"]["sequenceNumber"]
    seen: list = []
    router = StreamRouter()
    router.on_any(seen.append)
    with pytest.raises(UnidentifiableRecordError) as caught:
        router.handler({"Records": [good, bad]})
    assert seen == []
    assert str(caught.value) == (
        "Kinesis record has no kinesis.sequenceNumber, so it cannot be reported as a "
        "partial-batch failure; failing the whole batch (eventID='shardId-000000000006:x')"
    )


def test_kinesis_value_that_is_not_an_object_is_unidentifiable():
    with pytest.raises(UnidentifiableRecordError, match=r"no dynamodb\.SequenceNumber"):
        ChangeRecord({"kinesis": "x", "eventID": "e-1"})


def test_kinesis_event_wraps_records_and_keeps_wrapped_ones():
    f = factory()
    first = f.insert(NEW)
    micro = f.to_kinesis(f.remove(OLD), precision="MICROSECOND", stream_name="other")
    event = f.kinesis_event(first, micro, stream_name="orders-changes")
    assert [r["eventSource"] for r in event["Records"]] == ["aws:kinesis", "aws:kinesis"]
    assert event["Records"][1] is micro
    assert event["Records"][0]["eventSourceARN"] == STREAM_ARN
    assert micro["eventSourceARN"].endswith(":stream/other")
