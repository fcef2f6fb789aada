"""The local cloud's polling runner (cdk_streams.local.runner) over a fake reader
and a fake function: batch cutting on a fake clock, drains, timeouts and errors."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cdk_streams.local.runner import (
    DrainTimeout,
    EventSourceRunner,
    MappingRunner,
    RunnerError,
)
from cdk_streams.streams.delivery import InvokeOutcome
from cdk_streams.streams.settings import MappingConfig
from cdk_streams.streams.shard_reader import ShardRecords

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"


class Fake:
    """A function that succeeds and records the sequence numbers of each batch."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, event: dict[str, Any]) -> InvokeOutcome:
        self.calls.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        return InvokeOutcome("req", True)


class FakeReader:
    """One shard holding ``records``; raises ``error`` on read when given."""

    def __init__(self, records: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.records, self.error = records, error
        self.reads = 0

    def start(self) -> None:
        pass

    def readable(self) -> list[str]:
        return ["s"]

    def parent_of(self, shard_id: str) -> None:
        return None

    def read(self) -> list[ShardRecords]:
        self.reads += 1
        if self.error:
            raise self.error
        out, self.records = self.records, []
        return [ShardRecords("s", out)]


def mapping_config(**settings: Any) -> MappingConfig:
    """Mapping ``m`` from STREAM to FUNCTION, with ``settings``."""
    return MappingConfig(uuid="m", function_arn=FUNCTION, event_source_arn=STREAM, **settings)


def raw(n: int) -> list[dict[str, Any]]:
    return [
        {
            "eventID": str(i),
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": str(i), "Keys": {}},
        }
        for i in range(n)
    ]


def test_drain_times_out_on_a_record_that_blocks_its_shard() -> None:
    config = mapping_config()
    runner = EventSourceRunner(poll_interval=0.01, settle=0.05)
    failing = lambda event: InvokeOutcome("r", False)  # noqa: E731
    runner.add(MappingRunner(config, FakeReader(raw(1)), failing))
    try:
        with pytest.raises(DrainTimeout) as error:
            runner.drain(timeout=0.3)
    finally:
        runner.stop()
    assert "drain: not idle after 0 s; still busy: T -> f." in str(error.value)
    assert "MaximumRetryAttempts -1 blocks its shard" in str(error.value)


def test_a_failing_aws_call_stops_the_mapping_and_drain_says_why() -> None:
    config = mapping_config()
    runner = EventSourceRunner(poll_interval=0.01, settle=0.05)
    runner.add(MappingRunner(config, FakeReader([], OSError("connection refused")), Fake()))
    try:
        with pytest.raises(RunnerError, match=r"mapping m \(T -> f\) stopped: OSError: connection"):
            runner.drain(timeout=5)
    finally:
        runner.stop()


def test_a_write_wakes_only_the_mappings_of_its_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    from cdk_streams.local import runner as runner_module

    # Without a write nothing wakes an idle mapping for an hour: every read below
    # comes from a wake-up.
    monkeypatch.setattr(runner_module, "IDLE_POLL", 3600.0)
    other = STREAM.replace("table/T/", "table/U/")
    readers = {"m": FakeReader([]), "n": FakeReader([])}
    runner = EventSourceRunner(poll_interval=0.0, settle=0.0)
    fake = Fake()
    for uuid, arn in (("m", STREAM), ("n", other)):
        config = MappingConfig(uuid=uuid, function_arn=FUNCTION, event_source_arn=arn)
        runner.add(MappingRunner(config, readers[uuid], fake))
    try:
        runner.drain(timeout=30)  # both idle, waiting for a wake-up
        before = {uuid: reader.reads for uuid, reader in readers.items()}
        readers["m"].records = raw(2)
        runner.notify_write(STREAM)
        deadline = time.monotonic() + 30  # a guard against a hang, not a measurement
        while not fake.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        after = {uuid: reader.reads for uuid, reader in readers.items()}
    finally:
        runner.stop()
    assert fake.calls == [["0", "1"]]
    assert after["m"] > before["m"]
    assert after["n"] == before["n"]  # a write to another stream reads nothing here


def test_batches_follow_batch_size_and_drain_reports_since_the_last_drain() -> None:
    config = mapping_config(batch_size=4)
    fake = Fake()
    runner = EventSourceRunner(poll_interval=0.01, settle=0.05)
    runner.add(MappingRunner(config, FakeReader(raw(10)), fake))
    try:
        first = runner.drain(timeout=5)
        second = runner.drain(timeout=5)
    finally:
        runner.stop()
    assert [len(call) for call in fake.calls] == [4, 4, 2]
    assert (first.totals.succeeded, second.totals.succeeded) == (10, 0)
    assert "drained 1 mapping(s)" in str(first) and "T -> f: read 10" in str(first)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_mapping_runs_on_the_clock_of_the_runner_that_adds_it() -> None:
    # drain() compares a mapping's last activity with its own now: both must come
    # from one clock, so a mapping built without one takes the runner's.
    clock = Clock()
    clock.now = 500.0
    runner = EventSourceRunner(clock=clock)
    unset = MappingRunner(
        mapping_config(),
        FakeReader([]),
        Fake(),
    )
    same = MappingRunner(
        MappingConfig(uuid="n", function_arn=FUNCTION, event_source_arn=STREAM),
        FakeReader([]),
        Fake(),
        clock=clock,
    )
    try:
        runner.add(unset)
        runner.add(same)
    finally:
        runner.stop()
    assert (unset.last_activity, same.last_activity) == (500.0, 500.0)
    assert set(runner.runners) == {"m", "n"}


def test_a_mapping_with_another_clock_is_refused() -> None:
    runner = EventSourceRunner()  # time.monotonic
    config = mapping_config()
    mapping = MappingRunner(config, FakeReader([]), Fake(), clock=Clock())
    with pytest.raises(ValueError) as error:
        runner.add(mapping)
    assert str(error.value) == (
        "mapping m: clock must be the EventSourceRunner's clock (its drain() compares the "
        "mapping's last activity with it), got another one; build the MappingRunner "
        "without clock= to use the EventSourceRunner's"
    )
    assert runner.runners == {} and not mapping.started


def test_full_batches_go_at_once_and_the_partial_one_waits_for_the_window() -> None:
    # batch_size 10, a 1 s window, 25 records read in one poll at t=0.
    config = mapping_config(batch_size=10, max_batching_window=1.0)
    clock, fake = Clock(), Fake()
    runner = MappingRunner(config, FakeReader(raw(25)), fake, clock=clock, wall_clock=lambda: 0.0)
    assert runner.step() is True
    assert [len(call) for call in fake.calls] == [10, 10]
    assert runner.next_due_in() == 1.0  # the 5 left over opened a new window
    clock.now = 0.99
    assert runner.step() is False and len(fake.calls) == 2
    assert runner.next_due_in() == pytest.approx(0.01)
    clock.now = 1.0
    assert runner.step() is True
    assert [len(call) for call in fake.calls] == [10, 10, 5]
    assert fake.calls[2] == [str(n) for n in range(20, 25)]
    assert runner.idle and runner.next_due_in() is None


def test_the_report_counts_records_still_waiting_in_a_batching_window() -> None:
    # Stopping `local up` mid-window must not make the 5 waiting records vanish
    # from the final report: they were read, not delivered.
    config = mapping_config(batch_size=10, max_batching_window=5.0)
    clock, fake = Clock(), Fake()  # the clock never reaches the window's end
    mapping = MappingRunner(config, FakeReader(raw(15)), fake, wall_clock=lambda: 0.0)
    runner = EventSourceRunner(clock=clock)
    runner.add(mapping)
    deadline = time.monotonic() + 30  # a guard against a hang, not a timing assertion
    while not fake.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.stop()
    [report] = runner.totals().mappings
    assert (report.counts.read, report.counts.delivered, report.buffered) == (15, 10, 5)
    assert str(report).endswith("; 5 record(s) still in a batching window, not delivered")
    mapping.stopping = lambda: False  # as if running again: the window ends and delivers
    clock.now = 5.0
    assert mapping.step() is True and [len(call) for call in fake.calls] == [10, 5]
    [report] = runner.totals().mappings
    assert report.buffered == 0 and "batching window" not in str(report)


def test_without_a_window_a_partial_batch_goes_at_the_first_poll() -> None:
    config = mapping_config(batch_size=10)
    fake = Fake()
    runner = MappingRunner(config, FakeReader(raw(3)), fake, clock=Clock(), wall_clock=lambda: 0.0)
    runner.step()
    assert fake.calls == [["0", "1", "2"]]


def test_filters_drop_records_before_batching() -> None:
    config = mapping_config(filters=('{"dynamodb": {"SequenceNumber": ["1"]}}',))
    fake = Fake()
    runner = MappingRunner(config, FakeReader(raw(3)), fake, clock=Clock(), wall_clock=lambda: 0.0)
    runner.step()
    assert fake.calls == [["1"]]
    assert (runner.counts.read, runner.counts.filtered, runner.counts.succeeded) == (3, 2, 1)


MINUTE = 1_800_000_000.0  # a whole minute


class WindowFake:
    """A windowed function: counts records in its state, logs each event's kind."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool, list[str], dict[str, Any]]] = []

    def __call__(self, event: dict[str, Any]) -> InvokeOutcome:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        final = event["isFinalInvokeForWindow"]
        self.calls.append((event["window"]["start"][-9:], final, seqs, event["state"]))
        state = {"n": event["state"].get("n", 0) + len(seqs)}
        return InvokeOutcome("req", True, payload={"state": state})


class TimedReader(FakeReader):
    """One shard; each read returns the records queued since the last one."""

    def add(self, seq: int, at: float) -> None:
        self.records.append(
            {
                "eventID": str(seq),
                "eventName": "INSERT",
                "dynamodb": {
                    "SequenceNumber": str(seq),
                    "Keys": {},
                    "ApproximateCreationDateTime": at,
                },
            }
        )


def test_the_final_invocation_waits_for_the_windows_buffered_records() -> None:
    config = mapping_config(batch_size=10, max_batching_window=5.0, tumbling_window=60.0)
    clock, wall, fake, reader = Clock(), Clock(), WindowFake(), TimedReader([])
    wall.now = MINUTE + 10
    runner = MappingRunner(config, reader, fake, clock=clock, wall_clock=wall)
    for seq in (1, 2, 3):
        reader.add(seq, MINUTE + seq)
    runner.step()  # buffered for the batching window
    assert fake.calls == []
    wall.now, clock.now = MINUTE + 61, 1.0  # the window is over, its records still buffered
    runner.step()
    assert fake.calls == []
    clock.now = 5.0
    assert runner.step() is True
    assert fake.calls == [
        ("08:00:00Z", False, ["1", "2", "3"], {}),
        ("08:00:00Z", True, [], {"n": 3}),
    ]
    assert runner.counts.final_invocations == 1


def test_a_window_whose_last_batch_went_out_gets_its_final_invocation_on_the_clock() -> None:
    config = mapping_config(tumbling_window=60.0)
    clock, wall, fake, reader = Clock(), Clock(), WindowFake(), TimedReader([])
    runner = MappingRunner(config, reader, fake, clock=clock, wall_clock=wall)
    wall.now = MINUTE + 30
    reader.add(1, MINUTE + 20)
    runner.step()
    reader.add(2, MINUTE + 40)
    wall.now = MINUTE + 45
    runner.step()
    assert [c[1] for c in fake.calls] == [False, False]
    wall.now = MINUTE + 59.999
    assert runner.step() is False  # not over yet: nothing happens
    wall.now = MINUTE + 60
    assert runner.step() is True
    assert fake.calls[-1] == ("08:00:00Z", True, [], {"n": 2})
    wall.now = MINUTE + 300
    assert runner.step() is False  # one final invocation per window
    assert runner.idle


class TrimmingStreams:
    """A Streams API whose closed parent shard is trimmed right after its last read."""

    def __init__(self) -> None:
        self.listed: list[dict[str, Any]] = [
            {"ShardId": "P", "SequenceNumberRange": {"EndingSequenceNumber": "1"}},
            {"ShardId": "C", "ParentShardId": "P", "SequenceNumberRange": {}},
        ]
        self.records = {"P": [_change("1")], "C": [_change("2"), _change("3")]}

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"StreamStatus": "ENABLED", "Shards": list(self.listed)}}

    def get_shard_iterator(self, ShardId: str, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": ShardId}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        records = self.records.pop(ShardIterator, [])
        if ShardIterator == "P":
            self.listed = self.listed[1:]
            return {"Records": records}  # no next iterator: closed and read
        return {"Records": records, "NextShardIterator": ShardIterator}


def _change(sequence_number: str) -> dict[str, Any]:
    return {
        "eventID": sequence_number,
        "eventName": "MODIFY",
        "dynamodb": {
            "SequenceNumber": sequence_number,
            "Keys": {"pk": {"S": "k"}},
            "StreamViewType": "KEYS_ONLY",
            "ApproximateCreationDateTime": 1.7e9,
        },
    }


def test_a_parent_trimmed_while_its_records_are_buffered_still_goes_first() -> None:
    from cdk_streams.streams.dynamodb_reader import StreamReader

    now = [0.0]
    function = Fake()
    reader = StreamReader(TrimmingStreams(), STREAM, rediscover_interval=0)
    runner = MappingRunner(
        mapping_config(batch_size=2, max_batching_window=5.0),
        reader,
        function,
        clock=lambda: now[0],
    )
    for _ in range(4):
        runner.step()
        now[0] += 0.1
    now[0] += 10
    runner.step()
    # The parent's record waited in its batching window while the reader saw the
    # parent trimmed; the child's records still came after it.
    assert [n for batch in function.calls for n in batch] == ["1", "2", "3"]
