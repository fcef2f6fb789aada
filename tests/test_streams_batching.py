"""When a batch is cut (cdk_streams.streams.batching): batch size, batching window
and the 6 MB payload limit, on an injected time."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_streams.streams.batching import EMPTY_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES, BatchBuffer, cut
from cdk_streams.streams.records import record_size


def record(n: int, padding: int = 0) -> dict[str, Any]:
    return {"dynamodb": {"SequenceNumber": str(n), "Pad": "x" * padding}}


def test_a_full_batch_is_due_at_once_and_cut_at_batch_size() -> None:
    buffer = BatchBuffer(batch_size=3, max_batching_window=10.0)
    for n in range(7):
        buffer.add(record(n), now=0.0)
    assert buffer.full and buffer.due(now=0.0)
    assert [r["dynamodb"]["SequenceNumber"] for r in buffer.take(now=0.0)] == ["0", "1", "2"]
    assert buffer.take(now=0.0)[0]["dynamodb"]["SequenceNumber"] == "3"
    assert len(buffer) == 1 and not buffer.full


def test_a_partial_batch_waits_for_the_window_counted_from_its_first_record() -> None:
    buffer = BatchBuffer(batch_size=10, max_batching_window=1.0)
    buffer.add(record(0), now=5.0)
    buffer.add(record(1), now=5.8)  # a later record does not restart the window
    assert not buffer.due(now=5.99)
    assert buffer.due_in(now=5.5) == 0.5
    assert buffer.due(now=6.0) and buffer.due_in(now=6.0) == 0.0
    assert len(buffer.take(now=6.0)) == 2
    assert buffer.opened_at is None and buffer.due_in(now=6.0) is None


def test_records_left_after_a_cut_open_a_new_window() -> None:
    buffer = BatchBuffer(batch_size=2, max_batching_window=1.0)
    for n in range(3):
        buffer.add(record(n), now=0.0)
    buffer.take(now=0.5)
    assert buffer.opened_at == 0.5
    assert not buffer.due(now=1.2) and buffer.due(now=1.5)


def test_without_a_window_any_record_is_due() -> None:
    buffer = BatchBuffer(batch_size=100, max_batching_window=0.0)
    assert not buffer.due(now=0.0)  # nothing buffered
    buffer.add(record(0), now=0.0)
    assert buffer.due(now=0.0)


def test_the_payload_limit_cuts_a_batch_before_batch_size() -> None:
    # Three records of ~1000 bytes with a 2500-byte limit: two fit, the third waits.
    buffer = BatchBuffer(batch_size=10, max_batching_window=60.0, max_payload_bytes=2500)
    for n in range(3):
        buffer.add(record(n, padding=1000), now=0.0)
    assert buffer.full and buffer.due(now=0.0)
    assert len(buffer.take(now=0.0)) == 2
    assert not buffer.full and not buffer.due(now=1.0)


def test_an_oversized_record_is_still_cut_alone() -> None:
    assert cut([MAX_PAYLOAD_BYTES + 1, 10], batch_size=10) == 1
    assert cut([], batch_size=10) == 0


def test_cut_counts_the_payload_envelope() -> None:
    size = record_size(record(0))
    limit = EMPTY_PAYLOAD_BYTES + 2 * size
    assert cut([size, size, size], batch_size=10, max_payload_bytes=limit) == 2
    assert cut([size, size, size], batch_size=10, max_payload_bytes=limit - 1) == 1
    assert cut([size] * 5, batch_size=3) == 3


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"batch_size": 0, "max_batching_window": 0.0}, "batch_size must be at least 1, got 0"),
        (
            {"batch_size": 1, "max_batching_window": -1.0},
            "max_batching_window must be 0 or more seconds, got -1.0",
        ),
    ],
)
def test_a_buffer_refuses_impossible_settings(settings: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        BatchBuffer(**settings)
    assert str(error.value) == message
