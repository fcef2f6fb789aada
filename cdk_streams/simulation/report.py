"""A simulation's outcome in numbers, as a table for people and a dict for machines."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..streams.settings import MappingConfig
from .costs import LIST_PRICES, MonthlyCost, Prices, destination_kind, monthly_cost, round_usd
from .polling import RETENTION
from .simulator import SimulationResult


@dataclass(frozen=True)
class Outcome:
    """What one simulated mapping did, and what it costs a month."""

    duration_seconds: float
    shards: int
    shards_initial: int
    shard_splits: int
    lanes: int
    max_concurrency: int
    invocations: int
    records_written: int
    records_processed: int
    records_to_on_failure: int
    on_failure_messages: int
    records_expired: int
    #: Records skipped unprocessed because they passed ``max_record_age``.
    records_too_old: int
    backlog: int
    iterator_age_p50_seconds: float
    iterator_age_p99_seconds: float
    iterator_age_max_seconds: float
    #: When the backlog grows: hours until its oldest records would reach
    #: ``loss_age_seconds`` (skipped at the max record age, or expired from the
    #: stream at 24 h), if the load went on as in the last half.
    hours_until_loss: float | None
    loss_age_seconds: float
    monthly_cost_usd: float
    monthly_cost: MonthlyCost
    path: str

    @classmethod
    def of(
        cls,
        result: SimulationResult,
        *,
        memory_mb: int,
        architecture: str,
        on_failure: str | None,
        prices: Prices = LIST_PRICES,
    ) -> Outcome:
        cost = monthly_cost(
            billed_ms=result.recorder.billed_ms,
            invocations=result.invocations,
            on_failure_messages=result.counts.on_failure_messages,
            simulated_seconds=result.duration,
            memory_mb=memory_mb,
            architecture=architecture,
            destination=destination_kind(on_failure),
            prices=prices,
        )
        return cls(
            duration_seconds=float(result.duration),
            shards=result.shards_final,
            shards_initial=result.shards_initial,
            shard_splits=result.generations - 1,
            lanes=result.lanes,
            max_concurrency=result.max_concurrency,
            invocations=result.invocations,
            records_written=result.records_written,
            records_processed=result.counts.succeeded,
            records_to_on_failure=result.counts.sent_to_on_failure,
            on_failure_messages=result.counts.on_failure_messages,
            records_expired=result.records_expired,
            records_too_old=result.records_too_old,
            backlog=result.backlog,
            iterator_age_p50_seconds=result.iterator_age(0.50),
            iterator_age_p99_seconds=result.iterator_age(0.99),
            iterator_age_max_seconds=result.recorder.max_age,
            hours_until_loss=_hours_until_loss(result),
            loss_age_seconds=result.age_limit,
            monthly_cost_usd=round_usd(cost.total_usd),
            monthly_cost=cost,
            path=result.path,
        )

    @property
    def keeps_up(self) -> bool:
        """Nothing expired or too old, and at most about two seconds of writes in flight."""
        per_second = self.records_written / self.duration_seconds
        lost = self.records_expired + self.records_too_old
        return lost == 0 and self.backlog <= per_second * 2

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["monthly_cost"] = {
            "compute_usd": round_usd(self.monthly_cost.compute_usd),
            "requests_usd": round_usd(self.monthly_cost.requests_usd),
            "on_failure_usd": round_usd(self.monthly_cost.on_failure_usd),
            "gb_seconds": round(self.monthly_cost.gb_seconds),
            "invocations": round(self.monthly_cost.invocations),
        }
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 3)
        out["keeps_up"] = self.keeps_up
        return out


def _hours_until_loss(result: SimulationResult) -> float | None:
    """Extrapolate the iterator age's growth over the last half to the age records are lost."""
    if result.backlog <= 0:
        return None
    ages = result.recorder.age_max
    bucket = result.recorder.bucket
    last = int(result.duration / bucket) - 1
    middle = last // 2
    while last > middle and ages[last] == 0:
        last -= 1
    while middle > 0 and ages[middle] == 0:
        middle -= 1
    if last <= middle:
        return None
    slope = (ages[last] - ages[middle]) / ((last - middle) * bucket)
    if slope <= 0.01:  # an age that barely grows never reaches a day within the plan
        return None
    return max(0.0, (result.age_limit - ages[last]) / slope / 3600)


def outcome_of(
    result: SimulationResult,
    config: MappingConfig,
    *,
    memory_mb: int,
    architecture: str,
    prices: Prices = LIST_PRICES,
) -> Outcome:
    """The :class:`Outcome` of a simulation of ``config``."""
    return Outcome.of(
        result,
        memory_mb=memory_mb,
        architecture=architecture,
        on_failure=config.on_failure,
        prices=prices,
    )


def format_seconds(value: float) -> str:
    """A duration as people read it: ms, s, min or h."""
    if value >= 3600:
        return f"{value / 3600:.1f} h"
    if value >= 60:
        return f"{value / 60:.1f} min"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.0f} ms"


def table(outcome: Outcome) -> list[str]:
    """The outcome as aligned ``name  value`` lines."""
    cost = outcome.monthly_cost
    how = (
        "expire from the stream"
        if outcome.loss_age_seconds >= RETENTION
        else f"pass the max record age ({format_seconds(outcome.loss_age_seconds)})"
    )
    if outcome.records_too_old or outcome.records_expired:
        loss = "already (see above)"
    elif outcome.hours_until_loss is None:
        loss = "never (keeps up)" if outcome.keeps_up else "not at this load"
    else:
        loss = f"{how} {outcome.hours_until_loss:.1f} h after the simulated window"
    rows = [
        (
            "shards",
            f"{outcome.shards} ({outcome.shard_splits} split(s) from {outcome.shards_initial})",
        ),
        ("lanes (shards x parallelization)", f"{outcome.lanes}"),
        ("max concurrency", f"{outcome.max_concurrency}"),
        ("invocations", f"{outcome.invocations:,}"),
        ("records written", f"{outcome.records_written:,}"),
        ("records processed", f"{outcome.records_processed:,}"),
        (
            "records to on-failure",
            f"{outcome.records_to_on_failure:,} in {outcome.on_failure_messages:,} message(s)",
        ),
        ("records too old (max record age)", f"{outcome.records_too_old:,}"),
        ("records expired unprocessed (24 h)", f"{outcome.records_expired:,}"),
        ("backlog at the end", f"{outcome.backlog:,}"),
        ("iterator age p50", format_seconds(outcome.iterator_age_p50_seconds)),
        ("iterator age p99", format_seconds(outcome.iterator_age_p99_seconds)),
        ("iterator age max", format_seconds(outcome.iterator_age_max_seconds)),
        ("records start to be lost", loss),
        (
            "monthly cost",
            f"${outcome.monthly_cost_usd:,.2f} (duration ${cost.compute_usd:,.2f}, "
            f"requests ${cost.requests_usd:,.2f}, on-failure ${cost.on_failure_usd:,.2f})",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {value}" for name, value in rows]
