"""A simulated lane that runs every record through the stream package's own rules.

Records are real Lambda stream records (dicts); batches are cut by
:class:`~cdk_streams.streams.batching.BatchBuffer` and delivered by
:class:`~cdk_streams.streams.delivery.ShardDelivery`, whose ``invoke`` is a
:class:`~.handler_model.ModelledFunction` on the lane's virtual clock. Nothing
is approximated; it costs a few microseconds per record, so it is the path for
small workloads and the reference the aggregate path is checked against.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from ..streams.batching import BatchBuffer
from ..streams.delivery import Stopped
from ..streams.on_failure import RECORD_AGE_EXCEEDED, FailedBatch
from ..streams.settings import MappingConfig
from .clock import VirtualClock
from .handler_model import HandlerModel, modelled_delivery
from .metrics import LaneMark, Recorder
from .polling import READ_LIMIT, RETENTION


class ExactLane:
    """One lane of one shard, record by record.

    :param records: ``(arrival, Lambda record)`` pairs in arrival order.
    :param until: virtual time after which no new attempt starts.
    :param is_poison: whether a record (by sequence number) fails every time.
    :param failed_batches: where the on-failure records' batches are collected.
    :param mark: the lane's concurrency mark, continued from its parent lane's.
    """

    def __init__(
        self,
        config: MappingConfig,
        shard_id: str,
        records: Sequence[tuple[float, dict[str, Any]]],
        model: HandlerModel,
        recorder: Recorder,
        *,
        clock: VirtualClock,
        until: float,
        is_poison: Callable[[str], bool],
        failed_batches: list[FailedBatch],
        read_limit: int = READ_LIMIT,
        mark: LaneMark | None = None,
    ) -> None:
        self.clock = clock
        self._records = records
        self._next = 0
        self._read_limit = read_limit
        self._recorder = recorder
        self.mark = mark or LaneMark()
        #: Records skipped because they passed ``max_record_age``.
        self.too_old = 0
        self._failed_batches = failed_batches
        self._sequence = config.shape.sequence
        self.arrivals = {self._sequence(record): arrival for arrival, record in records}
        #: Seconds from arrival to the end of the invocation that processed it, by sequence number.
        self.latencies: dict[str, float] = {}
        self.expired = 0
        self.buffer = BatchBuffer(config.batch_size, config.max_batching_window)
        self.delivery = modelled_delivery(
            config,
            shard_id,
            model,
            clock,
            until=until,
            is_poison=is_poison,
            observe=self._observe,
            send_on_failure=self._sent,
        )

    @property
    def buffered(self) -> int:
        return len(self.buffer)

    def arrived(self, until: float) -> int:
        """Records that arrived before ``until``."""
        return sum(1 for arrival, _ in self._records if arrival < until)

    def read(self, now: float) -> int:
        records = self._records
        while self._next < len(records) and records[self._next][0] <= now - RETENTION:
            self._next += 1
            self.expired += 1
        if len(self.buffer) >= self.buffer.batch_size:
            return 0
        read = 0
        while read < self._read_limit and self._next < len(records):
            arrival, record = records[self._next]
            if arrival > now:
                break
            self.buffer.add(record, now=now)
            self._next += 1
            read += 1
        return read

    def due(self, now: float) -> bool:
        return self.buffer.due(now=now)

    def due_in(self, now: float) -> float | None:
        return self.buffer.due_in(now=now)

    def next_arrival(self) -> float | None:
        return self._records[self._next][0] if self._next < len(self._records) else None

    def deliver_next(self) -> None:
        batch = self.buffer.take(now=self.clock.now)
        # When the simulated time is up mid-batch, the rest stays unprocessed.
        with contextlib.suppress(Stopped):
            self.delivery.deliver(batch)

    def _observe(self, start: float, end: float, records: list[dict[str, Any]], ok: int) -> None:
        age = start - self.arrivals[self._sequence(records[-1])]
        self._recorder.invocation(self.mark, start, end, len(records), age, 1)
        for record in records[:ok]:
            sequence = self._sequence(record)
            self.latencies[sequence] = end - self.arrivals[sequence]

    def _sent(self, arn: str, batch: FailedBatch) -> None:
        self._failed_batches.append(batch)
        if batch.condition == RECORD_AGE_EXCEEDED:
            self.too_old += len(batch.records)
