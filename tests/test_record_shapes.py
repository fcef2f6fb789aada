"""One definition of the DynamoDB record shapes (cdk_streams.streams.records), used by the
event factory, the backfill, the simulation and the synth checks alike."""

from __future__ import annotations

import base64
import hashlib
import json
from types import SimpleNamespace
from typing import Any

import pytest
from stream_runtime import ChangeRecord
from stream_runtime.records import CREATION_TIME_PRECISIONS

from cdk_streams.filter_view_type import check_filters_view_type
from cdk_streams.filters import FilterError, Pattern, filter_criteria, new_image
from cdk_streams.operations.backfill_records import backfill_record
from cdk_streams.simulation.workload import stream_record as workload_record
from cdk_streams.streams.records import (
    IMAGES_BY_VIEW_TYPE,
    PRECISIONS,
    VIEW_TYPES,
    carried_images,
    lambda_record,
    size_bytes,
    stream_record,
)
from cdk_streams.testing import StreamEventFactory
from cdk_streams.validation import StreamsValidationError

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"

# AWS's sample DynamoDB stream event (Lambda developer guide): the items and SizeBytes.
FIRST = {"Message": "New item!", "Id": 101}
CHANGED = {"Message": "This item has changed", "Id": 101}


def test_view_types_and_their_images_are_written_once() -> None:
    assert VIEW_TYPES == ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    assert IMAGES_BY_VIEW_TYPE["NEW_AND_OLD_IMAGES"] == {"NewImage", "OldImage"}
    assert carried_images("KEYS_ONLY") == frozenset()
    with pytest.raises(ValueError) as error:
        carried_images("ALL")
    assert str(error.value) == (
        "view_type must be one of KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, got 'ALL'"
    )


def test_the_kinesis_precisions_are_the_runtimes() -> None:
    assert PRECISIONS is CREATION_TIME_PRECISIONS
    assert PRECISIONS == {"MILLISECOND": 1_000, "MICROSECOND": 1_000_000}


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda f: f.insert(FIRST), 26),
        (lambda f: f.modify(FIRST, CHANGED), 59),
        (lambda f: f.remove(CHANGED), 38),
    ],
)
def test_size_bytes_is_what_aws_sample_records_carry(build: Any, expected: int) -> None:
    record = build(StreamEventFactory(key_names=("Id",)))
    assert record["dynamodb"]["SizeBytes"] == expected


def test_size_bytes_follows_dynamodb_item_size() -> None:
    # Names and strings in UTF-8 bytes; binary raw, as bytes or base64.
    assert size_bytes({"é": {"S": "ü"}}) == 4
    assert size_bytes({"b": {"B": b"\x00\x01\x02"}}) == size_bytes({"b": {"B": "AAEC"}}) == 4
    # Numbers: leading and trailing zeros trimmed, a byte per two digits, plus one.
    assert size_bytes({"n": {"N": "0012.500"}}) == 1 + 3
    assert size_bytes({"n": {"N": "-1E+5"}}) == 1 + 2
    assert size_bytes({"t": {"BOOL": True}, "z": {"NULL": True}}) == 4
    # Lists and maps: 3 bytes, plus 1 per element (and a map's key names).
    assert size_bytes({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert size_bytes({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert size_bytes({"s": {"SS": ["a", "bc"]}, "ns": {"NS": ["1", "22"]}}) == 1 + 3 + 2 + 4
    # A big ASCII image is measured by its length.
    assert size_bytes({"body": {"S": "x" * 400_000}}) == 400_004


def test_stream_record_is_a_get_records_record_in_aws_field_order() -> None:
    record = stream_record(
        event_name="MODIFY",
        keys={"pk": {"S": "a"}},
        new_image={"pk": {"S": "a"}, "n": {"N": "2"}},
        old_image={"pk": {"S": "a"}},
        view_type="NEW_AND_OLD_IMAGES",
        sequence_number="4421584500000000017450",
        created=1_800_000_000.9,
    )
    assert list(record) == ["eventID", "eventName", "eventVersion", "dynamodb"]
    assert record["eventID"] == hashlib.md5(b"4421584500000000017450").hexdigest()
    assert list(record["dynamodb"]) == [
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "OldImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    ]
    # DynamoDB writes whole seconds.
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1_800_000_000.0
    assert record["dynamodb"]["SizeBytes"] == 3 + (3 + 1 + 2) + 3
    assert "userIdentity" not in record


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_stream_record_carries_the_images_of_its_view_type(view_type: str) -> None:
    record = stream_record(
        event_name="MODIFY",
        keys={"pk": {"S": "a"}},
        new_image={"pk": {"S": "a"}, "v": {"S": "new"}},
        old_image={"pk": {"S": "a"}, "v": {"S": "old"}},
        view_type=view_type,
        sequence_number="1",
        created=0,
    )
    change = record["dynamodb"]
    assert {"NewImage", "OldImage"} & set(change) == IMAGES_BY_VIEW_TYPE[view_type]
    carried = [change[name] for name in ("NewImage", "OldImage") if name in change]
    assert change["SizeBytes"] == size_bytes(change["Keys"], *carried)


def test_a_ttl_expiry_names_dynamodbs_ttl_service_after_the_source_arn() -> None:
    raw = stream_record(
        event_name="REMOVE",
        keys={"pk": {"S": "a"}},
        old_image={"pk": {"S": "a"}},
        view_type="NEW_AND_OLD_IMAGES",
        sequence_number="1",
        created=0,
        ttl=True,
    )
    record = lambda_record(raw, stream_arn=STREAM)
    assert list(record)[-2:] == ["eventSourceARN", "userIdentity"]
    assert ChangeRecord(record).is_ttl_expiry
    factory = StreamEventFactory(key_names=("pk",))
    assert list(factory.remove({"pk": "a"}, ttl=True)) == list(record)


def test_the_factory_and_the_backfill_build_the_same_change() -> None:
    f = StreamEventFactory(key_names=("pk",), start_time=1_800_000_000)
    made = f.insert({"pk": "o-1", "total": 12.5, "blob": b"\x00\x01"})
    backfilled = backfill_record(
        {"pk": {"S": "o-1"}, "total": {"N": "12.5"}, "blob": {"B": b"\x00\x01"}},
        key_names=["pk"],
        stream_arn=f.stream_arn,
        view_type=f.view_type,
        segment=0,
        position=0,
        created=1_800_000_000.5,
    )
    ours, theirs = made["dynamodb"], backfilled["dynamodb"]
    assert list(ours) == list(theirs)
    for name in ("ApproximateCreationDateTime", "Keys", "NewImage", "SizeBytes"):
        assert ours[name] == theirs[name], name
    assert theirs["NewImage"]["blob"] == {"B": base64.b64encode(b"\x00\x01").decode()}


def test_the_simulations_record_is_a_stream_record() -> None:
    raw = workload_record(7, "item-7", 1.5, 1024)
    change = raw["dynamodb"]
    assert raw["eventID"] == "e7" and change["SequenceNumber"] == "7"
    assert change["StreamViewType"] == "NEW_IMAGE" and "OldImage" not in change
    assert change["SizeBytes"] == size_bytes(change["Keys"], change["NewImage"])
    # About the item's size: the image's padding is the item size less an estimate.
    assert abs(change["SizeBytes"] - 1024) < 40
    assert change["ApproximateCreationDateTime"] == int(change["ApproximateCreationDateTime"])


# -- filters ---------------------------------------------------------------------------

_SCOPE: Any = SimpleNamespace(node=SimpleNamespace(path="Test/Processor"))


def _check(pattern: dict[str, Any], view_type: str = "KEYS_ONLY") -> None:
    check_filters_view_type(_SCOPE, [{"pattern": json.dumps(pattern)}], view_type)


def test_a_filter_on_a_missing_image_written_with_a_dotted_key_is_refused() -> None:
    with pytest.raises(StreamsValidationError, match=r"pattern\.dynamodb\.NewImage must be on"):
        _check({"dynamodb.NewImage.status.S": ["SHIPPED"]})


def test_a_filter_that_can_match_without_the_image_is_accepted() -> None:
    # One $or branch on the missing image: the other branch still matches records.
    _check({"$or": [{"dynamodb": {"NewImage": {"a": {"S": ["x"]}}}}, {"eventName": ["REMOVE"]}]})
    # exists: false holds on a record without the image.
    _check({"dynamodb": {"OldImage": {"a": {"S": [{"exists": False}]}}}}, "NEW_IMAGE")
    with pytest.raises(StreamsValidationError, match="OldImage must be on"):
        _check({"dynamodb": {"OldImage": {"a": {"S": [{"exists": True}]}}}}, "NEW_IMAGE")


def test_a_token_or_a_refused_pattern_is_left_to_other_checks() -> None:
    check_filters_view_type(_SCOPE, [{"pattern": "${Token[TOKEN.1]}"}, "junk"], "KEYS_ONLY")


def test_filter_criteria_length_limit_comes_from_the_grammar() -> None:
    long = Pattern(new_image("a").is_one_of(*[f"v{i:05}" for i in range(600)]))
    with pytest.raises(FilterError) as error:
        filter_criteria(Pattern(new_image("a").equals("x")), long)
    assert str(error.value) == "pattern 1 must be at most 4096 characters, got 5439 characters"


def test_filter_type_tags_are_the_runtimes() -> None:
    with pytest.raises(FilterError, match="type must be one of B, BOOL, BS, L, M, N, NS, NULL"):
        new_image("a").exists(["S"])  # type: ignore[arg-type]
