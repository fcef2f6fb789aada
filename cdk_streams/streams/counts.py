"""What a mapping did with its stream's records: counts, and reports over a drain."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields


@dataclass
class MappingCounts:
    """What a mapping did with the records of its stream."""

    #: Records read from the stream.
    read: int = 0
    #: Dropped by the filters, never delivered.
    filtered: int = 0
    #: Distinct records handed to the function at least once.
    delivered: int = 0
    #: Records the function processed (checkpointed after a successful invocation).
    succeeded: int = 0
    #: Records given up on: retries exhausted or too old.
    failed: int = 0
    #: Of the failed records, those described in an on-failure record.
    sent_to_on_failure: int = 0
    #: On-failure records sent (one per skipped batch).
    on_failure_messages: int = 0
    invocations: int = 0
    function_errors: int = 0
    retries: int = 0
    bisections: int = 0
    #: Tumbling windows: final invocations (``isFinalInvokeForWindow``) sent, retries included.
    final_invocations: int = 0
    #: Tumbling windows ended early because a state passed 1 MB.
    windows_terminated_early: int = 0
    #: Succeeded records by eventName (INSERT, MODIFY, REMOVE).
    by_event: Counter[str] = field(default_factory=Counter)

    def __sub__(self, other: MappingCounts) -> MappingCounts:
        out = MappingCounts()
        for f in fields(self):
            if f.name == "by_event":
                out.by_event = self.by_event - other.by_event
            else:
                setattr(out, f.name, getattr(self, f.name) - getattr(other, f.name))
        return out

    def __add__(self, other: MappingCounts) -> MappingCounts:
        out = MappingCounts()
        for f in fields(self):
            if f.name == "by_event":
                out.by_event = self.by_event + other.by_event
            else:
                setattr(out, f.name, getattr(self, f.name) + getattr(other, f.name))
        return out

    def copy(self) -> MappingCounts:
        return self - MappingCounts()

    def __str__(self) -> str:
        events = ", ".join(f"{name} {count}" for name, count in sorted(self.by_event.items()))
        return (
            f"read {self.read}, filtered {self.filtered}, delivered {self.delivered}, "
            f"succeeded {self.succeeded}" + (f" ({events})" if events else "") + ", "
            f"failed {self.failed}, to on-failure {self.sent_to_on_failure} "
            f"in {self.on_failure_messages} message(s); "
            f"{self.invocations} invocation(s), {self.function_errors} function error(s), "
            f"{self.retries} retr{'y' if self.retries == 1 else 'ies'}, "
            f"{self.bisections} bisection(s)"
            + (
                f", {self.final_invocations} final window invocation(s)"
                if self.final_invocations
                else ""
            )
            + (
                f", {self.windows_terminated_early} window(s) ended early"
                if self.windows_terminated_early
                else ""
            )
        )


@dataclass
class MappingReport:
    """One mapping's counts over a drain."""

    uuid: str
    function_name: str
    table_name: str
    counts: MappingCounts
    #: Records read but still waiting for their batch (a batching window not
    #: over yet) when the report was made: not delivered, and not lost either.
    buffered: int = 0

    def __str__(self) -> str:
        waiting = (
            f"; {self.buffered} record(s) still in a batching window, not delivered"
            if self.buffered
            else ""
        )
        return f"{self.table_name} -> {self.function_name}: {self.counts}{waiting}"


@dataclass
class DrainReport:
    """What every mapping did during one drain (until the streams were idle)."""

    mappings: list[MappingReport]
    seconds: float

    @property
    def totals(self) -> MappingCounts:
        total = MappingCounts()
        for mapping in self.mappings:
            total = total + mapping.counts
        return total

    def for_function(self, name_part: str) -> MappingCounts:
        """The summed counts of the mappings whose function name contains ``name_part``."""
        total = MappingCounts()
        matched = False
        for mapping in self.mappings:
            if name_part in mapping.function_name:
                total, matched = total + mapping.counts, True
        if not matched:
            known = ", ".join(m.function_name for m in self.mappings) or "none"
            raise KeyError(f"no mapping's function name contains {name_part!r}; known: {known}")
        return total

    def __str__(self) -> str:
        lines = [f"drained {len(self.mappings)} mapping(s) in {self.seconds:.1f} s"]
        lines += [f"  {mapping}" for mapping in self.mappings]
        return "\n".join(lines)
