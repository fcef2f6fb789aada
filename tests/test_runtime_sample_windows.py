"""The tumbling-window sample handler, count_orders_by_status: counts and the window's log line."""

from __future__ import annotations

import json
import logging

import runtime_path  # noqa: F401
from count_orders_by_status import handler

from cdk_streams.testing import StreamEventFactory


def windowed(records: list, state: dict, final: bool = False) -> dict:
    return {
        "Records": records,
        "window": {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T10:01:00Z"},
        "state": state,
        "shardId": "shardId-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/Orders/stream/x",
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": False,
    }


def test_counts_status_changes_per_window_and_logs_the_final_counts(caplog):
    f = StreamEventFactory(key_names=("orderId",), start_time=1.8e9)
    placed = {"orderId": "o-1", "status": "PLACED"}
    shipped = {**placed, "status": "SHIPPED"}
    first = handler(
        windowed(
            [
                f.insert(placed),
                f.insert({"orderId": "o-2", "status": "PLACED"}),
                f.modify(placed, {**placed, "note": "gift"}),  # same status: not counted
            ],
            {},
        ),
        None,
    )
    assert first == {"state": {"PLACED": 2}, "batchItemFailures": []}
    second = handler(windowed([f.modify(placed, shipped), f.remove(shipped)], first["state"]), None)
    assert second["state"] == {"PLACED": 2, "SHIPPED": 1}
    with caplog.at_level(logging.INFO, logger="orders"):
        final = handler(windowed([], second["state"], final=True), None)
    assert final == {"state": {"PLACED": 2, "SHIPPED": 1}, "batchItemFailures": []}
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "orders"]
    assert line == {
        "message": "orders by status",
        "window_start": "2026-12-01T10:00:00+00:00",
        "window_end": "2026-12-01T10:01:00+00:00",
        "shard_id": "shardId-1",
        "counts": {"PLACED": 2, "SHIPPED": 1},
        "terminated_early": False,
    }
