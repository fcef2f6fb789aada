"""The virtual clock a simulated lane runs on."""

from __future__ import annotations

#: Epoch seconds of virtual time 0 (2027-01-15): what record arrival times and
#: on-failure timestamps are written against. Whole seconds, as DynamoDB writes them.
EPOCH = 1_800_000_000.0


class VirtualClock:
    """Seconds of virtual time since the start; only the simulation moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def epoch_seconds(self) -> float:
        """Now as epoch seconds: the clock the delivery rules read record ages on."""
        return EPOCH + self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, got {seconds} s")
        self.now += seconds
