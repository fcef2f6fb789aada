"""StreamRouter with tumbling windows: folding, state, finaliser, ordered failures, errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import runtime_path  # noqa: F401
from stream_runtime import ChangeRecord, StreamRouter
from stream_runtime.windows import (
    MAX_STATE_BYTES,
    Window,
    WindowEventError,
    WindowStateError,
    check_state,
    window_of,
)

from cdk_streams.testing import StreamEventFactory


def order(n: int, status: str = "PLACED") -> dict:
    return {"orderId": f"o-{n}", "status": status}


def windowed(
    records: list[dict],
    state: Any = None,
    *,
    final: bool = False,
    early: bool = False,
    start: str = "2026-12-01T10:00:00Z",
    end: str = "2026-12-01T10:01:00Z",
) -> dict:
    return {
        "Records": records,
        "window": {"start": start, "end": end},
        "state": {} if state is None else state,
        "shardId": "shardId-000000000001",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/Orders/stream/x",
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": early,
    }


def seqs(records: list[dict]) -> list[dict]:
    return [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]


@pytest.fixture
def f() -> StreamEventFactory:
    return StreamEventFactory(key_names=("orderId",), start_time=1.8e9)


class CountByStatus:
    """A router counting orders by status, remembering what its finaliser got."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.router = StreamRouter(metrics=False)
        self.finished: list[tuple[Window, dict]] = []
        self.windows_seen: list[Window | None] = []

        @self.router.on_window
        def count(state: dict, record: ChangeRecord) -> dict:
            self.windows_seen.append(self.router.window)
            image = record.new_image
            assert image is not None
            if image["orderId"] == fail_on:
                raise RuntimeError(f"cannot count {fail_on}")
            status = image["status"]
            state[status] = state.get(status, 0) + 1
            return state

        @self.router.on_window_end
        def publish(window: Window, state: dict) -> None:
            self.finished.append((window, dict(state)))


def test_state_accumulates_across_invocations_and_goes_back(f):
    counter = CountByStatus()
    first = counter.router.handler(
        windowed([f.insert(order(1)), f.insert(order(2, "SHIPPED"))]), None
    )
    assert first == {"state": {"PLACED": 1, "SHIPPED": 1}, "batchItemFailures": []}
    # Lambda hands the returned state back on the window's next invocation.
    second = counter.router.handler(windowed([f.insert(order(3))], first["state"]), None)
    assert second == {"state": {"PLACED": 2, "SHIPPED": 1}, "batchItemFailures": []}
    assert counter.finished == []
    # The response survives Lambda's JSON round trip unchanged.
    assert json.loads(json.dumps(second)) == second


def test_aggregator_sees_the_window_during_the_call(f):
    counter = CountByStatus()
    counter.router.handler(windowed([f.insert(order(1))]), None)
    [window] = counter.windows_seen
    assert window is not None
    assert window.start == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 12, 1, 10, 1, tzinfo=UTC)
    assert window.shard_id == "shardId-000000000001"
    assert counter.router.window is None  # only while a batch runs


def test_final_invocation_without_records_calls_the_finaliser(f):
    counter = CountByStatus()
    response = counter.router.handler(windowed([], {"PLACED": 7}, final=True), None)
    assert response == {"state": {"PLACED": 7}, "batchItemFailures": []}
    [(window, state)] = counter.finished
    assert state == {"PLACED": 7}
    assert window.is_final and not window.terminated_early and window.ends


def test_final_invocation_with_records_folds_them_first(f):
    counter = CountByStatus()
    response = counter.router.handler(
        windowed([f.insert(order(1))], {"PLACED": 1}, final=True), None
    )
    assert response["state"] == {"PLACED": 2}
    assert counter.finished[0][1] == {"PLACED": 2}


def test_window_terminated_early_calls_the_finaliser_with_the_flag(f):
    counter = CountByStatus()
    counter.router.handler(windowed([], {"PLACED": 3}, early=True), None)
    [(window, state)] = counter.finished
    assert window.terminated_early and not window.is_final
    assert state == {"PLACED": 3}


def test_a_failing_record_reports_it_and_later_ones_and_keeps_the_state_before_it(f):
    counter = CountByStatus(fail_on="o-2")
    records = [f.insert(order(1)), f.insert(order(2)), f.insert(order(3))]
    response = counter.router.handler(windowed(records, {"PLACED": 10}), None)
    # o-1 counted; o-2 and o-3 reported, and not counted: Lambda's retry from
    # o-2 then folds them onto exactly this state.
    assert response == {"state": {"PLACED": 11}, "batchItemFailures": seqs(records[1:])}


def test_a_failure_on_the_final_invocation_does_not_finalise(f):
    counter = CountByStatus(fail_on="o-1")
    records = [f.insert(order(1))]
    response = counter.router.handler(windowed(records, {"PLACED": 4}, final=True), None)
    assert response == {"state": {"PLACED": 4}, "batchItemFailures": seqs(records)}
    assert counter.finished == []


def test_a_finaliser_that_raises_fails_the_invocation(f, caplog):
    router = StreamRouter(metrics=False)
    router.on_window(lambda state, record: state)

    @router.on_window_end
    def publish(window: Window, state: dict) -> None:
        raise ConnectionError("report store down")

    with (
        caplog.at_level(logging.ERROR, logger="stream_runtime"),
        pytest.raises(ConnectionError, match="report store down"),
    ):
        router.handler(windowed([], {"n": 1}, final=True), None)
    [line] = [json.loads(r.getMessage()) for r in caplog.records if "finaliser" in r.getMessage()]
    assert line["message"] == "window finaliser failed"
    assert line["window_start"] == "2026-12-01T10:00:00+00:00"
    assert line["error"] == "ConnectionError: report store down"


def test_state_over_one_megabyte_reports_the_whole_batch_with_the_old_state(f, caplog):
    router = StreamRouter(metrics=False)

    @router.on_window
    def hoard(state: dict, record: ChangeRecord) -> dict:
        # Changes the state in place, then makes it too big.
        state["blob"] = "x" * MAX_STATE_BYTES
        return state

    records = [f.insert(order(1)), f.insert(order(2))]
    with caplog.at_level(logging.ERROR, logger="stream_runtime"):
        response = router.handler(windowed(records, {"count": 3}), None)
    assert response == {"state": {"count": 3}, "batchItemFailures": seqs(records)}
    [line] = [json.loads(r.getMessage()) for r in caplog.records]
    assert line["message"] == "window state rejected"
    assert "over Lambda's limit of 1048576 bytes" in line["error"]
    assert line["reported_failures"] == 2


def test_a_state_that_is_not_json_is_rejected_the_same_way(f):
    router = StreamRouter(metrics=False)

    @router.on_window
    def total(state: dict, record: ChangeRecord) -> dict:
        state["sum"] = state.get("sum", 0) + Decimal("1.5")
        return state

    records = [f.insert(order(1))]
    response = router.handler(windowed(records, {}), None)
    assert response == {"state": {}, "batchItemFailures": seqs(records)}


def test_an_aggregator_that_returns_no_state_fails_that_record(f, caplog):
    router = StreamRouter(metrics=False)

    @router.on_window
    def forgot_return(state: dict, record: ChangeRecord) -> None:  # type: ignore[return]
        state["n"] = 1

    records = [f.insert(order(1)), f.insert(order(2))]
    with caplog.at_level(logging.ERROR, logger="stream_runtime"):
        response = router.handler(windowed(records), None)  # type: ignore[arg-type]
    assert response["batchItemFailures"] == seqs(records)
    assert "returned NoneType, not the new state (a dict)" in caplog.text


def test_check_state_limits_and_messages():
    assert check_state({"a": 1}) == len('{"a":1}')
    with pytest.raises(WindowStateError, match=r"is 12 bytes as JSON, over Lambda's limit of 10"):
        check_state({"abc": "de"}, limit=10)
    with pytest.raises(WindowStateError, match="must return the new state as a dict"):
        check_state([1, 2])
    with pytest.raises(WindowStateError, match=r"not JSON .*Decimal as str"):
        check_state({"x": Decimal("1")})
    with pytest.raises(WindowStateError, match="not JSON"):
        check_state({"x": float("nan")})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"window": "10:00"}, "window must be an object with start and end, got '10:00'"),
        ({"window": {"end": "2026-12-01T10:01:00Z"}}, "window.start must be an ISO-8601"),
        ({"window": {"start": "2026-12-01T10:00:00Z", "end": 5}}, "window.end must be an ISO"),
        ({"window": {"start": "yesterday", "end": "2026-12-01T10:01:00Z"}}, "got 'yesterday'"),
        (
            {"window": {"start": "2026-12-01T10:01:00Z", "end": "2026-12-01T10:00:00Z"}},
            "window.end must be after window.start",
        ),
        ({"state": [1]}, "state must be a JSON object, got \\[1\\]"),
        ({"isFinalInvokeForWindow": "yes"}, "isFinalInvokeForWindow must be true or false"),
        ({"isWindowTerminatedEarly": 1}, "isWindowTerminatedEarly must be true or false"),
    ],
)
def test_malformed_window_event_raises_before_any_record_runs(f, change, message):
    counter = CountByStatus()
    event = {**windowed([f.insert(order(1))]), **change}
    with pytest.raises(WindowEventError, match=message):
        counter.router.handler(event, None)
    assert counter.windows_seen == []


def test_null_state_and_flags_read_as_a_fresh_window():
    window = window_of(
        {
            "window": {"start": "2026-12-01T10:00:00", "end": "2026-12-01T10:00:30+00:00"},
            "state": None,
            "isFinalInvokeForWindow": None,
        }
    )
    assert window is not None
    assert window.state == {} and not window.is_final and not window.terminated_early
    assert window.start.tzinfo is UTC  # a time without a zone is UTC
    assert window.shard_id is None
    assert window_of({"Records": []}) is None


def test_aggregating_router_refuses_an_event_without_a_window(f):
    counter = CountByStatus()
    with pytest.raises(
        WindowEventError,
        match=r"has no tumbling window, but this router only aggregates windows .*tumbling_window=",
    ):
        counter.router.handler({"Records": [f.insert(order(1))]}, None)


def test_router_with_routes_and_aggregator_routes_plain_events(f):
    router = StreamRouter(metrics=False)
    routed = []
    router.on_insert(lambda record: routed.append(record.keys["orderId"]))
    router.on_window(lambda state, record: {**state, "n": state.get("n", 0) + 1})
    assert router.handler({"Records": [f.insert(order(1))]}, None) == {"batchItemFailures": []}
    assert routed == ["o-1"]
    response = router.handler(windowed([f.insert(order(2))]), None)
    assert response == {"state": {"n": 1}, "batchItemFailures": []}
    assert routed == ["o-1"]  # windowed records go to the aggregator


def test_router_without_aggregator_routes_and_passes_the_state_through(f):
    router = StreamRouter(metrics=False)
    routed = []
    router.on_any(lambda record: routed.append(record.keys["orderId"]))
    response = router.handler(windowed([f.insert(order(1))], {"kept": True}), None)
    assert response == {"state": {"kept": True}, "batchItemFailures": []}
    assert routed == ["o-1"]


def test_peer_shaped_window_event_is_understood():
    # The shape Lambda documents: Decimal-free numbers, string keys, flags.
    event = {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1480642020,
                    "Keys": {"Id": {"N": "101"}},
                    "NewImage": {"Message": {"S": "hi"}, "Id": {"N": "101"}},
                    "SequenceNumber": "111",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": "stream-ARN",
            }
        ],
        "window": {"start": "2020-07-30T17:00:00Z", "end": "2020-07-30T17:05:00Z"},
        "state": {"1": "state1"},
        "shardId": "shard123456789",
        "eventSourceARN": "stream-ARN",
        "isFinalInvokeForWindow": False,
        "isWindowTerminatedEarly": False,
    }
    router = StreamRouter(metrics=False)
    router.on_window(lambda state, record: {**state, str(record.keys["Id"]): "seen"})
    assert router.handler(event, None) == {
        "state": {"1": "state1", "101": "seen"},
        "batchItemFailures": [],
    }


def test_registering_twice_is_refused():
    router = StreamRouter(metrics=False)
    router.on_window(lambda s, r: s)
    with pytest.raises(ValueError, match="window aggregator is already registered"):
        router.on_window(lambda s, r: s)
    router.on_window_end(lambda w, s: None)
    with pytest.raises(ValueError, match="window finaliser is already registered"):
        router.on_window_end(lambda w, s: None)


def test_the_idempotency_guard_does_not_skip_folded_records(f):
    from stream_runtime.idempotency import IdempotencyGuard, InMemoryIdempotencyStore

    store = InMemoryIdempotencyStore()
    router = StreamRouter(idempotency=IdempotencyGuard(store), metrics=False)
    router.on_window(lambda state, record: {"n": state.get("n", 0) + 1})
    records = [f.insert(order(1))]
    # A retry hands the fold the state of its checkpoint: the record must count again.
    assert router.handler(windowed(records, {}), None)["state"] == {"n": 1}
    assert router.handler(windowed(records, {}), None)["state"] == {"n": 1}
    assert store.items == {}


def test_window_repr_and_ends(f):
    window = window_of(windowed([], {"a": 1}, early=True))
    assert window is not None and window.ends
    assert repr(window) == (
        "Window(start=2026-12-01T10:00:00+00:00, end=2026-12-01T10:01:00+00:00, "
        "shard_id='shardId-000000000001', is_final=False, terminated_early=True, "
        "state keys=1)"
    )
