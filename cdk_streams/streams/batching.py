"""When Lambda cuts a shard's batch: the batch is full, the batching window has
passed, or the payload would pass 6 MB.

Pure and clock-free: every method that depends on time takes ``now`` (seconds
on any monotonic scale, real or virtual), so a poller and a simulator cut the
same batches from the same records at the same moments.

    buffer = BatchBuffer(batch_size=10, max_batching_window=1.0)
    buffer.add(record, now=0.0)
    if buffer.due(now=0.4):
        batch = buffer.take(now=0.4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .records import record_size

#: Lambda's limit on a synchronous invocation payload (6 MB).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: The payload around the records: ``{"Records":[]}``.
EMPTY_PAYLOAD_BYTES = len('{"Records":[]}')


def cut(
    sizes: Sequence[int], *, batch_size: int, max_payload_bytes: int = MAX_PAYLOAD_BYTES
) -> int:
    """How many of the buffered records (their payload sizes, in order) the next batch takes.

    At most ``batch_size``, and no more than fit in ``max_payload_bytes``; but
    always at least one when any is buffered, so an oversized record is still
    delivered (and fails as the invocation would) instead of blocking its shard.
    """
    total = EMPTY_PAYLOAD_BYTES
    taken = 0
    for size in sizes[:batch_size]:
        if taken and total + size > max_payload_bytes:
            break
        total += size
        taken += 1
    return taken


@dataclass
class BatchBuffer:
    """The records one shard has read and not yet delivered, and when to cut them.

    :param batch_size: records per batch at most (``batch_size``).
    :param max_batching_window: seconds to wait for a batch to fill, counted
        from the first buffered record (``max_batching_window``).
    :param max_payload_bytes: the invocation payload limit. @default 6 MB.
    """

    batch_size: int
    max_batching_window: float
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    records: list[dict[str, Any]] = field(default_factory=list)
    #: When the batching window opened (the oldest buffered record's arrival), or None.
    opened_at: float | None = None
    _sizes: list[int] = field(default_factory=list, repr=False)
    _bytes: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.max_batching_window < 0:
            raise ValueError(
                f"max_batching_window must be 0 or more seconds, got {self.max_batching_window}"
            )

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: dict[str, Any], *, now: float) -> None:
        """Buffer one record read at ``now``; the first one opens the window."""
        if not self.records:
            self.opened_at = now
        size = record_size(record)
        self.records.append(record)
        self._sizes.append(size)
        self._bytes += size

    @property
    def full(self) -> bool:
        """The next batch can take no more: batch size reached, or the payload limit."""
        if len(self.records) >= self.batch_size:
            return True
        if EMPTY_PAYLOAD_BYTES + self._bytes <= self.max_payload_bytes:
            return False
        return self._next_cut() < len(self.records)

    def due(self, *, now: float) -> bool:
        """Whether Lambda would invoke now: records wait, and the batch is full or the
        window has passed."""
        if not self.records:
            return False
        return self.full or self.due_in(now=now) == 0.0

    def due_in(self, *, now: float) -> float | None:
        """Seconds until the window ends (0 when it has), None when nothing is buffered."""
        if not self.records or self.opened_at is None:
            return None
        return max(0.0, self.max_batching_window - (now - self.opened_at))

    def take(self, *, now: float) -> list[dict[str, Any]]:
        """Cut the next batch; records left over open a new window at ``now``."""
        taken = self._next_cut()
        batch = self.records[:taken]
        self._bytes -= sum(self._sizes[:taken])
        del self.records[:taken]
        del self._sizes[:taken]
        self.opened_at = now if self.records else None
        return batch

    def _next_cut(self) -> int:
        return cut(
            self._sizes, batch_size=self.batch_size, max_payload_bytes=self.max_payload_bytes
        )
