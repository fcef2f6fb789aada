"""lambda_src/process_order_changes.py: the Orders sample handler on the router."""

from __future__ import annotations

import importlib
import json
import logging
from decimal import Decimal

import pytest
import runtime_path  # noqa: F401  (puts lambda_src on sys.path)

from cdk_streams.testing import StreamEventFactory

# Imported after runtime_path, as Lambda would: lambda_src is the code root.
sample = importlib.import_module("process_order_changes")

PLACED = {"orderId": "o-1", "customerId": "c-9", "status": "PLACED", "total": Decimal("42.50")}
SHIPPED = {**PLACED, "status": "SHIPPED", "total": Decimal("40.00")}


@pytest.fixture
def f() -> StreamEventFactory:
    return StreamEventFactory(key_names=("orderId",))


def order_logs(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "orders"]


def run(event, caplog) -> dict:
    with caplog.at_level(logging.INFO):
        return sample.handler(event, None)


def test_insert_logs_order_placed(f, caplog):
    assert run(f.event(f.insert(PLACED)), caplog) == {"batchItemFailures": []}
    assert order_logs(caplog) == [
        {"message": "order placed", "order_id": "o-1", "customer_id": "c-9", "total": "42.50"}
    ]


def test_modify_logs_total_change_and_status_transition(f, caplog):
    run(f.event(f.modify(PLACED, SHIPPED)), caplog)
    assert order_logs(caplog) == [
        {
            "message": "order updated",
            "order_id": "o-1",
            "total": {"from": "42.50", "to": "40.00"},
            "status": {"from": "PLACED", "to": "SHIPPED"},
            "changed": ["status", "total"],
        }
    ]


def test_modify_of_other_attributes_lists_them(f, caplog):
    run(f.event(f.modify(PLACED, {**PLACED, "note": "leave at door"})), caplog)
    assert order_logs(caplog) == [
        {"message": "order updated", "order_id": "o-1", "changed": ["note"]}
    ]


def test_modify_without_both_images_still_logs(caplog):
    f = StreamEventFactory(key_names=("orderId",), view_type="KEYS_ONLY")
    run(f.event(f.modify(PLACED, SHIPPED)), caplog)
    assert order_logs(caplog) == [{"message": "order updated", "order_id": "o-1"}]


def test_remove_distinguishes_ttl_expiry_from_cancellation(f, caplog):
    run(f.event(f.remove(PLACED, ttl=True), f.remove(SHIPPED)), caplog)
    assert order_logs(caplog) == [
        {"message": "order expired", "order_id": "o-1", "reason": "ttl"},
        {"message": "order cancelled", "order_id": "o-1", "status": "SHIPPED"},
    ]


def test_poison_order_fails_it_and_the_rest_of_the_batch(f, caplog):
    records = [
        f.insert(PLACED),
        f.insert({"orderId": "o-2", "poison": True}),
        f.modify(PLACED, SHIPPED),
    ]
    response = run(f.event(*records), caplog)
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[1:]
        ]
    }
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert isinstance(failure.exc_info[1], sample.PoisonOrderError)
    assert "order 'o-2' is marked poison=true" in str(failure.exc_info[1])
    assert [line["message"] for line in order_logs(caplog)] == ["order placed"]


def test_poison_on_modify_and_only_when_true(f, caplog):
    poisoned = f.modify(PLACED, {**SHIPPED, "poison": True})
    assert run(f.event(poisoned), caplog)["batchItemFailures"] == [
        {"itemIdentifier": poisoned["dynamodb"]["SequenceNumber"]}
    ]
    harmless = f.insert({**PLACED, "poison": "yes"})
    assert run(f.event(harmless), caplog) == {"batchItemFailures": []}
