"""The simulator's speed: simulated seconds per wall second at 10,000 writes/s.

Three runs of the same mapping (10 shards, parallelization 2, batch 100, a
function of 10 ms + 0.5 ms per record):

* no failures: every lane of a shard generation behaves the same, so one is
  simulated for all (the usual `cdk-streams plan` case);
* 0.01 % poison records: every lane simulated on its own, poison batches
  delivered record by record through ShardDelivery;
* the anchor: the exact path (a real Lambda record per write, BatchBuffer and
  ShardDelivery on every batch) on a 60-second slice, records per wall second.
"""

from __future__ import annotations

import time
from dataclasses import replace

from cdk_streams.simulation.handler_model import HandlerModel
from cdk_streams.simulation.shards import ShardModel
from cdk_streams.simulation.simulator import STREAM_ARN, SimulationResult, simulate
from cdk_streams.simulation.traffic import Steady
from cdk_streams.streams.settings import MappingConfig

WRITES_PER_SECOND = 10_000
MAPPING = MappingConfig(
    uuid="bench",
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
    event_source_arn=STREAM_ARN,
    batch_size=100,
    parallelization_factor=2,
    retry_attempts=10,
    max_record_age=3600,
    bisect_batch_on_error=True,
    report_batch_item_failures=True,
    on_failure="arn:aws:sqs:us-east-1:123456789012:bench-dlq",
)
HANDLER = HandlerModel(invocation_ms=10, record_ms=0.5)


def timed(
    handler: HandlerModel, seconds: int, path: str, rate: float = WRITES_PER_SECOND
) -> tuple[float, SimulationResult]:
    start = time.perf_counter()
    result = simulate(Steady(rate), MAPPING, handler, ShardModel(item_kb=1), seconds, path=path)
    return time.perf_counter() - start, result


def report(name: str, wall: float, result: SimulationResult) -> float:
    records_per_second = result.records_written / wall
    print(
        f"{name:<34} {result.duration:>6.0f} s simulated in {wall:6.2f} s: "
        f"{result.duration / wall:>8,.0f} simulated s/s, {records_per_second:>12,.0f} records/s "
        f"({result.invocations:,} invocations, {result.counts.sent_to_on_failure:,} to on-failure)"
    )
    return records_per_second


def main() -> None:
    print(
        f"{WRITES_PER_SECOND:,} writes/s, 1 KB items, {MAPPING.parallelization_factor} lanes/shard"
    )
    wall, result = timed(HANDLER, 3600, "aggregate")
    shared = report("aggregate, no failures (1 h)", wall, result)
    wall, result = timed(replace(HANDLER, failure_rate=0.0001), 3600, "aggregate")
    every_lane = report("aggregate, 0.01 % poison (1 h)", wall, result)
    # The anchor: one shard's worth (1,000 writes/s) for 60 s, record by record.
    wall, result = timed(HANDLER, 60, "exact", rate=1_000)
    exact = report("exact path, 1,000 writes/s (60 s)", wall, result)
    print(
        f"aggregate path vs exact path, records/s: {shared / exact:,.0f}x without failures, "
        f"{every_lane / exact:,.0f}x with poison records"
    )


if __name__ == "__main__":
    main()
