"""The simulation: traffic onto shards, shards into lanes, lanes polled on virtual clocks.

:func:`simulate` runs a mapping (a :class:`~cdk_streams.streams.settings.MappingConfig`)
over modelled traffic, shards and handler timing, and returns a
:class:`SimulationResult`.

* Shards come from :class:`~.shards.ShardModel`; a child shard's lanes start
  only when every lane of its parent is done (per-key order across a split).
* Each shard has ``parallelization_factor`` lanes. In Lambda the records of one
  partition key always go to the same lane and stay in order there; lanes run
  independently of each other, so each is simulated on its own virtual clock
  (:mod:`.polling`) and the measurements are merged on the common time axis.
* Two paths run the same rules: the exact path (:mod:`.exact_lane`, real
  records, real ``BatchBuffer`` and ``ShardDelivery``) for small workloads, and
  the aggregate path (:mod:`.aggregate_lane`, records as counts) for large ones.
  When the function never fails, every lane of a shard generation sees the same
  arrivals and behaves the same, so the aggregate path simulates one lane per
  generation and counts it for all of them.
* A mapping with unlimited retries and no record age limit retries a poison
  record until it leaves the stream after 24 hours; the simulation models that
  with a 24-hour record age limit.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..streams.arns import placeholder_arn
from ..streams.counts import MappingCounts
from ..streams.on_failure import FailedBatch
from ..streams.records import lambda_record, record_size
from ..streams.settings import UNLIMITED, MappingConfig
from .aggregate_lane import AggregateLane
from .clock import VirtualClock
from .exact_lane import ExactLane
from .handler_model import HandlerModel
from .metrics import LaneMark, Recorder
from .polling import POLL_INTERVAL, READ_LIMIT, RETENTION, run_lane
from .shards import ShardModel, ShardSpan
from .traffic import Traffic, arrival_times, arrivals_per_second
from .workload import key_of, lane_of, stream_record

#: Above this many records, "auto" takes the aggregate path.
EXACT_LIMIT = 2_000
#: The stream the simulated records come from (the planner models DynamoDB streams).
STREAM_ARN = placeholder_arn("dynamodb", "table/Simulated/stream/2027-01-01T00:00:00.000")


@dataclass
class SimulationResult:
    """What a simulated mapping did."""

    #: Seconds of traffic simulated.
    duration: float
    #: "exact" or "aggregate".
    path: str
    #: Shards open at the start and at the end, and shard generations (splits + 1).
    shards_initial: int
    shards_final: int
    generations: int
    #: Lanes of the shards open at the end.
    lanes: int
    records_written: int
    #: Records trimmed from the stream (24 h) before being read.
    records_expired: int
    #: Records written and neither processed, skipped nor expired when the simulation ended.
    backlog: int
    #: Records skipped unprocessed because they passed ``max_record_age``.
    records_too_old: int
    counts: MappingCounts
    recorder: Recorder
    #: The age at which records are lost: skipped at ``max_record_age``, or trimmed
    #: from the stream after 24 hours.
    age_limit: float = RETENTION
    #: Exact path only: per shard, the sequence numbers of each invocation, in order
    #: (lane after lane when the shard has several).
    invocation_logs: dict[str, list[list[str]]] = field(default_factory=dict)
    #: Exact path only: the batches skipped to the on-failure destination.
    failed_batches: list[FailedBatch] = field(default_factory=list)
    #: Exact path only: arrival to processed, seconds, by sequence number.
    latencies: dict[str, float] = field(default_factory=dict)

    @property
    def invocations(self) -> int:
        return self.recorder.invocations

    @property
    def max_concurrency(self) -> int:
        return self.recorder.max_concurrency

    def iterator_age(self, fraction: float) -> float:
        return self.recorder.percentile(fraction)


def _scaled(counts: MappingCounts, weight: int) -> MappingCounts:
    out = MappingCounts()
    for f in fields(counts):
        if f.name == "by_event":
            out.by_event.update({name: n * weight for name, n in counts.by_event.items()})
        else:
            setattr(out, f.name, getattr(counts, f.name) * weight)
    return out


#: The on-failure destination of a simulated mapping that has none: the simulator
#: still learns why each batch was skipped, and reports no on-failure records.
NO_DESTINATION = placeholder_arn("sqs", "simulated-no-destination")


def simulation_config(config: MappingConfig) -> MappingConfig:
    """The mapping as simulated: a DynamoDB stream source, always an on-failure
    destination (:data:`NO_DESTINATION` when it has none), and a 24-hour age limit
    when retries are unlimited and no limit is set (records leave the stream then)."""
    changes: dict[str, Any] = {"event_source_arn": STREAM_ARN, "filters": ()}
    if config.retry_attempts == UNLIMITED and config.max_record_age is None:
        changes["max_record_age"] = RETENTION
    if config.on_failure is None:
        changes["on_failure"] = NO_DESTINATION
    return replace(config, **changes)


def simulate(
    traffic: Traffic,
    config: MappingConfig,
    handler: HandlerModel,
    shards: ShardModel,
    duration: int,
    *,
    path: str = "auto",
    drain: bool = False,
    seed: int = 0,
    keys: int = 10_000,
    poll_interval: float = POLL_INTERVAL,
    read_interval: float = POLL_INTERVAL,
    read_limit: int = READ_LIMIT,
    bucket_seconds: float | None = None,
) -> SimulationResult:
    """Run ``config`` over ``duration`` seconds of ``traffic``.

    :param path: "exact", "aggregate" or "auto" (exact up to :data:`EXACT_LIMIT` records).
    :param drain: keep delivering after the traffic ends until every lane is
        empty; otherwise delivery stops at ``duration`` too. @default False.
    :param seed: the seed of the poison-record draws. @default 0.
    :param keys: distinct partition keys the writes cycle over (exact path). @default 10,000.
    :param read_interval: the least time between two reads of a lane: Lambda
        reads a shard at most 4 times a second. 0 reads again right after each
        invocation, as the local cloud's runner does. @default 0.25 s.
    :param bucket_seconds: resolution of the time series. @default - 1 s up to two
        hours of simulated time, coarser beyond (at most 7,200 buckets).
    """
    if duration < 1:
        raise ValueError(f"duration must be 1 or more seconds, got {duration}")
    if path not in ("auto", "exact", "aggregate"):
        raise ValueError(f"path must be auto, exact or aggregate, got {path!r}")
    original_destination = config.on_failure
    config = simulation_config(config)
    spans = shards.spans(traffic, duration)
    parallel = config.parallelization_factor
    if path == "auto":
        written = sum(arrivals_per_second(traffic, 0, duration))
        path = "exact" if written <= EXACT_LIMIT else "aggregate"
    until = math.inf if drain else float(duration)
    horizon = duration if not drain else duration * 4 + 3600
    bucket = bucket_seconds or max(1.0, math.ceil(horizon / 7200))
    recorder = Recorder(horizon=horizon, bucket=bucket)
    result = SimulationResult(
        duration=duration,
        path=path,
        shards_initial=sum(1 for s in spans if s.generation == 0),
        shards_final=sum(1 for s in spans if s.closes == duration and s.opens < duration),
        generations=1 + max((s.generation for s in spans), default=0),
        lanes=0,
        records_written=0,
        records_expired=0,
        backlog=0,
        records_too_old=0,
        counts=MappingCounts(),
        recorder=recorder,
        age_limit=min(config.max_record_age or RETENTION, RETENTION),
    )
    record_bytes = record_size(
        lambda_record(stream_record(0, "item-0", 0.0, _item_bytes(shards)), stream_arn=STREAM_ARN)
    )
    done: dict[str, float | None] = {}
    marks: dict[str, list[LaneMark]] = {}
    for generation in sorted({s.generation for s in spans}):
        members = [s for s in spans if s.generation == generation]
        for span in members:
            parent_done = done.get(span.parent_id, 0.0) if span.parent_id else 0.0
            # A child lane starts where its parent lane stopped: the two are never busy
            # at once, so the bucket they share counts one of them.
            parent_marks = marks.get(span.parent_id or "", [])
            lane_marks = [
                LaneMark(parent_marks[i % len(parent_marks)].bucket if parent_marks else -1)
                for i in range(parallel)
            ]
            marks[span.shard_id] = lane_marks
            if span.closes >= duration:
                result.lanes += parallel
            if path == "exact":
                done[span.shard_id] = _run_exact_shard(
                    result,
                    span,
                    parent_done,
                    traffic,
                    config,
                    handler,
                    shards,
                    lane_marks,
                    until=until,
                    seed=seed,
                    keys=keys,
                    poll_interval=poll_interval,
                    read_interval=read_interval,
                    read_limit=read_limit,
                )
            elif not handler.fails and span is not members[0]:
                # Identical to the generation's first shard, which was counted for all.
                done[span.shard_id] = done[members[0].shard_id]
                marks[span.shard_id] = marks[members[0].shard_id]
            else:
                weight = 1 if handler.fails else parallel * len(members)
                lanes = parallel if handler.fails else 1
                done[span.shard_id] = _run_aggregate_shard(
                    result,
                    span,
                    parent_done,
                    traffic,
                    config,
                    handler,
                    lane_marks,
                    until=until,
                    seed=seed,
                    lanes=lanes,
                    weight=weight,
                    parallel=parallel,
                    record_bytes=record_bytes,
                    poll_interval=poll_interval,
                    read_interval=read_interval,
                    read_limit=read_limit,
                )
    if original_destination is None:
        result.counts.sent_to_on_failure = result.counts.on_failure_messages = 0
        result.failed_batches.clear()
    return result


def _item_bytes(shards: ShardModel) -> int:
    return max(1, int(shards.item_kb * 1024))


def _run_exact_shard(
    result: SimulationResult,
    span: ShardSpan,
    parent_done: float | None,
    traffic: Traffic,
    config: MappingConfig,
    handler: HandlerModel,
    shards: ShardModel,
    lane_marks: list[LaneMark],
    *,
    until: float,
    seed: int,
    keys: int,
    poll_interval: float,
    read_interval: float,
    read_limit: int,
) -> float | None:
    counts = arrivals_per_second(traffic, span.opens, span.closes, span.share)
    parallel = config.parallelization_factor
    rng = random.Random(f"{seed}:{span.shard_id}")
    by_lane: list[list[tuple[float, dict[str, Any]]]] = [[] for _ in range(parallel)]
    poison: set[str] = set()
    item_bytes = _item_bytes(shards)
    # Sequence numbers run on across shards, so each record has its own.
    first = result.records_written
    for sequence, arrival in enumerate(arrival_times(counts, span.opens), start=first):
        key = key_of(sequence, keys)
        record = lambda_record(
            stream_record(sequence, key, arrival, item_bytes), stream_arn=STREAM_ARN
        )
        by_lane[lane_of(key, parallel)].append((arrival, record))
        if sequence in handler.poison_writes or (
            handler.failure_rate and rng.random() < handler.failure_rate
        ):
            poison.add(str(sequence))
    finished: list[float | None] = []
    log: list[list[str]] = []
    for records, mark in zip(by_lane, lane_marks, strict=True):
        result.records_written += len(records)
        clock = VirtualClock(max(float(span.opens), parent_done or 0.0))
        lane = ExactLane(
            config,
            span.shard_id,
            records,
            handler,
            result.recorder,
            clock=clock,
            until=until,
            is_poison=poison.__contains__,
            failed_batches=result.failed_batches,
            read_limit=read_limit,
            mark=mark,
        )
        if parent_done is None:
            finished.append(None)
            result.backlog += len(records)
            continue
        end = run_lane(lane, until=until, poll_interval=poll_interval, read_interval=read_interval)
        finished.append(end.finished_at)
        counts_ = lane.delivery.counts
        result.counts = result.counts + counts_
        result.records_expired += lane.expired
        result.records_too_old += lane.too_old
        arrived = lane.arrived(until)
        result.backlog += arrived - counts_.succeeded - counts_.failed - lane.expired
        result.latencies.update(lane.latencies)
        log.extend(lane.delivery.invocation_log)
    result.invocation_logs[span.shard_id] = log
    return None if None in finished else max((f for f in finished if f is not None), default=0.0)


def _run_aggregate_shard(
    result: SimulationResult,
    span: ShardSpan,
    parent_done: float | None,
    traffic: Traffic,
    config: MappingConfig,
    handler: HandlerModel,
    lane_marks: list[LaneMark],
    *,
    until: float,
    seed: int,
    lanes: int,
    weight: int,
    parallel: int,
    record_bytes: int,
    poll_interval: float,
    read_interval: float,
    read_limit: int,
) -> float | None:
    per_lane = arrivals_per_second(traffic, span.opens, span.closes, span.share / parallel)
    finished: list[float | None] = []
    for index in range(lanes):
        rng = random.Random(f"{seed}:{span.shard_id}:{index}") if handler.fails else None
        clock = VirtualClock(max(float(span.opens), parent_done or 0.0))
        lane = AggregateLane(
            config,
            span.shard_id,
            per_lane,
            span.opens,
            handler,
            result.recorder,
            clock=clock,
            until=until,
            record_bytes=record_bytes,
            rng=rng,
            weight=weight,
            read_limit=read_limit,
            mark=lane_marks[index],
        )
        result.records_written += lane.total * weight
        if parent_done is None:
            finished.append(None)
            result.backlog += lane.total * weight
            continue
        end = run_lane(lane, until=until, poll_interval=poll_interval, read_interval=read_interval)
        finished.append(end.finished_at)
        counts = lane.delivery.counts
        result.counts = result.counts + _scaled(counts, weight)
        result.records_expired += lane.expired * weight
        result.records_too_old += lane.too_old * weight
        arrived = lane.arrived(until)
        result.backlog += (arrived - counts.succeeded - counts.failed - lane.expired) * weight
    return None if None in finished else max((f for f in finished if f is not None), default=0.0)
