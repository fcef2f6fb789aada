"""A simulated lane that keeps its records as counts: the fast path for big workloads.

An hour of 10,000 writes/s is 36 million records; a dict each is too slow. This
lane knows its arrivals as whole writes per second, spread evenly inside each
second (:mod:`.traffic`), and keeps only counters: records read, records taken
into batches, when the batching window opened. The arrival time of the n-th
record is computed when needed (a batch's first and last).

It applies the same rules as the exact lane, not a copy of their logic where it
can avoid it:

* the number of records per batch comes from
  :func:`cdk_streams.streams.batching.cut` (batch size and the 6 MB payload),
  with every record of the same size (the approximation: real records vary);
* when a batch may fail (it holds a poison record) or is partly older than
  ``max_record_age``, its records are built as small dicts and delivered by the
  stream package's :class:`~cdk_streams.streams.delivery.ShardDelivery` on the
  lane's clock, exactly as in the exact lane;
* a batch that cannot fail is one successful invocation: its records are
  counted as delivered and succeeded, as ``ShardDelivery`` would count them;
  a batch wholly older than ``max_record_age`` is skipped with one on-failure
  record and no invocation, as ``ShardDelivery`` skips it.

What the aggregate path does not know: individual keys (records spread evenly
over the lanes), and sizes per record. Per-record latencies are not kept.
"""

from __future__ import annotations

import contextlib
import math
import random
from bisect import bisect_left, bisect_right
from collections import deque
from itertools import accumulate
from typing import Any

from ..streams.batching import cut
from ..streams.delivery import Stopped
from ..streams.on_failure import RECORD_AGE_EXCEEDED, FailedBatch
from ..streams.records import epoch_seconds
from ..streams.settings import MappingConfig
from .clock import EPOCH, VirtualClock
from .handler_model import HandlerModel, modelled_delivery
from .metrics import LaneMark, Recorder
from .polling import READ_LIMIT, RETENTION


class AggregateLane:
    """One lane (or ``weight`` identical lanes) of a shard, as counts.

    :param arrivals: writes per second of this lane, from virtual second ``start_second``.
    :param record_bytes: the size of one record in the invocation payload.
    :param rng: draws the poison records; None when the function never fails.
    :param weight: the identical lanes this one stands for.
    :param mark: the lane's concurrency mark, continued from its parent lane's.
    """

    def __init__(
        self,
        config: MappingConfig,
        shard_id: str,
        arrivals: list[int],
        start_second: int,
        model: HandlerModel,
        recorder: Recorder,
        *,
        clock: VirtualClock,
        until: float,
        record_bytes: int,
        rng: random.Random | None,
        weight: int = 1,
        read_limit: int = READ_LIMIT,
        mark: LaneMark | None = None,
    ) -> None:
        self.clock = clock
        self.weight = weight
        self._config = config
        self._model = model
        self._recorder = recorder
        self.mark = mark or LaneMark()
        #: Records skipped because they passed ``max_record_age``.
        self.too_old = 0
        self._counts = arrivals
        self._start = start_second
        self._cumulative = [0, *accumulate(arrivals)]
        self.total = self._cumulative[-1]
        self._read_limit = read_limit
        self._batch_size = config.batch_size
        self._window = config.max_batching_window
        self.per_batch = cut([record_bytes] * config.batch_size, batch_size=config.batch_size)
        self._rng = rng
        self._log_keep = math.log(1 - model.failure_rate) if model.failure_rate else 0.0
        self._known_poison = sorted(model.poison_writes)
        #: The first record not read yet; records before it were read or trimmed.
        self.next_unread = 0
        self._segments: deque[list[int]] = deque()
        self._buffered = 0
        self.expired = 0
        self._opened_at: float | None = None
        self._poison: set[str] = set()
        self.delivery = modelled_delivery(
            config,
            shard_id,
            model,
            clock,
            until=until,
            is_poison=self._poison.__contains__,
            observe=self._observe,
            send_on_failure=self._sent,
        )

    # --- the arrival function ------------------------------------------------------

    def arrived_by(self, t: float) -> int:
        """How many records arrived at or before ``t``."""
        offset = math.floor(t) - self._start
        if offset < 0:
            return 0
        if offset >= len(self._counts):
            return self.total
        n = self._counts[offset]
        if n == 0:
            return self._cumulative[offset]
        second = self._start + offset
        j = min(n - 1, int((t - second) * n))
        # The same float arithmetic as traffic.arrival_times: second + j / n.
        while j >= 0 and second + j / n > t:
            j -= 1
        while j + 1 < n and second + (j + 1) / n <= t:
            j += 1
        return self._cumulative[offset] + j + 1

    def arrival(self, index: int) -> float:
        """When the ``index``-th record (from 0) arrived."""
        offset = bisect_right(self._cumulative, index) - 1
        return self._start + offset + (index - self._cumulative[offset]) / self._counts[offset]

    def arrived(self, until: float) -> int:
        """Records that arrived before ``until``."""
        if until == math.inf:
            return self.total
        count = self.arrived_by(until)
        while count and self.arrival(count - 1) >= until:
            count -= 1
        return count

    # --- the Lane protocol ----------------------------------------------------------

    @property
    def buffered(self) -> int:
        return self._buffered

    def read(self, now: float) -> int:
        trimmed = self.arrived_by(now - RETENTION)
        if trimmed > self.next_unread:
            # Unread records older than the retention are gone; those already read stay.
            self.expired += trimmed - self.next_unread
            self.next_unread = trimmed
        if self._buffered >= self._batch_size:
            return 0
        new = min(self.arrived_by(now) - self.next_unread, self._read_limit)
        if new <= 0:
            return 0
        if self._buffered == 0:
            self._opened_at = now
        segments = self._segments
        if segments and segments[-1][1] == self.next_unread:
            segments[-1][1] += new
        else:
            segments.append([self.next_unread, self.next_unread + new])
        self.next_unread += new
        self._buffered += new
        return new

    def due(self, now: float) -> bool:
        buffered = self._buffered
        if buffered == 0:
            return False
        if buffered >= self._batch_size or buffered > self.per_batch:
            return True
        return self.due_in(now) == 0.0

    def due_in(self, now: float) -> float | None:
        if self._buffered == 0 or self._opened_at is None:
            return None
        return max(0.0, self._window - (now - self._opened_at))

    def next_arrival(self) -> float | None:
        return self.arrival(self.next_unread) if self.next_unread < self.total else None

    def _take(self, n: int) -> list[tuple[int, int]]:
        """The next ``n`` buffered records, as index ranges (more than one only after a trim)."""
        ranges = []
        left = n
        segments = self._segments
        while left:
            segment = segments[0]
            k = min(left, segment[1] - segment[0])
            ranges.append((segment[0], segment[0] + k))
            segment[0] += k
            left -= k
            if segment[0] == segment[1]:
                segments.popleft()
        self._buffered -= n
        return ranges

    def deliver_next(self) -> None:
        now = self.clock.now
        n = min(self._buffered, self.per_batch)
        ranges = self._take(n)
        first, last = ranges[0][0], ranges[-1][1] - 1
        self._opened_at = now if self._buffered else None
        limit = self._config.max_record_age
        if limit is not None and self._older_than(first, limit):
            if self._older_than(last, limit):
                self._skip(n)
            else:
                self._deliver_records(ranges, self._poison_in(ranges, n))
            return
        poison = self._poison_in(ranges, n)
        if poison:
            self._deliver_records(ranges, poison)
            return
        self.clock.advance(self._model.duration(n, now))
        self._recorder.invocation(
            self.mark, now, self.clock.now, n, now - self.arrival(last), self.weight
        )
        counts = self.delivery.counts
        counts.invocations += 1
        counts.delivered += n
        counts.succeeded += n
        counts.by_event["INSERT"] += n

    # --- the rare paths through ShardDelivery --------------------------------------

    def _older_than(self, index: int, limit: float) -> bool:
        # ShardDelivery compares with the record's whole-second creation time.
        return self.clock.epoch_seconds() - epoch_seconds(EPOCH + self.arrival(index)) > limit

    def _skip(self, n: int) -> None:
        self.too_old += n
        counts = self.delivery.counts
        counts.failed += n
        if self._config.on_failure is not None:
            counts.sent_to_on_failure += n
            counts.on_failure_messages += 1

    def _poison_in(self, ranges: list[tuple[int, int]], n: int) -> set[int]:
        """The indexes of the poison records in a batch of ``n`` records."""
        known = self._known_poison
        poison = {
            known[i]
            for low, high in ranges
            for i in range(bisect_left(known, low), bisect_left(known, high))
        }
        if self._rng is None or not self._log_keep:
            return poison
        position = -1
        while True:
            # Geometric gaps between poison records: one draw per poison record, not per record.
            position += 1 + int(math.log(1.0 - self._rng.random()) / self._log_keep)
            if position >= n:
                return poison
            offset = position
            for low, high in ranges:
                if offset < high - low:
                    poison.add(low + offset)
                    break
                offset -= high - low

    def _deliver_records(self, ranges: list[tuple[int, int]], poison: set[int]) -> None:
        self._poison.clear()
        self._poison.update(str(index) for index in poison)
        # Not streams.records.stream_record: the lane knows no keys or sizes, and a full
        # record costs ~6x these stand-ins, which hold just what ShardDelivery reads
        # (the DYNAMODB record shape's sequence number, creation time and event name).
        batch = [
            {
                "eventName": "INSERT",
                "dynamodb": {
                    "SequenceNumber": str(index),
                    "ApproximateCreationDateTime": epoch_seconds(EPOCH + self.arrival(index)),
                },
            }
            for low, high in ranges
            for index in range(low, high)
        ]
        # When the simulated time is up mid-batch, the rest stays unprocessed.
        with contextlib.suppress(Stopped):
            self.delivery.deliver(batch)

    def _observe(self, start: float, end: float, records: list[dict[str, Any]], ok: int) -> None:
        last = int(records[-1]["dynamodb"]["SequenceNumber"])
        self._recorder.invocation(
            self.mark, start, end, len(records), start - self.arrival(last), self.weight
        )

    def _sent(self, arn: str, batch: FailedBatch) -> None:
        """On-failure records are counted (by ShardDelivery), not kept."""
        if batch.condition == RECORD_AGE_EXCEEDED:
            self.too_old += len(batch.records)
