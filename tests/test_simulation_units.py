"""The simulator's parts: traffic, shards, handler model, measurements, costs, and the
behaviours the mapping shows at scale (per-key lanes, splits, slow phases, expiry)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from cdk_streams.simulation.clock import VirtualClock
from cdk_streams.simulation.costs import LIST_PRICES, destination_kind, monthly_cost
from cdk_streams.simulation.handler_model import HandlerModel, ModelledFunction, SlowPhase
from cdk_streams.simulation.metrics import LaneMark, Recorder
from cdk_streams.simulation.planner import Plan, recommend
from cdk_streams.simulation.report import outcome_of, table
from cdk_streams.simulation.shards import ShardModel, partitions_for
from cdk_streams.simulation.simulator import STREAM_ARN, simulate
from cdk_streams.simulation.traffic import DailyCurve, Spike, Steady, arrivals_per_second
from cdk_streams.simulation.workload import key_of
from cdk_streams.streams.settings import MappingConfig

QUEUE = "arn:aws:sqs:us-east-1:123456789012:dlq"


def config(**settings: Any) -> MappingConfig:
    return MappingConfig(
        uuid="m",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        event_source_arn=STREAM_ARN,
        **settings,
    )


# --- traffic -------------------------------------------------------------------------


def test_fractional_rates_carry_over_and_shapes_follow_their_definition() -> None:
    assert arrivals_per_second(Steady(0.5), 0, 6) == [0, 1, 0, 1, 0, 1]
    assert sum(arrivals_per_second(Steady(2.25), 0, 100)) == 225
    spike = Spike(base=10, peak=100, start=60, length=30)
    assert [spike.rate(t) for t in (59.9, 60, 89.9, 90)] == [10, 100, 100, 10]
    day = DailyCurve(mean=1000, amplitude=0.5, peak_at=14 * 3600)
    assert day.rate(14 * 3600) == pytest.approx(1500)
    assert day.rate(2 * 3600) == pytest.approx(500)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Steady(-1), "writes_per_second must be 0 or more writes per second, got -1"),
        (lambda: Spike(1, 2, -5, 1), "start and length must be 0 or more seconds, got -5, 1"),
        (lambda: DailyCurve(10, amplitude=2), "amplitude must be 0..1, got 2"),
        (
            lambda: HandlerModel(10, 1, failure_rate=1.0),
            "failure_rate must be 0..1 (1 excluded), got 1.0",
        ),
        (
            lambda: HandlerModel(0, 0),
            "invocation_ms and record_ms cannot both be 0: a function takes time",
        ),
        (lambda: HandlerModel(-1, 1), "invocation_ms must be 0 or more milliseconds, got -1"),
        (lambda: SlowPhase(10, 5, 2), "a slow phase ends after it starts, got 10..5"),
        (lambda: partitions_for(10, 0), "item_kb must be more than 0, got 0"),
        (
            lambda: ShardModel(item_kb=1, check_every=0),
            "check_every must be 1 or more seconds, got 0",
        ),
    ],
)
def test_impossible_models_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ValueError) as error:
        build()
    assert str(error.value) == message


# --- shards --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writes", "item_kb", "reads", "gb", "partitions"),
    [
        (1000, 1, 0, 0, 1),  # 1,000 write units: one partition's worth
        (1001, 1, 0, 0, 2),
        (1000, 2.5, 0, 0, 3),  # a 2.5 KB item costs 3 write units
        (500, 0.1, 3000, 0, 2),  # 500 write units + 3,000 read units (4 KB each)
        (100, 1, 0, 100, 10),  # 100 GB: 10 partitions whatever the traffic
        (20_000, 1, 0, 100, 20),
    ],
)
def test_partitions_follow_the_per_partition_limits(
    writes: float, item_kb: float, reads: float, gb: float, partitions: int
) -> None:
    assert partitions_for(writes, item_kb, reads_per_second=reads, table_gb=gb) == partitions


def test_partitions_split_as_traffic_grows_and_never_merge() -> None:
    spans = ShardModel(item_kb=1).spans(Spike(base=500, peak=2500, start=120, length=60), 600)
    generations = defaultdict(list)
    for span in spans:
        generations[span.generation].append(span)
    assert [len(generations[g]) for g in sorted(generations)] == [1, 3]
    (parent,) = generations[0]
    assert (parent.opens, parent.closes) == (0, 120)
    assert {child.parent_id for child in generations[1]} == {parent.shard_id}
    assert all(
        child.closes == 600 and child.share == pytest.approx(1 / 3) for child in generations[1]
    )


def test_a_child_shard_waits_until_its_parent_is_done() -> None:
    # 5 writes/s of 100 KB items (500 write units) until t=60, then 25/s: 3 shards.
    # The handler takes 0.3 s a record: the parent lags, and holds its children back.
    traffic = Spike(base=5, peak=25, start=60, length=600)
    model = HandlerModel(invocation_ms=0, record_ms=300)
    result = simulate(
        traffic, config(batch_size=10), model, ShardModel(item_kb=100), 90, path="exact", drain=True
    )
    assert (result.shards_initial, result.shards_final, result.generations) == (1, 3, 2)
    parent_records = 300
    parent_done = max(result.latencies[str(n)] + n / 5 for n in range(parent_records))
    assert parent_done > 80
    children_first = min(
        result.latencies[str(n)] + 60 + (n - parent_records) / 25
        for n in range(parent_records, parent_records + 30)
    )
    assert children_first >= parent_done - 1e-6
    assert result.backlog == 0


def test_a_split_hands_lanes_over_without_counting_both_generations_at_once() -> None:
    # 800 -> 3,000 writes/s: one shard, then three. Children start after their parent.
    spike = Spike(base=800, peak=3_000, start=300, length=300)
    result = simulate(
        spike, config(batch_size=500), HandlerModel(20, 0.5), ShardModel(item_kb=1), 900
    )
    assert (result.generations, result.lanes) == (2, 3)
    assert result.max_concurrency == 3


# --- lanes: parallelization with per-key order ---------------------------------------


def test_parallelization_keeps_each_key_in_one_lane_and_in_order() -> None:
    result = simulate(
        Steady(300),
        config(batch_size=20, parallelization_factor=3),
        HandlerModel(20, 5),
        ShardModel(item_kb=1),
        6,
        path="exact",
        keys=40,
        drain=True,
    )
    seen: dict[str, list[int]] = defaultdict(list)
    for batch in result.invocation_logs["shardId-0000-00000"]:
        for sequence in batch:
            seen[key_of(int(sequence), 40)].append(int(sequence))
    assert sum(len(v) for v in seen.values()) == 1800
    assert all(numbers == sorted(numbers) for numbers in seen.values())
    assert result.max_concurrency == 3 and result.lanes == 3


# --- the function: slow phases and failures ------------------------------------------


def test_a_slow_phase_builds_a_backlog_that_drains_afterwards() -> None:
    slow = SlowPhase(start=100, end=160, factor=4)
    model = HandlerModel(invocation_ms=20, record_ms=1, slow_phase=slow)
    assert model.duration(100, at=120) == pytest.approx(0.48)
    result = simulate(Steady(600), config(), model, ShardModel(item_kb=1), 400)
    ages = result.recorder.age_max
    assert max(ages[:100]) < 1
    assert max(ages[140:170]) > 10
    assert max(ages[350:]) < 1
    assert result.backlog < 600


def test_random_poison_records_are_isolated_and_sent_to_on_failure() -> None:
    mapping = config(batch_size=100, bisect_batch_on_error=True, retry_attempts=2, on_failure=QUEUE)
    model = HandlerModel(invocation_ms=5, record_ms=0.1, failure_rate=0.001)
    result = simulate(Steady(1000), mapping, model, ShardModel(item_kb=1), 200, path="aggregate")
    # About 0.1 % of 200,000 records; bisection isolates each one.
    assert 130 < result.counts.sent_to_on_failure < 270
    assert result.counts.on_failure_messages == result.counts.sent_to_on_failure
    assert result.counts.succeeded + result.counts.failed + result.backlog == result.records_written


def test_without_a_destination_skipped_records_leave_no_on_failure_record() -> None:
    mapping = config(batch_size=10, retry_attempts=1, bisect_batch_on_error=True)
    model = HandlerModel(10, 1, poison_writes=frozenset({5, 50}))
    result = simulate(Steady(20), mapping, model, ShardModel(item_kb=1), 10, path="exact")
    assert result.counts.failed == 2
    assert (result.counts.sent_to_on_failure, result.counts.on_failure_messages) == (0, 0)
    assert result.failed_batches == []


def test_records_past_the_max_record_age_mean_the_pipeline_does_not_keep_up() -> None:
    mapping = config(batch_size=100, max_record_age=60, on_failure=QUEUE)
    result = simulate(Steady(300), mapping, HandlerModel(0, 10), ShardModel(item_kb=1), 300)
    outcome = outcome_of(result, mapping, memory_mb=128, architecture="arm64")
    assert outcome.records_too_old == result.counts.sent_to_on_failure > 0
    assert not outcome.keeps_up
    assert "records start to be lost            already (see above)" in table(outcome)


def test_records_older_than_the_retention_expire_unread() -> None:
    # 10 writes/s, 1 record/s handled: the iterator age reaches 24 h after about 26.7 h
    # (0.9 T = 86,400 s). In the last 1.3 h the unread records pass 24 h at 10 a second,
    # while the lane reads 1 a second: about 42,000 expire, less what was read ahead.
    mapping = config(batch_size=10, retry_attempts=10)
    result = simulate(Steady(10), mapping, HandlerModel(0, 1000), ShardModel(item_kb=1), 28 * 3600)
    assert 30_000 < result.records_expired < 47_000
    assert result.counts.succeeded == pytest.approx(28 * 3600, rel=0.01)
    outcome = outcome_of(result, mapping, memory_mb=256, architecture="x86_64")
    assert outcome.records_expired == result.records_expired and not outcome.keeps_up
    total = result.counts.succeeded + result.records_expired + result.backlog
    assert total == result.records_written


# --- measurements --------------------------------------------------------------------


def test_recorder_percentiles_peaks_and_billing() -> None:
    recorder = Recorder(horizon=10, bucket=1)
    mark_a, mark_b = LaneMark(), LaneMark()
    for n in range(100):
        recorder.invocation(mark_a, n * 0.05, n * 0.05 + 0.0012, 1, age=float(n + 1), weight=1)
    recorder.invocation(mark_b, 2.5, 4.2, 10, age=0.5, weight=3)
    assert recorder.billed_ms == 100 * 2 + 1700 * 3  # rounded up to whole milliseconds
    assert recorder.invocations == 103
    assert recorder.percentile(0.5) == pytest.approx(49, rel=0.011)
    # 103 samples: three of 0.5 s (weight 3), then 1..100 s; the 102nd is 99 s.
    assert recorder.percentile(0.99) == pytest.approx(99, rel=0.011)
    assert recorder.max_age == 100
    assert recorder.peak[:6] == [1, 1, 4, 4, 4, 0]  # lane b (x3) busy in seconds 2..4
    assert recorder.busy[3] == pytest.approx(3 * 1.0 + 20 * 0.0012)  # b all second; a 20 times


def test_monthly_cost_arithmetic() -> None:
    month = 730 * 3600
    cost = monthly_cost(
        billed_ms=100 * 1_000_000,
        invocations=1_000_000,
        on_failure_messages=1000,
        simulated_seconds=month,
        memory_mb=1024,
        architecture="x86_64",
        destination="sqs",
    )
    assert cost.gb_seconds == pytest.approx(100_000)
    assert cost.compute_usd == pytest.approx(1.66667)
    assert cost.requests_usd == pytest.approx(0.20)
    assert cost.on_failure_usd == pytest.approx(0.0004)
    hour = monthly_cost(
        billed_ms=100,
        invocations=1,
        on_failure_messages=0,
        simulated_seconds=3600,
        memory_mb=2048,
        architecture="arm64",
        destination=None,
    )
    assert hour.gb_seconds == pytest.approx(0.1 * 2 * 730)
    assert hour.compute_usd == pytest.approx(0.1 * 2 * 730 * LIST_PRICES.gb_second["arm64"])
    assert destination_kind("arn:aws:sns:us-east-1:1:t") == "sns"
    with pytest.raises(
        ValueError,
        match="an on-failure destination is an SQS, SNS or S3 ARN, got 'arn:aws:lambda:x:1:f'",
    ):
        destination_kind("arn:aws:lambda:x:1:f")
    with pytest.raises(ValueError, match="architecture must be x86_64 or arm64, got 'sparc'"):
        monthly_cost(
            billed_ms=1,
            invocations=1,
            on_failure_messages=0,
            simulated_seconds=1,
            memory_mb=128,
            architecture="sparc",
            destination=None,
        )


# --- the planner ---------------------------------------------------------------------


def test_recommendation_drops_a_window_longer_than_the_target() -> None:
    plan = Plan(
        Steady(200), ShardModel(item_kb=1), HandlerModel(20, 1), config(max_batching_window=30), 300
    )
    advice = recommend(plan, target_age=10)
    assert advice.found and advice.max_batching_window == 0 and advice.parallelization_factor == 1
    assert advice.outcome is not None
    simulated_p99_age = advice.outcome.iterator_age_p99_seconds  # virtual time, not wall time
    assert simulated_p99_age <= 10
    lines = table(advice.outcome)
    assert lines[0].startswith("shards ") and lines[0].endswith("1 (0 split(s) from 1)")
    with pytest.raises(ValueError, match="target_age must be more than 0 seconds, got 0"):
        recommend(plan, target_age=0)


def test_recommendation_with_failures_screens_without_them_then_checks_with_them() -> None:
    mapping = config(bisect_batch_on_error=True, retry_attempts=2, on_failure=QUEUE)
    # 500 writes/s on one shard; a lane handles 100 / 0.42 = 238 records/s: 3 lanes needed.
    model = HandlerModel(20, 4, failure_rate=0.001)
    advice = recommend(Plan(Steady(500), ShardModel(item_kb=1), model, mapping, 300), 60)
    assert (advice.parallelization_factor, advice.batch_size) == (3, 100)
    assert advice.simulations == 2  # factors 1 and 2 fail the arithmetic; 3 twice
    assert advice.outcome is not None and advice.outcome.records_to_on_failure > 50


def test_a_modelled_function_on_a_tumbling_window_answers_with_a_state() -> None:
    from cdk_streams.streams.delivery import ShardDelivery
    from cdk_streams.streams.records import DYNAMODB

    clock = VirtualClock(1_800_000_000.0)
    function = ModelledFunction(
        HandlerModel(invocation_ms=5, record_ms=1),
        clock,
        shape=DYNAMODB,
        report_batch_item_failures=True,
        is_poison={"3"}.__contains__,
    )
    delivery = ShardDelivery(
        config(tumbling_window=60.0, report_batch_item_failures=True, retry_attempts=0),
        "shard-1",
        function,
        clock=clock.epoch_seconds,
    )
    records = [
        {
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": str(n), "ApproximateCreationDateTime": 1_800_000_000.0},
        }
        for n in range(1, 5)
    ]
    delivery.deliver(records)
    # The partial batch response works as without a window (records 1 and 2 are
    # checkpointed, 3 and 4 skipped with no retry left): no response lacks its state.
    assert (delivery.counts.succeeded, delivery.counts.failed) == (2, 2)
    assert delivery.windows is not None and delivery.windows.errors == []
