"""stream_runtime.records.ChangeRecord: what a route receives."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import runtime_path  # noqa: F401  (puts lambda_src on sys.path)
from stream_runtime import ChangeRecord, Image, UnidentifiableRecordError

from cdk_streams.testing import StreamEventFactory

OLD = {"orderId": "o-1", "status": "PLACED", "total": Decimal("10.00"), "tags": {"a", "b"}}
NEW = {"orderId": "o-1", "status": "SHIPPED", "total": Decimal("10.00"), "tags": {"b", "a"}}


def factory(view_type: str = "NEW_AND_OLD_IMAGES") -> StreamEventFactory:
    return StreamEventFactory(key_names=("orderId",), view_type=view_type, start_time=1.8e9)


def test_fields():
    raw = factory().modify(OLD, NEW)
    record = ChangeRecord(raw)
    assert record.raw is raw
    assert record.event_id == raw["eventID"]
    assert record.event_name == "MODIFY"
    assert record.sequence_number == raw["dynamodb"]["SequenceNumber"]
    assert record.view_type == "NEW_AND_OLD_IMAGES"
    assert record.event_source_arn == raw["eventSourceARN"]
    assert record.size_bytes == raw["dynamodb"]["SizeBytes"]
    assert record.keys == {"orderId": "o-1"}
    assert record.approximate_creation_time == datetime.fromtimestamp(1.8e9, UTC)
    assert record.approximate_creation_time.tzinfo is UTC
    assert record.is_ttl_expiry is False
    assert isinstance(record.new_image, Image)
    assert record.new_image == NEW
    assert record.old_image == OLD
    assert "MODIFY" in repr(record) and record.sequence_number in repr(record)


def test_images_are_built_once():
    record = ChangeRecord(factory().modify(OLD, NEW))
    assert record.new_image is record.new_image
    assert record.old_image is record.old_image
    assert record.keys is record.keys


@pytest.mark.parametrize(
    ("view_type", "new_present", "old_present"),
    [
        ("KEYS_ONLY", False, False),
        ("NEW_IMAGE", True, False),
        ("OLD_IMAGE", False, True),
        ("NEW_AND_OLD_IMAGES", True, True),
    ],
)
def test_images_are_none_when_the_view_type_lacks_them(view_type, new_present, old_present):
    record = ChangeRecord(factory(view_type).modify(OLD, NEW))
    assert (record.new_image is not None) is new_present
    assert (record.old_image is not None) is old_present
    assert record.keys == {"orderId": "o-1"}


def test_insert_and_remove_images():
    f = factory()
    insert = ChangeRecord(f.insert(NEW))
    remove = ChangeRecord(f.remove(OLD))
    assert insert.old_image is None and insert.new_image == NEW
    assert remove.new_image is None and remove.old_image == OLD


def test_ttl_expiry():
    f = factory()
    assert ChangeRecord(f.remove(OLD, ttl=True)).is_ttl_expiry is True
    assert ChangeRecord(f.remove(OLD)).is_ttl_expiry is False
    raw = f.remove(OLD)
    raw["userIdentity"] = {"type": "Service", "principalId": "someone.else.com"}
    assert ChangeRecord(raw).is_ttl_expiry is False


def test_changed_attributes_compares_values_not_json():
    record = ChangeRecord(factory().modify(OLD, NEW))
    # tags are the same set listed in another order: not a change.
    assert record.changed_attributes == frozenset({"status"})


def test_changed_attributes_sees_added_and_removed_attributes():
    old = {"orderId": "o-1", "note": "x"}
    new = {"orderId": "o-1", "carrier": "UPS"}
    assert ChangeRecord(factory().modify(old, new)).changed_attributes == {"note", "carrier"}


def test_changed_attributes_empty_when_nothing_changed():
    assert ChangeRecord(factory().modify(OLD, OLD)).changed_attributes == frozenset()


@pytest.mark.parametrize("view_type", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"])
def test_changed_attributes_none_without_both_images(view_type):
    assert ChangeRecord(factory(view_type).modify(OLD, NEW)).changed_attributes is None


def test_changed_attributes_none_for_insert_and_remove():
    f = factory()
    assert ChangeRecord(f.insert(NEW)).changed_attributes is None
    assert ChangeRecord(f.remove(OLD)).changed_attributes is None


def test_missing_optional_fields_are_none():
    record = ChangeRecord({"dynamodb": {"SequenceNumber": "1"}})
    assert record.event_id is None
    assert record.event_name is None
    assert record.approximate_creation_time is None
    assert record.size_bytes is None
    assert record.keys == {}
    assert record.new_image is None and record.old_image is None


@pytest.mark.parametrize(
    "raw",
    [
        {"eventID": "e-1", "dynamodb": {}},
        {"eventID": "e-1", "dynamodb": {"SequenceNumber": ""}},
        {"eventID": "e-1", "dynamodb": {"SequenceNumber": None}},
        {"eventID": "e-1"},
        {"eventID": "e-1", "dynamodb": None},
    ],
)
def test_record_without_sequence_number_is_unidentifiable(raw):
    with pytest.raises(UnidentifiableRecordError) as caught:
        ChangeRecord(raw)
    message = str(caught.value)
    assert "no dynamodb.SequenceNumber" in message
    assert "failing the whole batch" in message
    assert "eventID='e-1'" in message


def test_a_dynamodb_object_that_is_another_mapping_still_gives_its_creation_time() -> None:
    from types import MappingProxyType

    from stream_runtime import ChangeRecord

    raw = {
        "eventName": "INSERT",
        "dynamodb": MappingProxyType(
            {"SequenceNumber": "1", "ApproximateCreationDateTime": 1_800_000_000}
        ),
    }
    record = ChangeRecord(raw)
    assert record.approximate_creation_time is not None
    assert record.approximate_creation_time.timestamp() == 1_800_000_000
