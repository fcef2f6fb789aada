"""The simulator agrees with the local cloud's polling runner on the same workload,
with its own aggregate path, and with closed-form throughput arithmetic."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from cdk_streams.local.runner import DEFAULT_POLL_INTERVAL, MappingRunner
from cdk_streams.simulation.clock import VirtualClock
from cdk_streams.simulation.handler_model import HandlerModel, ModelledFunction
from cdk_streams.simulation.polling import MIN_WAIT, POLL_INTERVAL
from cdk_streams.simulation.shards import ShardModel
from cdk_streams.simulation.simulator import STREAM_ARN, simulate
from cdk_streams.simulation.traffic import Steady, arrival_times, arrivals_per_second
from cdk_streams.simulation.workload import key_of, stream_record
from cdk_streams.streams.on_failure import FailedBatch
from cdk_streams.streams.settings import MappingConfig
from cdk_streams.streams.shard_reader import ShardRecords

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:orders"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"
#: Per-record latency tolerance between simulator and runner: one poll interval.
LATENCY_TOLERANCE = POLL_INTERVAL


class ArrivingReader:
    """One shard whose records become readable at their arrival time on ``clock``."""

    def __init__(self, records: list[tuple[float, dict[str, Any]]], clock: VirtualClock) -> None:
        self.records, self.clock, self.next = records, clock, 0

    def start(self) -> None:
        pass

    def readable(self) -> list[str]:
        return ["shardId-0000-00000"]

    def parent_of(self, shard_id: str) -> None:
        return None

    def read(self) -> list[ShardRecords]:
        out = []
        while (
            self.next < len(self.records)
            and len(out) < 1000
            and self.records[self.next][0] <= self.clock.now
        ):
            out.append(self.records[self.next][1])
            self.next += 1
        return [ShardRecords("shardId-0000-00000", out)]

    @property
    def exhausted(self) -> bool:
        return self.next == len(self.records)


def run_emulator(
    config: MappingConfig, model: HandlerModel, rate: float, seconds: int, item_kb: float
) -> tuple[list[list[str]], list[FailedBatch], dict[str, float], int]:
    """The local cloud's MappingRunner on a virtual clock, polled as EventSourceRunner polls."""
    clock = VirtualClock()
    counts = arrivals_per_second(Steady(rate), 0, seconds)
    raw = [
        (at, stream_record(n, key_of(n, 10_000), at, int(item_kb * 1024)))
        for n, at in enumerate(arrival_times(counts))
    ]
    arrival = {r["dynamodb"]["SequenceNumber"]: at for at, r in raw}
    latencies: dict[str, float] = {}

    def observe(start: float, end: float, records: list[dict[str, Any]], ok: int) -> None:
        for record in records[:ok]:
            number = record["dynamodb"]["SequenceNumber"]
            latencies[number] = end - arrival[number]

    poison = {str(n) for n in model.poison_writes}
    function = ModelledFunction(
        model,
        clock,
        shape=config.shape,
        report_batch_item_failures=config.report_batch_item_failures,
        is_poison=poison.__contains__,
        observe=observe,
    )
    failed: list[FailedBatch] = []
    reader = ArrivingReader(raw, clock)
    runner = MappingRunner(
        config,
        reader,
        function,
        send_on_failure=lambda arn, batch: failed.append(batch),
        clock=clock,
        wall_clock=clock.epoch_seconds,
    )
    while True:
        if runner.step():
            continue
        if reader.exhausted and runner.idle:
            break
        wait = DEFAULT_POLL_INTERVAL
        due = runner.next_due_in()
        if due is not None:
            wait = min(wait, max(due, MIN_WAIT))
        clock.now += wait
    logs = [call for d in runner.deliveries().values() for call in d.invocation_log]
    return logs, failed, latencies, runner.counts.invocations


def config(**settings: Any) -> MappingConfig:
    return MappingConfig(
        uuid="6c4a3f1e-2b7d-4e8f-9a0b-1c2d3e4f5a6b",
        function_arn=FUNCTION,
        event_source_arn=STREAM_ARN,
        **settings,
    )


CASES = {
    "window-and-size": (
        config(batch_size=10, max_batching_window=0.5),
        HandlerModel(invocation_ms=20, record_ms=5),
        40.0,
    ),
    "bisect-retries-on-failure": (
        config(
            batch_size=25,
            max_batching_window=1.0,
            retry_attempts=2,
            bisect_batch_on_error=True,
            on_failure=QUEUE,
        ),
        HandlerModel(invocation_ms=30, record_ms=2, poison_writes=frozenset({7, 90, 91})),
        30.0,
    ),
    "partial-batch-falling-behind": (
        config(
            batch_size=50,
            retry_attempts=1,
            report_batch_item_failures=True,
            max_record_age=60,
            on_failure=QUEUE,
        ),
        HandlerModel(invocation_ms=100, record_ms=15, poison_writes=frozenset({3, 150})),
        80.0,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_simulator_agrees_with_the_local_cloud_runner(name: str) -> None:
    mapping, model, rate = CASES[name]
    seconds = 8
    logs, failed, latencies, invocations = run_emulator(mapping, model, rate, seconds, 1.0)
    # read_interval 0: the local runner reads again right after each invocation.
    result = simulate(
        Steady(rate),
        mapping,
        model,
        ShardModel(item_kb=1.0),
        seconds,
        path="exact",
        drain=True,
        read_interval=0,
    )
    simulated = result.invocation_logs["shardId-0000-00000"]
    # The same invocations, with the same records in each.
    assert result.invocations == invocations == len(logs)
    assert simulated == logs
    assert [len(call) for call in simulated] == [len(call) for call in logs]
    # The same batches go to on-failure, for the same reason.
    assert [
        (b.condition, [r["dynamodb"]["SequenceNumber"] for r in b.records])
        for b in result.failed_batches
    ] == [(b.condition, [r["dynamodb"]["SequenceNumber"] for r in b.records]) for b in failed]
    # Every processed record's latency within one poll interval.
    assert result.latencies.keys() == latencies.keys()
    worst = max(abs(result.latencies[k] - latencies[k]) for k in latencies)
    assert worst <= LATENCY_TOLERANCE
    assert result.backlog == 0 and result.counts.succeeded == len(latencies)


def test_the_cases_exercise_what_they_claim() -> None:
    _, model, rate = CASES["bisect-retries-on-failure"]
    result = simulate(
        Steady(rate),
        CASES["bisect-retries-on-failure"][0],
        model,
        ShardModel(item_kb=1.0),
        8,
        path="exact",
        drain=True,
    )
    assert result.counts.bisections > 0 and result.counts.retries > 0
    assert result.counts.sent_to_on_failure == 3
    assert [b.condition for b in result.failed_batches] == ["RetryAttemptsExhausted"] * 3
    mapping, model, rate = CASES["partial-batch-falling-behind"]
    result = simulate(
        Steady(rate),
        mapping,
        model,
        ShardModel(item_kb=1.0),
        8,
        path="exact",
        drain=True,
        read_interval=0,
    )
    assert max(len(call) for call in result.invocation_logs["shardId-0000-00000"]) == 50
    assert {b.condition for b in result.failed_batches} == {"RetryAttemptsExhausted"}
    # Without bisecting, giving up skips the failing record and the rest of its batch.
    assert (result.counts.on_failure_messages, result.counts.failed) == (2, 18)


@pytest.mark.parametrize("name", list(CASES))
def test_the_aggregate_path_agrees_with_the_exact_path(name: str) -> None:
    mapping, model, rate = CASES[name]
    exact = simulate(Steady(rate), mapping, model, ShardModel(item_kb=1.0), 20, path="exact")
    fast = simulate(Steady(rate), mapping, model, ShardModel(item_kb=1.0), 20, path="aggregate")
    for field in (
        "invocations",
        "succeeded",
        "failed",
        "sent_to_on_failure",
        "on_failure_messages",
        "retries",
        "bisections",
    ):
        assert getattr(fast.counts, field) == getattr(exact.counts, field), field
    assert fast.backlog == exact.backlog
    assert fast.iterator_age(0.99) == pytest.approx(exact.iterator_age(0.99))
    assert fast.recorder.billed_ms == exact.recorder.billed_ms


def test_record_age_skips_whole_batches_the_same_way_on_both_paths() -> None:
    # 60 writes/s into a lane that handles 20/s: records pass 60 s of age and are skipped.
    mapping = config(batch_size=100, max_record_age=60, on_failure=QUEUE)
    model = HandlerModel(invocation_ms=0, record_ms=50)
    shards = ShardModel(item_kb=0.2)
    exact = simulate(Steady(60), mapping, model, shards, 150, path="exact")
    fast = simulate(Steady(60), mapping, model, shards, 150, path="aggregate")
    assert exact.counts.sent_to_on_failure > 1_000
    assert {b.condition for b in exact.failed_batches} == {"RecordAgeExceeded"}
    assert exact.records_too_old == fast.records_too_old == exact.counts.sent_to_on_failure
    for field in (
        "invocations",
        "succeeded",
        "failed",
        "sent_to_on_failure",
        "on_failure_messages",
    ):
        assert getattr(fast.counts, field) == getattr(exact.counts, field), field


@pytest.mark.parametrize(("rate", "keeps_up"), [(700.0, True), (1000.0, False)])
def test_steady_load_against_closed_form_throughput(rate: float, keeps_up: bool) -> None:
    """A lane saturated with full batches handles B / (c0 + B c1) records per second.

    B = 100, c0 = 20 ms, c1 = 1 ms: 100 / 0.12 = 833 records/s. Below it the
    iterator age stays near one invocation; above it the backlog grows by
    (rate - 833)/s and the iterator age of the record processed at time T is
    T (1 - 833 / rate).
    """
    batch, c0, c1, seconds = 100, 0.020, 0.001, 600
    capacity = batch / (c0 + batch * c1)
    mapping = config(batch_size=batch)
    model = HandlerModel(invocation_ms=c0 * 1000, record_ms=c1 * 1000)
    # item_kb 0.5: one write unit, so 1,000 writes/s is still one shard.
    result = simulate(Steady(rate), mapping, model, ShardModel(item_kb=0.5), seconds)
    assert result.shards_final == 1 and result.path == "aggregate"
    if keeps_up:
        assert result.iterator_age(0.99) < c0 + batch * c1 + POLL_INTERVAL
        assert result.backlog < rate  # at most about a second of writes in flight
        assert result.counts.succeeded == pytest.approx(rate * seconds, rel=0.01)
        # At most 4 reads a second, each cut into full batches and one partial one.
        assert result.invocations <= seconds * (4 + rate / batch)
    else:
        expected_backlog = (rate - capacity) * seconds
        assert result.backlog == pytest.approx(expected_backlog, rel=0.02)
        assert result.recorder.max_age == pytest.approx(seconds * (1 - capacity / rate), rel=0.02)
        assert result.counts.succeeded == pytest.approx(capacity * seconds, rel=0.01)
        ages = result.recorder.age_max
        assert statistics.mean(ages[500:510]) > statistics.mean(ages[100:110]) * 4
