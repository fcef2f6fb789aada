"""The capacity planner: simulate a mapping, and find the smallest settings that keep up.

:class:`Plan` is everything a simulation needs; :func:`run` simulates it and
prices it. :func:`recommend` looks for the smallest parallelization factor
(then the smallest batch size, the plan's own first) whose simulation keeps the
p99 iterator age under a target with nothing expiring and no growing backlog.

The search is cheap for two reasons. Candidates are simulated without the
function's failures first (every lane of a shard then behaves the same, so one
is simulated for all), and only the one found is simulated again with them.
And closed-form arithmetic screens the candidates before any simulation: a
lane that always has a full batch waiting handles

    n / (invocation_s + n * record_s)   records per second (n = records per batch)

and a shard of ``p`` lanes gets ``peak writes/s / shards / p`` of them. Only the
candidates whose lanes can carry their share are simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..streams.batching import cut
from ..streams.records import lambda_record, record_size
from ..streams.settings import (
    PARALLELIZATION_FACTOR,
    PROCESSOR_ARCHITECTURE,
    PROCESSOR_MEMORY_MB,
    MappingConfig,
)
from .costs import LIST_PRICES, Prices
from .handler_model import HandlerModel
from .report import Outcome, outcome_of
from .shards import ShardModel
from .simulator import STREAM_ARN, SimulationResult, simulate
from .traffic import Traffic
from .workload import stream_record

#: Batch sizes the planner tries beyond the plan's own.
BATCH_SIZES = (100, 250, 500, 1000, 2500, 5000, 10_000)


@dataclass(frozen=True)
class Plan:
    """A mapping, its function and the load on its table.

    :param duration: seconds of traffic to simulate.
    :param memory_mb: the function's memory (the price of its duration).
    :param architecture: ``x86_64`` or ``arm64``. @default arm64, StreamProcessor's.
    """

    traffic: Traffic
    shards: ShardModel
    handler: HandlerModel
    config: MappingConfig
    duration: int
    memory_mb: int = PROCESSOR_MEMORY_MB
    architecture: str = PROCESSOR_ARCHITECTURE
    seed: int = 0
    prices: Prices = LIST_PRICES


def run(plan: Plan) -> tuple[SimulationResult, Outcome]:
    """Simulate the plan and price it."""
    result = simulate(
        plan.traffic, plan.config, plan.handler, plan.shards, plan.duration, seed=plan.seed
    )
    outcome = outcome_of(
        result,
        plan.config,
        memory_mb=plan.memory_mb,
        architecture=plan.architecture,
        prices=plan.prices,
    )
    return result, outcome


def peak_rate(traffic: Traffic, duration: int) -> float:
    """The busiest second's write rate."""
    step = max(1, duration // 86_400)
    return max(traffic.rate(second + 0.5) for second in range(0, duration, step))


def records_per_batch(config: MappingConfig, item_kb: float, batch_size: int) -> int:
    """Records a full batch holds: the batch size, or fewer when 6 MB is reached first."""
    size = record_size(
        lambda_record(stream_record(0, "item-0", 0.0, int(item_kb * 1024)), stream_arn=STREAM_ARN)
    )
    return cut([size] * batch_size, batch_size=batch_size)


def lane_capacity(handler: HandlerModel, records: int) -> float:
    """Records per second one lane handles when every batch is full (closed form)."""
    return records / handler.duration(records, at=-1.0)


@dataclass(frozen=True)
class Recommendation:
    """The smallest settings that keep up, or why there are none."""

    parallelization_factor: int | None
    batch_size: int | None
    max_batching_window: float | None
    outcome: Outcome | None
    reason: str
    simulations: int

    @property
    def found(self) -> bool:
        return self.parallelization_factor is not None


def _good(outcome: Outcome, target_age: float) -> bool:
    return outcome.keeps_up and outcome.iterator_age_p99_seconds <= target_age


def recommend(plan: Plan, target_age: float, *, max_simulations: int = 12) -> Recommendation:
    """The smallest parallelization factor and batch size whose p99 iterator age
    stays under ``target_age`` seconds, with nothing expiring and no backlog."""
    if target_age <= 0:
        raise ValueError(f"target_age must be more than 0 seconds, got {target_age}")
    config = plan.config
    peak = peak_rate(plan.traffic, plan.duration)
    shards = plan.shards.partitions_at(peak)
    per_shard = peak / shards
    window = config.max_batching_window if config.max_batching_window < target_age else 0.0
    batch_sizes = [config.batch_size] + [b for b in BATCH_SIZES if b > config.batch_size]
    simulations = 0
    best_capacity = 0.0
    quick = replace(plan.handler, failure_rate=0.0, poison_writes=frozenset())
    for factor in range(PARALLELIZATION_FACTOR[0], PARALLELIZATION_FACTOR[1] + 1):
        for batch_size in batch_sizes:
            records = records_per_batch(config, plan.shards.item_kb, batch_size)
            capacity = lane_capacity(plan.handler, records)
            best_capacity = max(best_capacity, capacity * factor)
            if capacity * factor < per_shard:
                continue  # arithmetic says these lanes cannot carry the shard's writes
            if simulations >= max_simulations:
                return Recommendation(
                    None,
                    None,
                    None,
                    None,
                    f"no setting found within {max_simulations} simulations",
                    simulations,
                )
            candidate = replace(
                config,
                parallelization_factor=factor,
                batch_size=batch_size,
                max_batching_window=window,
            )
            trial = replace(plan, config=candidate)
            if plan.handler.fails:
                _, screened = run(replace(trial, handler=quick))
                simulations += 1
                if not _good(screened, target_age):
                    continue
            _, outcome = run(trial)
            simulations += 1
            if _good(outcome, target_age):
                return Recommendation(
                    factor,
                    batch_size,
                    window,
                    outcome,
                    f"{factor} lane(s) per shard handle up to {capacity * factor:,.0f} "
                    f"records/s with full batches of {records}; each of the {shards} shard(s) "
                    f"gets {per_shard:,.0f}/s at the peak",
                    simulations,
                )
    needed_ms = 1000 * PARALLELIZATION_FACTOR[1] / per_shard if per_shard else 0.0
    return Recommendation(
        None,
        None,
        None,
        None,
        f"no setting keeps up: each of the {shards} shard(s) gets {per_shard:,.0f} writes/s at "
        f"the peak and at most {best_capacity:,.0f} records/s fit through one shard's lanes; "
        f"make the handler faster (below {needed_ms:.2f} ms per record) or the p99 "
        f"target longer than {target_age:g} s",
        simulations,
    )
