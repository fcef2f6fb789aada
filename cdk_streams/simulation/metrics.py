"""What a simulation measures: invocations, iterator age and concurrency over time.

:class:`Recorder` takes one call per invocation (its start, end, records and
iterator age) and keeps, per time bucket, the largest iterator age, the
busy lane-seconds and the lanes busy at some moment of the bucket (the peak
concurrency the bucket can have had). Iterator age percentiles come from a
histogram with 1 % wide bins, so they are exact to within 1 % at any volume.

Iterator age is Lambda's: at an invocation's start, the age of the batch's
last record. Like CloudWatch's ``IteratorAge``, it has no value while a lane
is idle.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

#: Histogram bins grow by 1 % from 1 ms.
_BIN_FLOOR = 0.001
_BIN_GROWTH = math.log(1.01)


def _bin(age: float) -> int:
    if age <= _BIN_FLOOR:
        return 0
    return 1 + int(math.log(age / _BIN_FLOOR) / _BIN_GROWTH)


def _bin_value(index: int) -> float:
    """The upper edge of a bin: a percentile is never reported below the truth."""
    return 0.0 if index == 0 else _BIN_FLOOR * math.exp(index * _BIN_GROWTH)


@dataclass
class LaneMark:
    """The last bucket a lane was counted busy in (each lane counts once per bucket)."""

    bucket: int = -1


@dataclass
class Recorder:
    """Invocation measurements over ``horizon`` seconds in buckets of ``bucket`` seconds.

    Every call takes a ``weight``: the number of identical lanes it stands for.
    """

    horizon: float
    bucket: float
    invocations: int = 0
    records_invoked: int = 0
    #: Sum over invocations of the billed duration: whole milliseconds, rounded up.
    billed_ms: int = 0
    busy_seconds: float = 0.0
    max_age: float = 0.0
    age_max: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    peak: list[int] = field(default_factory=list)
    _histogram: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.bucket <= 0:
            raise ValueError(f"bucket must be more than 0 seconds, got {self.bucket}")
        buckets = max(1, math.ceil(self.horizon / self.bucket))
        self.age_max = [0.0] * buckets
        self.busy = [0.0] * buckets
        self.peak = [0] * buckets

    def invocation(
        self, mark: LaneMark, start: float, end: float, records: int, age: float, weight: int
    ) -> None:
        self.invocations += weight
        self.records_invoked += records * weight
        self.billed_ms += math.ceil((end - start) * 1000 - 1e-9) * weight
        self.busy_seconds += (end - start) * weight
        self._histogram[_bin(age)] += weight
        if age > self.max_age:
            self.max_age = age
        last = len(self.age_max) - 1
        first = int(start / self.bucket)
        if first > last:
            return
        if age > self.age_max[first]:
            self.age_max[first] = age
        final = min(int(end / self.bucket), last)
        for index in range(max(first, mark.bucket + 1), final + 1):
            self.peak[index] += weight
        mark.bucket = max(mark.bucket, final)
        for index in range(first, final + 1):
            low, high = index * self.bucket, (index + 1) * self.bucket
            self.busy[index] += (min(end, high) - max(start, low)) * weight

    def percentile(self, fraction: float) -> float:
        """The iterator age below which ``fraction`` of the invocations started (0 when none)."""
        total = sum(self._histogram.values())
        if total == 0:
            return 0.0
        wanted = fraction * total
        seen = 0
        for index in sorted(self._histogram):
            seen += self._histogram[index]
            if seen >= wanted:
                return min(_bin_value(index), self.max_age)
        return self.max_age

    @property
    def max_concurrency(self) -> int:
        return max(self.peak, default=0)

    def mean_concurrency(self) -> list[float]:
        """Busy lanes on average in each bucket."""
        return [busy / self.bucket for busy in self.busy]
