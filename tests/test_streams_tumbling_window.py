"""Lambda's tumbling-window rules (cdk_streams.streams.tumbling_window) and how
ShardDelivery applies them, against a fake function on a fake clock: window
boundaries, state carried between invocations, the final invocation, partial
batch failures inside a window, the 1 MB state limit and malformed responses.
No moto, no real time."""

from __future__ import annotations

import base64
import copy
from collections import Counter
from typing import Any

import pytest

from cdk_streams.streams.delivery import InvokeOutcome, ShardDelivery, Stopped
from cdk_streams.streams.settings import MappingConfig
from cdk_streams.streams.tumbling_window import (
    MAX_STATE_BYTES,
    ShardWindows,
    StateTooLarge,
    Window,
    WindowStateError,
    iso,
    response_state,
    split_by_window,
    window_of,
)

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:count"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:dlq"
#: 2027-01-15T08:00:00Z: a whole minute.
MINUTE = 1_800_000_000.0


def record(seq: int, at: float, status: str = "NEW") -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": str(seq),
            "ApproximateCreationDateTime": at,
            "NewImage": {"status": {"S": status}},
        },
    }


def config(**settings: Any) -> MappingConfig:
    base: dict[str, Any] = {"tumbling_window": 60.0, "report_batch_item_failures": True}
    base.update(settings)
    return MappingConfig(uuid="u-1", function_arn=FUNCTION, event_source_arn=STREAM, **base)


class Counting:
    """A windowed function that counts records by status in its state.

    :param fail_on: sequence numbers it reports failed (partial batch) once each.
    :param final_failures: how many final invocations fail before one succeeds.
    """

    def __init__(
        self,
        fail_on: frozenset[int] = frozenset(),
        final_failures: int = 0,
        overflow_once_on: int | None = None,
    ) -> None:
        self.fail_on = set(fail_on)
        self.final_failures = final_failures
        self.overflow_once_on = overflow_once_on
        self.events: list[dict[str, Any]] = []
        #: (window start, final state) of every successful final invocation.
        self.finals: list[tuple[str, dict[str, Any]]] = []
        self.response: Any = None  # when set, returned as is

    def __call__(self, event: dict[str, Any]) -> InvokeOutcome:
        self.events.append(copy.deepcopy(event))
        if event["isFinalInvokeForWindow"]:
            if self.final_failures:
                self.final_failures -= 1
                return InvokeOutcome("req", False, payload={"errorMessage": "boom"})
            self.finals.append((event["window"]["start"], event["state"]))
            return InvokeOutcome("req", True, payload={"state": {}})
        if self.response is not None:
            return InvokeOutcome("req", True, payload=self.response)
        sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
        if self.overflow_once_on in sequences:
            self.overflow_once_on = None
            return InvokeOutcome("req", True, payload={"state": {"blob": "x" * MAX_STATE_BYTES}})
        state = dict(event["state"])
        for r in event["Records"]:
            seq = r["dynamodb"]["SequenceNumber"]
            if int(seq) in self.fail_on:
                self.fail_on.discard(int(seq))
                return InvokeOutcome(
                    "req",
                    True,
                    payload={"state": state, "batchItemFailures": [{"itemIdentifier": seq}]},
                )
            status = r["dynamodb"]["NewImage"]["status"]["S"]
            state[status] = state.get(status, 0) + 1
        return InvokeOutcome("req", True, payload={"state": state, "batchItemFailures": []})

    def record_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if not e["isFinalInvokeForWindow"]]


def delivery(fn: Counting, now: list[float], **settings: Any) -> ShardDelivery:
    return ShardDelivery(
        config(**settings), "shardId-1", fn, clock=lambda: now[0], send_on_failure=lambda a, b: None
    )


# --- the window rules --------------------------------------------------------------


def test_windows_are_aligned_to_the_epoch_not_to_the_first_record() -> None:
    assert window_of(MINUTE + 59.9, 60) == Window(MINUTE, MINUTE + 60)
    assert window_of(MINUTE + 60, 60) == Window(MINUTE + 60, MINUTE + 120)
    assert window_of(MINUTE + 7, 300) == Window(MINUTE, MINUTE + 300)  # MINUTE is a 5-minute mark
    assert window_of(MINUTE + 7, 900).start % 900 == 0


def test_window_bounds_are_iso_utc_as_lambda_writes_them() -> None:
    assert Window(MINUTE, MINUTE + 60).as_event() == {
        "start": "2027-01-15T08:00:00Z",
        "end": "2027-01-15T08:01:00Z",
    }
    assert iso(0) == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize("seconds", [0, -1, 901])
def test_a_window_out_of_lambdas_range_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match=r"must be 1\.\.900 seconds, got"):
        ShardWindows(seconds, "s", STREAM)
    if seconds <= 0:
        with pytest.raises(ValueError, match=r"must be 1\.\.900 seconds"):
            window_of(MINUTE, seconds)


def test_a_batch_is_cut_at_window_boundaries_in_order() -> None:
    batch = [record(1, MINUTE + 58), record(2, MINUTE + 59), record(3, MINUTE + 60)]
    batch.append({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "4"}})
    runs = split_by_window(
        batch,
        lambda r: r["dynamodb"].get("ApproximateCreationDateTime"),
        60,
        now=MINUTE + 200,
    )
    assert [
        (w.start - MINUTE, [r["dynamodb"]["SequenceNumber"] for r in rs]) for w, rs in runs
    ] == [
        (0, ["1", "2"]),
        (60, ["3"]),
        (180, ["4"]),  # no arrival time: the window of now
    ]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (None, "the response has no 'state'"),
        ({"batchItemFailures": []}, "the response has no 'state'"),
        ([{"state": {}}], "the response has no 'state'"),
        ({"state": None}, "'state' must be a JSON object, got NoneType"),
        ({"state": [1, 2]}, "'state' must be a JSON object, got list"),
        ({"state": {"x": {1, 2}}}, "the window state is not JSON"),
    ],
)
def test_a_response_without_a_state_object_is_refused(response: object, message: str) -> None:
    with pytest.raises(WindowStateError) as raised:
        response_state(response)
    assert str(raised.value).startswith(message)


def test_the_state_limit_is_one_megabyte_of_json() -> None:
    fits = {"k": "é" * ((MAX_STATE_BYTES - len('{"k":""}')) // 2)}  # two bytes each in UTF-8
    assert response_state({"state": fits}) == fits
    with pytest.raises(
        StateTooLarge,
        match=r"window state is 1048577 bytes as JSON, over Lambda's limit of 1048576 bytes"
        r" per shard; .*; the window ends early$",
    ):
        response_state({"state": {"k": fits["k"] + "x"}})


# --- ShardDelivery with a window -----------------------------------------------


def test_the_event_carries_window_state_shard_and_flags() -> None:
    fn, now = Counting(), [MINUTE + 10]
    d = delivery(fn, now)
    d.deliver([record(1, MINUTE + 5)])
    event = fn.events[0]
    assert event["window"] == {"start": iso(MINUTE), "end": iso(MINUTE + 60)}
    assert event["state"] == {}
    assert (event["shardId"], event["eventSourceARN"]) == ("shardId-1", STREAM)
    assert (event["isFinalInvokeForWindow"], event["isWindowTerminatedEarly"]) == (False, False)
    assert [r["dynamodb"]["SequenceNumber"] for r in event["Records"]] == ["1"]


def test_state_is_carried_between_invocations_of_one_window() -> None:
    fn, now = Counting(), [MINUTE + 30]
    d = delivery(fn, now)
    d.deliver([record(1, MINUTE + 1, "NEW"), record(2, MINUTE + 2, "PAID")])
    d.deliver([record(3, MINUTE + 3, "NEW")])
    assert [e["state"] for e in fn.events] == [{}, {"NEW": 1, "PAID": 1}]
    assert d.windows is not None and d.windows.state == {"NEW": 2, "PAID": 1}
    assert not d.finish_window(MINUTE + 59.999)  # not over yet
    assert fn.finals == []


def test_the_final_invocation_has_no_records_and_the_final_state() -> None:
    fn, now = Counting(), [MINUTE + 30]
    d = delivery(fn, now)
    d.deliver([record(1, MINUTE + 1, "NEW"), record(2, MINUTE + 2, "PAID")])
    assert d.finish_window(MINUTE + 60)
    final = fn.events[-1]
    assert final["Records"] == []
    assert (final["isFinalInvokeForWindow"], final["isWindowTerminatedEarly"]) == (True, False)
    assert final["state"] == {"NEW": 1, "PAID": 1}
    assert final["window"]["start"] == iso(MINUTE)
    assert d.counts.final_invocations == 1
    assert "1 final window invocation(s)" in str(d.counts)
    # The state is dropped: the next record starts a fresh window.
    assert d.windows is not None and d.windows.open is None
    assert not d.finish_window(MINUTE + 120)
    d.deliver([record(3, MINUTE + 61)])
    assert fn.events[-1]["state"] == {}
    assert fn.events[-1]["window"]["start"] == iso(MINUTE + 60)


def test_records_of_the_next_window_end_the_previous_one_first() -> None:
    fn, now = Counting(), [MINUTE + 70]
    d = delivery(fn, now)
    d.deliver([record(1, MINUTE + 50, "NEW"), record(2, MINUTE + 65, "PAID")])
    kinds = [
        (e["window"]["start"], e["isFinalInvokeForWindow"], len(e["Records"])) for e in fn.events
    ]
    assert kinds == [(iso(MINUTE), False, 1), (iso(MINUTE), True, 0), (iso(MINUTE + 60), False, 1)]
    assert fn.finals == [(iso(MINUTE), {"NEW": 1})]
    assert fn.events[-1]["state"] == {}  # a fresh state for the new window


def test_a_partial_batch_failure_retries_from_the_failed_record_with_the_returned_state() -> None:
    fn, now = Counting(fail_on=frozenset({3})), [MINUTE + 30]
    d = delivery(fn, now)
    d.deliver(
        [record(n, MINUTE + n, s) for n, s in [(1, "NEW"), (2, "PAID"), (3, "NEW"), (4, "PAID")]]
    )
    seen = [[r["dynamodb"]["SequenceNumber"] for r in e["Records"]] for e in fn.events]
    assert seen == [["1", "2", "3", "4"], ["3", "4"]]
    # The retry starts from the state the function returned with its failure report.
    assert fn.events[1]["state"] == {"NEW": 1, "PAID": 1}
    d.finish_window(MINUTE + 60)
    assert fn.finals == [(iso(MINUTE), {"NEW": 2, "PAID": 2})]  # every record counted once
    assert (d.counts.succeeded, d.counts.retries) == (4, 1)


def test_a_function_error_keeps_the_previous_state() -> None:
    fn, now = Counting(), [MINUTE + 30]
    calls = []

    def flaky(event: dict[str, Any]) -> InvokeOutcome:
        calls.append(event["state"])
        if len(calls) == 2:
            return InvokeOutcome("req", False, payload={"errorMessage": "crash"})
        return fn(event)

    d = ShardDelivery(config(), "shardId-1", flaky, clock=lambda: now[0])
    d.deliver([record(1, MINUTE + 1, "NEW")])
    d.deliver([record(2, MINUTE + 2, "NEW")])
    assert calls == [{}, {"NEW": 1}, {"NEW": 1}]  # the retry sees the state before the crash
    assert d.windows is not None and d.windows.state == {"NEW": 2}


def test_a_response_without_state_is_a_failed_invocation() -> None:
    fn, now = Counting(), [MINUTE + 30]
    fn.response = {"batchItemFailures": []}
    d = delivery(fn, now, retry_attempts=1)
    d.deliver([record(1, MINUTE + 1)])
    assert len(fn.events) == 2  # the first call and one retry
    assert (d.counts.failed, d.counts.succeeded, d.counts.retries) == (1, 0, 1)
    assert d.windows is not None
    assert d.windows.errors[0].startswith("the response has no 'state'")


def test_a_malformed_state_fails_the_batch_and_keeps_the_last_good_state() -> None:
    fn, now = Counting(), [MINUTE + 30]
    d = delivery(fn, now, retry_attempts=0)
    d.deliver([record(1, MINUTE + 1, "NEW")])
    fn.response = {"state": "NEW=2"}
    d.deliver([record(2, MINUTE + 2, "NEW")])
    assert d.windows is not None and d.windows.state == {"NEW": 1}
    assert d.windows.errors == ["'state' must be a JSON object, got str: 'NEW=2'"]
    assert d.counts.failed == 1


def test_a_state_over_one_megabyte_ends_the_window_early() -> None:
    fn, now = Counting(overflow_once_on=2), [MINUTE + 30]
    d = delivery(fn, now)
    d.deliver([record(1, MINUTE + 1, "NEW")])
    d.deliver([record(2, MINUTE + 2, "PAID")])
    flags = [
        (e["isFinalInvokeForWindow"], e["isWindowTerminatedEarly"], e["state"]) for e in fn.events
    ]
    assert flags == [
        (False, False, {}),
        (False, False, {"NEW": 1}),  # returned a state over 1 MB
        (True, True, {"NEW": 1}),  # the window ends early with the last state that fit
        (False, False, {}),  # the same record again, on a fresh state, in the same window
    ]
    assert fn.events[-1]["window"]["start"] == iso(MINUTE)
    assert (d.counts.windows_terminated_early, d.counts.retries, d.counts.succeeded) == (1, 0, 2)
    assert d.windows is not None and "over Lambda's limit of 1048576 bytes" in d.windows.errors[0]
    d.finish_window(MINUTE + 60)
    assert fn.finals == [(iso(MINUTE), {"NEW": 1}), (iso(MINUTE), {"PAID": 1})]


def test_a_batch_that_overflows_a_fresh_state_fails_as_an_invocation_does() -> None:
    fn, now = Counting(), [MINUTE + 30]
    fn.response = {"state": {"blob": "x" * MAX_STATE_BYTES}}
    d = delivery(fn, now, retry_attempts=2, on_failure=QUEUE)
    d.deliver([record(1, MINUTE + 1)])
    assert [e["isFinalInvokeForWindow"] for e in fn.events] == [False, False, False]
    assert (d.counts.failed, d.counts.retries, d.counts.windows_terminated_early) == (1, 2, 0)


def test_a_failing_final_invocation_is_retried_until_it_succeeds() -> None:
    fn, now = Counting(final_failures=3), [MINUTE + 30]
    d = delivery(fn, now, retry_attempts=0)  # no retry limit applies to the final invocation
    d.deliver([record(1, MINUTE + 1, "NEW")])
    assert d.finish_window(MINUTE + 60)
    assert [e["isFinalInvokeForWindow"] for e in fn.events] == [False, True, True, True, True]
    assert fn.finals == [(iso(MINUTE), {"NEW": 1})]
    assert (d.counts.final_invocations, d.counts.function_errors) == (4, 3)


def test_stopping_ends_the_wait_for_a_final_invocation() -> None:
    fn, stop = Counting(final_failures=10**6), [False]

    def invoke(event: dict[str, Any]) -> InvokeOutcome:
        if event["isFinalInvokeForWindow"] and len(fn.events) > 3:
            stop[0] = True
        return fn(event)

    d = ShardDelivery(config(), "shardId-1", invoke, clock=lambda: MINUTE, stopping=lambda: stop[0])
    d.deliver([record(1, MINUTE + 1)])
    with pytest.raises(Stopped):
        d.finish_window(MINUTE + 60)


def test_without_a_window_the_event_is_records_only() -> None:
    events: list[dict[str, Any]] = []

    def plain(event: dict[str, Any]) -> InvokeOutcome:
        events.append(event)
        return InvokeOutcome("req", True, payload=None)

    d = ShardDelivery(config(tumbling_window=None), "shardId-1", plain, clock=lambda: MINUTE)
    d.deliver([record(1, MINUTE + 1), record(2, MINUTE + 70)])
    assert [list(e) for e in events] == [["Records"]]
    assert d.windows is None and not d.finish_window(MINUTE + 10_000)


def test_a_per_minute_count_over_several_windows() -> None:
    fn, now = Counting(), [MINUTE]
    d = delivery(fn, now, batch_size=2)
    statuses = ["NEW", "PAID", "NEW", "SHIPPED", "PAID", "NEW", "NEW"]
    arrivals = [
        MINUTE + 5,
        MINUTE + 20,
        MINUTE + 59,
        MINUTE + 61,
        MINUTE + 62,
        MINUTE + 130,
        MINUTE + 131,
    ]
    stream = [
        record(i + 1, at, s) for i, (at, s) in enumerate(zip(arrivals, statuses, strict=True))
    ]
    for start in range(0, len(stream), 2):
        d.deliver(stream[start : start + 2])
    d.finish_window(MINUTE + 180)
    expected: dict[str, Counter[str]] = {}
    for at, status in zip(arrivals, statuses, strict=True):
        expected.setdefault(iso(window_of(at, 60).start), Counter())[status] += 1
    assert fn.finals == [(start, dict(counts)) for start, counts in expected.items()]


def test_the_runtimes_window_router_runs_on_these_rules(caplog: pytest.LogCaptureFixture) -> None:
    """The bundled runtime's sample (lambda_src/count_orders_by_status.py) on the
    delivery rules: state carried, one final invocation per window, its log line."""
    import json
    import logging

    import runtime_path  # noqa: F401
    from count_orders_by_status import handler

    from cdk_streams.testing import StreamEventFactory

    # One record a second from 08:00:57: the first three in one window, the rest in the next.
    f = StreamEventFactory(key_names=("orderId",), start_time=MINUTE + 57)
    a, b = {"orderId": "a", "status": "PLACED"}, {"orderId": "b", "status": "PLACED"}
    stream = [
        f.insert(a),
        f.insert(b),
        f.modify(a, {**a, "status": "SHIPPED"}),
        f.modify(b, {**b, "status": "SHIPPED"}),
        f.insert({"orderId": "c", "status": "PLACED"}),
    ]

    def invoke(event: dict[str, Any]) -> InvokeOutcome:
        return InvokeOutcome("req", True, payload=handler(event, None))

    d = ShardDelivery(config(batch_size=2), "shardId-1", invoke, clock=lambda: MINUTE + 62)
    with caplog.at_level(logging.INFO, logger="orders"):
        for start in range(0, len(stream), 2):
            d.deliver(stream[start : start + 2])
        d.finish_window(MINUTE + 120)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "orders"]
    assert [(line["window_start"][11:19], line["counts"]) for line in lines] == [
        ("08:00:00", {"PLACED": 2, "SHIPPED": 1}),
        ("08:01:00", {"PLACED": 1, "SHIPPED": 1}),
    ]
    assert (d.counts.succeeded, d.counts.final_invocations, d.counts.function_errors) == (5, 2, 0)


def test_kinesis_records_go_by_their_arrival_timestamp() -> None:
    kinesis = "arn:aws:kinesis:us-east-1:123456789012:stream/orders-changes"
    events: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> InvokeOutcome:
        events.append(event)
        return InvokeOutcome("req", True, payload={"state": {"n": len(event["Records"])}})

    def kinesis_record(seq: int, at: float) -> dict[str, Any]:
        change = base64.b64encode(b'{"eventName": "INSERT"}').decode()
        return {
            "kinesis": {
                "sequenceNumber": str(seq),
                "approximateArrivalTimestamp": at,
                "data": change,
            }
        }

    d = ShardDelivery(
        MappingConfig(
            uuid="k", function_arn=FUNCTION, event_source_arn=kinesis, tumbling_window=30
        ),
        "shardId-000000000000",
        invoke,
        clock=lambda: MINUTE + 40,
    )
    d.deliver([kinesis_record(1, MINUTE + 29.999), kinesis_record(2, MINUTE + 30.0)])
    assert [(e["window"]["start"], e["isFinalInvokeForWindow"]) for e in events] == [
        ("2027-01-15T08:00:00Z", False),
        ("2027-01-15T08:00:00Z", True),
        ("2027-01-15T08:00:30Z", False),
    ]
    assert events[0]["eventSourceARN"] == kinesis and events[1]["state"] == {"n": 1}
