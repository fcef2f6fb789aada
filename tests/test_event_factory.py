"""cdk_streams.testing.StreamEventFactory: Lambda-shaped stream events from plain items."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from cdk_streams.testing import (
    ASSET_HASH_MASK,
    StreamEventFactory,
    mask_asset_hashes,
    snapshot_matcher,
)

ORDER = {"orderId": "o-1", "total": Decimal("12.50"), "qty": 2, "blob": b"\x00\x01"}


def test_insert_record_shape():
    f = StreamEventFactory(key_names=("orderId",), start_time=1_800_000_000)
    rec = f.insert(ORDER)
    assert rec["eventName"] == "INSERT"
    assert rec["eventVersion"] == "1.1"
    assert rec["eventSource"] == "aws:dynamodb"
    assert rec["awsRegion"] == "us-east-1"
    assert rec["eventSourceARN"] == (
        "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"
    )
    assert len(rec["eventID"]) == 32
    ddb = rec["dynamodb"]
    assert ddb["Keys"] == {"orderId": {"S": "o-1"}}
    assert ddb["NewImage"] == {
        "orderId": {"S": "o-1"},
        "total": {"N": "12.50"},
        "qty": {"N": "2"},
        "blob": {"B": base64.b64encode(b"\x00\x01").decode()},
    }
    assert "OldImage" not in ddb
    assert ddb["ApproximateCreationDateTime"] == 1_800_000_000
    assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert ddb["SequenceNumber"].isdigit() and len(ddb["SequenceNumber"]) >= 21
    assert ddb["SizeBytes"] > 0


def test_sequence_numbers_times_and_ids_increase():
    f = StreamEventFactory(key_names=("orderId",))
    recs = [f.insert(ORDER), f.modify(ORDER, ORDER), f.remove(ORDER)]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
    times = [r["dynamodb"]["ApproximateCreationDateTime"] for r in recs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert times == sorted(times) and len(set(times)) == 3
    assert len({r["eventID"] for r in recs}) == 3
    assert f.event(*recs) == {"Records": recs}
    assert f.event() == {"Records": []}


@pytest.mark.parametrize(
    ("view_type", "insert_keys", "modify_keys", "remove_keys"),
    [
        ("KEYS_ONLY", set(), set(), set()),
        ("NEW_IMAGE", {"NewImage"}, {"NewImage"}, set()),
        ("OLD_IMAGE", set(), {"OldImage"}, {"OldImage"}),
        ("NEW_AND_OLD_IMAGES", {"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}),
    ],
)
def test_images_follow_view_type(view_type, insert_keys, modify_keys, remove_keys):
    f = StreamEventFactory(key_names=("orderId",), view_type=view_type)
    images = {"NewImage", "OldImage"}
    assert set(f.insert(ORDER)["dynamodb"]) & images == insert_keys
    assert set(f.modify(ORDER, ORDER)["dynamodb"]) & images == modify_keys
    assert set(f.remove(ORDER)["dynamodb"]) & images == remove_keys
    assert f.insert(ORDER)["dynamodb"]["StreamViewType"] == view_type


def test_composite_keys_region_account_table():
    f = StreamEventFactory(
        key_names=("pk", "sk"), table_name="T", region="eu-west-1", account="111122223333"
    )
    rec = f.modify({"pk": "a", "sk": 1}, {"pk": "a", "sk": 1, "x": True})
    assert rec["dynamodb"]["Keys"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert rec["awsRegion"] == "eu-west-1"
    assert rec["eventSourceARN"].startswith("arn:aws:dynamodb:eu-west-1:111122223333:table/T/")


def test_default_key_name_is_pk():
    assert StreamEventFactory().insert({"pk": "a"})["dynamodb"]["Keys"] == {"pk": {"S": "a"}}


def test_values_are_serialized_like_lambda_delivers_them():
    f = StreamEventFactory()
    image = f.insert(
        {
            "pk": "a",
            "f": 1.5,
            "bs": {b"x"},
            "nested": [{"b": b"y", "n": None}],
            "ss": {"only"},
        }
    )["dynamodb"]["NewImage"]
    assert image["f"] == {"N": "1.5"}  # float -> Decimal(str(float))
    assert image["bs"] == {"BS": [base64.b64encode(b"x").decode()]}
    assert image["nested"] == {"L": [{"M": {"b": {"B": "eQ=="}, "n": {"NULL": True}}}]}
    assert image["ss"] == {"SS": ["only"]}


def test_ttl_removal_carries_the_service_identity():
    f = StreamEventFactory()
    assert f.remove({"pk": "a"}, ttl=True)["userIdentity"] == {
        "type": "Service",
        "principalId": "dynamodb.amazonaws.com",
    }
    assert "userIdentity" not in f.remove({"pk": "a"})


def test_bad_view_type_is_rejected():
    with pytest.raises(ValueError, match=r"view_type must be one of KEYS_ONLY, .* got 'NEW'"):
        StreamEventFactory(view_type="NEW")


def test_bad_key_names_are_rejected():
    with pytest.raises(ValueError, match=r"key_names must be a non-empty tuple.*got 'pk'"):
        StreamEventFactory(key_names="pk")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key_names must be a non-empty tuple"):
        StreamEventFactory(key_names=())


def test_item_without_its_key_is_rejected():
    f = StreamEventFactory(key_names=("orderId",))
    with pytest.raises(ValueError, match=r"INSERT item has no key attribute\(s\) orderId"):
        f.insert({"id": "x"})


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError, match=r"takes 1 positional argument but 2 were given"):
        StreamEventFactory(("pk",))  # type: ignore[misc]


def test_masking_helpers_are_kept():
    digest = "a" * 64
    assert mask_asset_hashes({"S3Key": f"{digest}.zip"}) == {"S3Key": f"{ASSET_HASH_MASK}.zip"}
    assert snapshot_matcher(digest, None) == ASSET_HASH_MASK


def test_to_kinesis_record_shape():
    f = StreamEventFactory(key_names=("orderId",), start_time=1_800_000_000)
    inner = f.modify(ORDER, {**ORDER, "qty": 3})
    first = f.to_kinesis(inner)
    second = f.to_kinesis(f.remove(ORDER, ttl=True), stream_name="other")
    assert first["eventSource"] == "aws:kinesis"
    assert first["eventName"] == "aws:kinesis:record"
    assert first["eventSourceARN"] == "arn:aws:kinesis:us-east-1:123456789012:stream/orders-changes"
    assert second["eventSourceARN"].endswith(":stream/other")
    seqs = [int(r["kinesis"]["sequenceNumber"]) for r in (first, second)]
    assert seqs[0] < seqs[1] and len(str(seqs[0])) == 56
    assert first["eventID"] == f"shardId-000000000000:{first['kinesis']['sequenceNumber']}"
    change = json.loads(base64.b64decode(first["kinesis"]["data"]))
    assert change["eventSource"] == "aws:dynamodb"
    assert change["eventID"] == inner["eventID"] and change["eventName"] == "MODIFY"
    assert change["tableName"] == "Orders" and change["recordFormat"] == "application/json"
    assert change["userIdentity"] is None
    ddb = change["dynamodb"]
    assert ddb["ApproximateCreationDateTime"] == 1_800_000_000_000
    assert ddb["ApproximateCreationDateTimePrecision"] == "MILLISECOND"
    assert ddb["Keys"] == inner["dynamodb"]["Keys"]
    assert ddb["NewImage"] == inner["dynamodb"]["NewImage"]
    assert ddb["OldImage"] == inner["dynamodb"]["OldImage"]
    assert ddb["SizeBytes"] == inner["dynamodb"]["SizeBytes"]
    assert "SequenceNumber" not in ddb and "StreamViewType" not in ddb
    ttl = json.loads(base64.b64decode(second["kinesis"]["data"]))
    assert ttl["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_to_kinesis_rejects_bad_input():
    f = StreamEventFactory()
    with pytest.raises(ValueError, match="precision must be one of MILLISECOND, MICROSECOND"):
        f.to_kinesis(f.insert({"pk": "a"}), precision="SECOND")
    with pytest.raises(ValueError, match="to_kinesis wraps a DynamoDB stream record"):
        f.to_kinesis(f.to_kinesis(f.insert({"pk": "a"})))


def test_kinesis_event():
    f = StreamEventFactory()
    event = f.kinesis_event(f.insert({"pk": "a"}), f.remove({"pk": "a"}))
    assert [r["eventSource"] for r in event["Records"]] == ["aws:kinesis", "aws:kinesis"]
    assert f.kinesis_event() == {"Records": []}
