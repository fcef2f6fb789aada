"""Progress of a long operation: done so far, rate, ETA, failures, at most every few seconds."""

from __future__ import annotations

import threading
from collections.abc import Callable


class ProgressMeter:
    """Counts units of work and reports them at most every ``every`` seconds.

    :param what: the unit's name, plural ("items").
    :param total: the expected total, for the percentage and the ETA.
        @default - unknown.
    :param report: receives each progress line.
    :param clock: monotonic seconds. Pass a fake one in tests.
    :param every: seconds between lines. @default 5.
    :param earlier: units finished by an earlier run that this one resumes: they
        count toward the total, not toward this run's rate. @default 0.
    :param earlier_failed: of those, the ones that failed. @default 0.
    """

    def __init__(
        self,
        what: str,
        *,
        report: Callable[[str], None],
        clock: Callable[[], float],
        total: int | None = None,
        every: float = 5.0,
        earlier: int = 0,
        earlier_failed: int = 0,
    ) -> None:
        self.what = what
        self.earlier = earlier
        self.total = total
        self._report = report
        self._clock = clock
        self._every = every
        self._started = clock()
        self._last = self._started
        self._lock = threading.Lock()
        self.done = 0
        self.failed = 0
        self.earlier_failed = earlier_failed

    @property
    def seconds(self) -> float:
        return self._clock() - self._started

    @property
    def rate(self) -> float:
        """Units per second so far."""
        elapsed = self.seconds
        return self.done / elapsed if elapsed > 0 else 0.0

    def add(self, done: int, failed: int = 0) -> None:
        """Count finished units; report when a line is due."""
        with self._lock:
            self.done += done
            self.failed += failed
            now = self._clock()
            if now - self._last < self._every:
                return
            self._last = now
            line = self.line()
        self._report(line)

    def line(self) -> str:
        rate = self.rate
        done = self.earlier + self.done
        text = f"{done} {self.what}"
        if self.total:
            text += f" of ~{self.total} ({min(100, 100 * done // self.total)}%)"
        if self.earlier:
            text += f" ({self.earlier} by an earlier run)"
        text += f", {rate:.0f} {self.what}/s"
        if self.total and rate > 0 and done < self.total:
            text += f", ETA {(self.total - done) / rate:.0f} s"
        return text + f", {self.earlier_failed + self.failed} failed"
