"""Write traffic on a table: how many writes per second at each moment.

Three shapes: :class:`Steady`, :class:`Spike` (a steady base with a burst) and
:class:`DailyCurve` (a sine wave over a day). Any object with a
``rate(t) -> writes per second`` method is :class:`Traffic`.

:func:`arrivals_per_second` turns a rate into whole writes per second of
virtual time (the fractions carried over, so 0.5 writes/s gives one write every
other second), and :func:`arrival_times` spreads them evenly inside each second.
The simulator and the tests that compare it with the local cloud use the same
two functions, so both see the same writes at the same moments.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


class Traffic(Protocol):
    """Writes per second on the table at virtual time ``t`` (seconds from the start)."""

    def rate(self, t: float) -> float: ...


@dataclass(frozen=True)
class Steady:
    """The same write rate all the time."""

    writes_per_second: float

    def __post_init__(self) -> None:
        _check_rate("writes_per_second", self.writes_per_second)

    def rate(self, t: float) -> float:
        return self.writes_per_second


@dataclass(frozen=True)
class Spike:
    """A steady ``base`` rate, and ``peak`` writes/s from ``start`` for ``length`` seconds."""

    base: float
    peak: float
    start: float
    length: float

    def __post_init__(self) -> None:
        _check_rate("base", self.base)
        _check_rate("peak", self.peak)
        if self.start < 0 or self.length < 0:
            raise ValueError(
                f"start and length must be 0 or more seconds, got {self.start}, {self.length}"
            )

    def rate(self, t: float) -> float:
        return self.peak if self.start <= t < self.start + self.length else self.base


@dataclass(frozen=True)
class DailyCurve:
    """A day's rhythm: ``mean`` writes/s, swinging by ``amplitude`` (0..1, a fraction of
    the mean) with the busiest moment ``peak_at`` seconds after the start."""

    mean: float
    amplitude: float = 0.5
    peak_at: float = 14 * 3600.0
    period: float = 86400.0

    def __post_init__(self) -> None:
        _check_rate("mean", self.mean)
        if not 0 <= self.amplitude <= 1:
            raise ValueError(f"amplitude must be 0..1, got {self.amplitude}")
        if self.period <= 0:
            raise ValueError(f"period must be more than 0 seconds, got {self.period}")

    def rate(self, t: float) -> float:
        phase = 2 * math.pi * (t - self.peak_at) / self.period
        return self.mean * (1 + self.amplitude * math.cos(phase))


def _check_rate(name: str, value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be 0 or more writes per second, got {value}")


def arrivals_per_second(traffic: Traffic, start: int, end: int, share: float = 1.0) -> list[int]:
    """Whole writes in each second ``start .. end-1`` for a ``share`` of the traffic.

    The rate is read in the middle of each second; fractions carry over.
    """
    counts = []
    carry = 0.0
    for second in range(start, end):
        carry += traffic.rate(second + 0.5) * share
        whole = int(carry)
        carry -= whole
        counts.append(whole)
    return counts


def arrival_times(counts: list[int], start: int = 0) -> Iterator[float]:
    """When each write arrives: the ``n`` writes of a second evenly spread from its start."""
    for offset, n in enumerate(counts):
        second = start + offset
        for j in range(n):
            yield second + j / n
