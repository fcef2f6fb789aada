"""How a lane is polled on a virtual clock: the loop both simulated lanes run.

A lane is one of a shard's ``parallelization_factor`` concurrent batch
streams. Its loop is the local cloud's polling runner
(:class:`cdk_streams.local.runner.MappingRunner` under
:class:`~cdk_streams.local.runner.EventSourceRunner`) on a virtual clock:

* a poll reads what has arrived (no read-ahead past a full batch, at most
  ``read_limit`` records, as GetRecords returns), and polls are at least
  ``read_interval`` apart: Lambda reads a DynamoDB stream shard at most 4 times
  a second. The local runner reads again right after every invocation instead
  (``read_interval=0``), which makes more, smaller batches when the function is
  fast;
* every batch that is due (:mod:`cdk_streams.streams.batching`) is delivered
  at once, each invocation moving the clock by its duration;
* after a poll that found nothing to do, the next poll is ``poll_interval``
  later, or sooner when a batching window ends first.

Long idle stretches are skipped in one step, landing on the same poll times
the loop would have reached one poll at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from .clock import VirtualClock

#: Lambda polls a DynamoDB stream shard 4 times a second.
POLL_INTERVAL = 0.25
#: The shortest wait between polls when a batching window is about to end.
MIN_WAIT = 0.005
#: GetRecords returns at most 1000 records.
READ_LIMIT = 1000
#: Stream records are kept 24 hours; older ones are trimmed unread.
RETENTION = 86400.0


class Lane(Protocol):
    """What the polling loop needs of a simulated lane."""

    clock: VirtualClock

    @property
    def buffered(self) -> int:
        """Records read and not yet taken into a batch."""
        ...

    def read(self, now: float) -> int:
        """Poll: buffer what has arrived by ``now``; return how many records were read."""
        ...

    def due(self, now: float) -> bool:
        """Whether the buffered records make a batch now."""
        ...

    def due_in(self, now: float) -> float | None:
        """Seconds until the batching window ends; None when nothing is buffered."""
        ...

    def deliver_next(self) -> None:
        """Cut the next batch and deliver it to completion (the clock moves)."""
        ...

    def next_arrival(self) -> float | None:
        """When the first record not yet read arrives; None when none will."""
        ...


@dataclass(frozen=True)
class LaneEnd:
    """How a lane's loop ended."""

    #: When its last record was handled; None when records were left (``until`` came first).
    finished_at: float | None


def run_lane(
    lane: Lane,
    *,
    until: float,
    poll_interval: float = POLL_INTERVAL,
    read_interval: float = POLL_INTERVAL,
) -> LaneEnd:
    """Poll ``lane`` from its clock's time until it has nothing left or ``until`` comes."""
    clock = lane.clock
    next_read = -math.inf
    while clock.now < until:
        read = 0
        if clock.now >= next_read:
            read = lane.read(clock.now)
            next_read = clock.now + read_interval
        delivered = False
        while clock.now < until and lane.due(clock.now):
            lane.deliver_next()
            delivered = True
        if read or delivered:
            continue
        upcoming = lane.next_arrival()
        if lane.buffered == 0 and upcoming is None:
            return LaneEnd(clock.now)
        due = lane.due_in(clock.now)
        wait = poll_interval if due is None else min(poll_interval, max(due, MIN_WAIT))
        if next_read > clock.now:
            wait = min(wait, next_read - clock.now)
        elif due is None and upcoming is not None and upcoming > clock.now + wait:
            clock.now += (math.ceil((upcoming - clock.now) / wait) - 1) * wait
        clock.now += wait
    return LaneEnd(None)
