"""How many stream shards a table has, from its traffic and size, and how they split.

A DynamoDB stream has about one shard per table partition. AWS documents a
partition's limits as 1,000 write units/s, 3,000 read units/s and 10 GB: a
write costs one write unit per started KB of the item, a strongly consistent
read one read unit per started 4 KB (half that for an eventually consistent
read). The partitions needed are therefore

    max(ceil(writes/s * ceil(item KB) / 1000 + reads/s * read units / 3000),
        ceil(table GB / 10), 1)

Partitions only ever split, never merge. :meth:`ShardModel.spans` re-assesses
the count every ``check_every`` seconds against the busiest second of that
interval; when it grows, every open shard closes and a new generation opens
(shard ``j`` of the new generation descends from shard ``j mod n`` of the old
one). That is a simplification: DynamoDB splits only the hot partitions, and
also rolls shards over every few hours without a split. What it keeps is what
matters for delivery: a child shard's records wait until its parent is done.
Writes spread evenly over the open shards (many keys, none hot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .traffic import Traffic

#: AWS's per-partition limits (DynamoDB developer guide, "Partitions and data distribution").
WRITE_UNITS_PER_PARTITION = 1000
READ_UNITS_PER_PARTITION = 3000
GB_PER_PARTITION = 10.0


def write_units(item_kb: float) -> int:
    """Write units one write of an item this size costs: one per started KB."""
    return max(1, math.ceil(item_kb))


def read_units(item_kb: float, *, strongly_consistent: bool = True) -> float:
    """Read units one read costs: one per started 4 KB, half when eventually consistent."""
    units = max(1, math.ceil(item_kb / 4))
    return units if strongly_consistent else units / 2


def partitions_for(
    writes_per_second: float,
    item_kb: float,
    *,
    reads_per_second: float = 0.0,
    table_gb: float = 0.0,
) -> int:
    """The partitions (and so stream shards) a table needs for this load and size."""
    if writes_per_second < 0 or reads_per_second < 0:
        raise ValueError(
            f"rates must be 0 or more per second, got writes {writes_per_second}, "
            f"reads {reads_per_second}"
        )
    if item_kb <= 0:
        raise ValueError(f"item_kb must be more than 0, got {item_kb}")
    if table_gb < 0:
        raise ValueError(f"table_gb must be 0 or more, got {table_gb}")
    throughput = (
        writes_per_second * write_units(item_kb) / WRITE_UNITS_PER_PARTITION
        + reads_per_second * read_units(item_kb) / READ_UNITS_PER_PARTITION
    )
    # The epsilon keeps 1000.0000001 units (float noise) from asking for a second partition.
    return max(1, math.ceil(throughput - 1e-9), math.ceil(table_gb / GB_PER_PARTITION - 1e-9))


@dataclass(frozen=True)
class ShardSpan:
    """One stream shard: open from ``opens`` to ``closes`` (virtual seconds), taking
    ``share`` of the table's writes meanwhile."""

    shard_id: str
    parent_id: str | None
    opens: int
    closes: int
    share: float
    generation: int


@dataclass(frozen=True)
class ShardModel:
    """A table's partitions over time.

    :param item_kb: the size of a written item, in KB.
    :param reads_per_second: table reads, which take partition capacity too. @default 0.
    :param table_gb: the table's size; every 10 GB is a partition. @default 0.
    :param check_every: seconds between re-assessments of the partition count.
        @default 60.
    """

    item_kb: float
    reads_per_second: float = 0.0
    table_gb: float = 0.0
    check_every: int = 60

    def __post_init__(self) -> None:
        partitions_for(
            0, self.item_kb, reads_per_second=self.reads_per_second, table_gb=self.table_gb
        )
        if self.check_every < 1:
            raise ValueError(f"check_every must be 1 or more seconds, got {self.check_every}")

    def partitions_at(self, writes_per_second: float) -> int:
        return partitions_for(
            writes_per_second,
            self.item_kb,
            reads_per_second=self.reads_per_second,
            table_gb=self.table_gb,
        )

    def spans(self, traffic: Traffic, duration: int) -> list[ShardSpan]:
        """The shards open during ``duration`` seconds of ``traffic``, by generation."""
        end = max(duration, 1)
        # Each generation: when it opens and how many shards it has.
        generations: list[tuple[int, int]] = []
        for opens in range(0, end, self.check_every):
            window = range(opens, min(opens + self.check_every, end))
            peak = max(traffic.rate(second + 0.5) for second in window)
            needed = self.partitions_at(peak)
            if not generations or needed > generations[-1][1]:
                generations.append((opens, needed))
        spans: list[ShardSpan] = []
        parents: list[str] = []
        for generation, (opens, count) in enumerate(generations):
            last = generation + 1 == len(generations)
            closes = duration if last else generations[generation + 1][0]
            current = [
                ShardSpan(
                    shard_id=f"shardId-{generation:04d}-{j:05d}",
                    parent_id=parents[j % len(parents)] if parents else None,
                    opens=opens,
                    closes=closes,
                    share=1.0 / count,
                    generation=generation,
                )
                for j in range(count)
            ]
            spans.extend(current)
            parents = [span.shard_id for span in current]
        return spans
