"""How long a function takes on a batch, and which records it fails on.

:class:`HandlerModel` is the timing: a fixed cost per invocation plus a cost
per record, optionally slower during a phase (a cold dependency, a slow
downstream), and a share of poison records that fail every time.
:class:`ModelledFunction` turns it into the ``invoke`` function the stream
package's :class:`~cdk_streams.streams.delivery.ShardDelivery` calls: it moves
a virtual clock by the invocation's duration and answers as a handler that
processes records in order and stops at the first poison one would: with
``report_batch_item_failures`` it reports that record in ``batchItemFailures``,
otherwise it raises (the invocation fails).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..streams.delivery import InvokeOutcome, SendOnFailure, ShardDelivery
from ..streams.records import RecordShape
from ..streams.settings import MappingConfig
from .clock import VirtualClock


@dataclass(frozen=True)
class SlowPhase:
    """From ``start`` to ``end`` (virtual seconds), invocations take ``factor`` times longer."""

    start: float
    end: float
    factor: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a slow phase ends after it starts, got {self.start}..{self.end}")
        if not (self.factor > 0 and math.isfinite(self.factor)):
            raise ValueError(f"factor must be more than 0, got {self.factor}")


@dataclass(frozen=True)
class HandlerModel:
    """A function's timing and failures.

    :param invocation_ms: fixed milliseconds per invocation (start-up work, a
        commit at the end).
    :param record_ms: milliseconds per record.
    :param failure_rate: the share of records (0..1) that fail every time they
        are processed (poison records). @default 0.
    :param slow_phase: a period of slower invocations. @default - none.
    :param poison_writes: records that fail every time, on top of
        ``failure_rate``, to rehearse a known bad record: by sequence number,
        from 0 in write order (the exact path numbers the table's writes shard
        after shard; the aggregate path a lane's records). @default - none.
    """

    invocation_ms: float
    record_ms: float
    failure_rate: float = 0.0
    slow_phase: SlowPhase | None = None
    poison_writes: frozenset[int] = frozenset()

    @property
    def fails(self) -> bool:
        """Whether any record can fail."""
        return self.failure_rate > 0 or bool(self.poison_writes)

    def __post_init__(self) -> None:
        for name in ("invocation_ms", "record_ms"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be 0 or more milliseconds, got {value}")
        if not 0 <= self.failure_rate < 1:
            raise ValueError(f"failure_rate must be 0..1 (1 excluded), got {self.failure_rate}")
        if self.invocation_ms == 0 and self.record_ms == 0:
            raise ValueError("invocation_ms and record_ms cannot both be 0: a function takes time")

    def duration(self, records: int, at: float) -> float:
        """Seconds an invocation starting at ``at`` takes to process ``records`` records."""
        seconds = (self.invocation_ms + records * self.record_ms) / 1000.0
        phase = self.slow_phase
        if phase is not None and phase.start <= at < phase.end:
            seconds *= phase.factor
        return seconds


#: Called after each modelled invocation: start, end, the event's records, and
#: how many of them (from the front) the invocation processed successfully.
Observer = Callable[[float, float, list[dict[str, Any]], int], None]


class ModelledFunction:
    """A function on a virtual clock: the ``invoke`` of a simulated lane.

    :param model: the timing and failures.
    :param clock: moved forward by each invocation's duration.
    :param shape: the record shape (where the sequence number is).
    :param report_batch_item_failures: answer failures in ``batchItemFailures``
        instead of raising.
    :param is_poison: whether a record (by sequence number) fails every time.
    :param observe: told about each invocation. @default - nobody.
    """

    def __init__(
        self,
        model: HandlerModel,
        clock: VirtualClock,
        *,
        shape: RecordShape,
        report_batch_item_failures: bool,
        is_poison: Callable[[str], bool] = lambda sequence: False,
        observe: Observer | None = None,
    ) -> None:
        self.model = model
        self.clock = clock
        self._sequence = shape.sequence
        self._report = report_batch_item_failures
        self._is_poison = is_poison
        self._observe = observe
        self.invocations = 0

    def __call__(self, event: dict[str, Any]) -> InvokeOutcome:
        records = event["Records"]
        failed_at: int | None = None
        failed_sequence = ""
        for index, record in enumerate(records):
            sequence = self._sequence(record)
            if self._is_poison(sequence):
                failed_at, failed_sequence = index, sequence
                break
        processed = len(records) if failed_at is None else failed_at + 1
        start = self.clock.now
        self.clock.advance(self.model.duration(processed, start))
        self.invocations += 1
        request_id = f"sim-{self.invocations}"
        # With a tumbling window Lambda needs a state back: the one handed in will do.
        state = {"state": event["state"]} if "window" in event else {}
        if failed_at is None:
            succeeded = len(records)
            outcome = InvokeOutcome(request_id, True, state or None)
        elif self._report:
            succeeded = failed_at
            failures = {"batchItemFailures": [{"itemIdentifier": failed_sequence}], **state}
            outcome = InvokeOutcome(request_id, True, failures)
        else:
            succeeded = 0
            outcome = InvokeOutcome(request_id, False)
        if self._observe is not None:
            self._observe(start, self.clock.now, records, succeeded)
        return outcome


def modelled_delivery(
    config: MappingConfig,
    shard_id: str,
    model: HandlerModel,
    clock: VirtualClock,
    *,
    until: float,
    is_poison: Callable[[str], bool],
    observe: Callable[..., Any],
    send_on_failure: SendOnFailure,
) -> ShardDelivery:
    """The stream package's own delivery rules for one lane, invoking the modelled
    function on the lane's virtual clock; the lane stops at ``until``."""
    function = ModelledFunction(
        model,
        clock,
        shape=config.shape,
        report_batch_item_failures=config.report_batch_item_failures,
        is_poison=is_poison,
        observe=observe,
    )
    return ShardDelivery(
        config,
        shard_id,
        function,
        clock=clock.epoch_seconds,
        send_on_failure=send_on_failure,
        stopping=lambda: clock.now >= until,
    )
