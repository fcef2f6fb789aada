"""Replay the batches a mapping skipped: from its on-failure queue or S3 objects to a target.

For each on-failure record (:mod:`.on_failure_source`):

* the records: an S3 object carries them; for an SQS or SNS record the exact
  range is fetched from the stream (:func:`.stream_range.fetch_range`);
* they are delivered to the target (:mod:`.targets`) in the mapping's batch
  size, in order, with Lambda's partial-batch rule: at the first failed record
  the message's replay stops, since later records of the same shard must not
  overtake it;
* the message is removed only when every record in it succeeded. When part of
  its range is no longer in the stream, nothing of it is delivered: the loss
  is reported (how many records, where), the message stays, and ``archive_dir``
  keeps what could still be fetched in a file that outlives the stream.

Before any delivery the plan is listed (messages, batches, records, the oldest
record's age); ``dry_run`` stops there. A second run after a fully successful
one finds nothing left.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..streams.settings import MappingConfig
from .errors import OperationError
from .on_failure_source import BatchInfo, FailureMessage, FailureSource
from .stream_range import fetch_range
from .targets import Target, check_batch_size, first_failure

#: Lambda's default batch size, used when the mapping cannot be looked up.
DEFAULT_BATCH_SIZE = 100

#: Receives one progress line.
Progress = Callable[[str], None]


@dataclass
class RedriveReport:
    """What one redrive run found and did."""

    messages: int = 0
    #: Records handed to the target at least once.
    replayed: int = 0
    succeeded: int = 0
    #: Records that failed again, or were not reached after a failure in their message.
    still_failing: int = 0
    #: Records no longer in the stream (their messages are kept).
    expired: int = 0
    #: Records still fetchable from a partly expired range: not delivered, kept with it.
    held: int = 0
    removed: int = 0
    kept: int = 0
    unreadable: int = 0
    batches: int = 0
    #: Records of the ranges that can be replayed whole (the plan).
    records: int = 0
    #: Seconds since the oldest record of the plan entered the stream (None: no records).
    oldest_age: float | None = None
    #: One line per message that could not be fully replayed: what and where.
    problems: list[str] = field(default_factory=list)
    archived: list[Path] = field(default_factory=list)
    dry_run: bool = False

    @property
    def clean(self) -> bool:
        """Nothing failed, expired or was unreadable."""
        return not (self.still_failing or self.expired or self.unreadable or self.held)

    def __str__(self) -> str:
        if self.dry_run:
            return (
                f"dry run: {self.messages} message(s), {self.batches} batch(es), "
                f"{self.records} record(s) to replay; expired {self.expired}; "
                f"{_oldest(self.oldest_age)}; nothing delivered or removed"
            )
        return (
            f"replayed {self.replayed}, succeeded {self.succeeded}, still failing "
            f"{self.still_failing}, expired {self.expired}"
            + (f" ({self.held} still fetchable held back)" if self.held else "")
            + f"; {self.removed} message(s) removed, {self.kept} kept"
            + (f", {self.unreadable} unreadable" if self.unreadable else "")
        )


def _oldest(seconds: float | None) -> str:
    """``oldest record 5 min old``, or ``no records`` when there were none."""
    return "no records" if seconds is None else f"oldest record {_age(seconds)} old"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class _Planned:
    message: FailureMessage
    info: BatchInfo
    records: list[dict[str, Any]]
    lost: int
    problem: str | None
    batch_size: int
    report_failures: bool


class Redrive:
    """One replay run from a source of on-failure records to a target.

    :param source: the SQS queue or S3 objects (:func:`.on_failure_source.parse_source`).
    :param target: a deployed function or a local handler; None only for a dry run.
    :param clients: returns a boto3 client for a service name (the streams, and
        ``lambda`` to look the mapping's batch size up).
    :param batch_size: records per invocation. @default - the mapping's, looked
        up by function and stream; 100 when it cannot be found.
    :param dry_run: list what would be replayed, deliver and remove nothing.
        @default False.
    :param archive_dir: where to write the still-fetchable records of a partly
        expired range. @default - nowhere.
    :param progress: receives progress lines. @default - none.
    :param clock: epoch seconds now, for the records' age. @default time.time.
    """

    def __init__(
        self,
        source: FailureSource,
        target: Target | None,
        clients: Callable[[str], Any],
        *,
        batch_size: int | None = None,
        dry_run: bool = False,
        archive_dir: str | Path | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if target is None and not dry_run:
            raise OperationError("a redrive needs a target (a function or a local handler)")
        # Before any message is received: a wrong --function would otherwise
        # surface at the first Invoke, with the first batch already in flight.
        if target is not None:
            target.check()
        if batch_size is not None:
            check_batch_size(batch_size)
        self.source = source
        self.target = target
        self._clients = clients
        self._batch_size = batch_size
        self.dry_run = dry_run
        self.archive_dir = Path(archive_dir) if archive_dir is not None else None
        self._progress = progress or (lambda line: None)
        self._clock = clock
        self._mappings: dict[tuple[str, str], MappingConfig | None] = {}

    # -- the mapping's settings ---------------------------------------------

    def _mapping(self, info: BatchInfo) -> MappingConfig | None:
        key = (info.function_arn or "", info.stream_arn)
        if key not in self._mappings:
            found = None
            if info.function_arn:
                try:
                    entries = self._clients("lambda").list_event_source_mappings(
                        FunctionName=info.function_arn, EventSourceArn=info.stream_arn
                    )["EventSourceMappings"]
                    found = MappingConfig.from_api(entries[0]) if entries else None
                except (ClientError, BotoCoreError):
                    found = None
            self._mappings[key] = found
        return self._mappings[key]

    # -- planning ------------------------------------------------------------

    def _plan(self, message: FailureMessage) -> _Planned | None:
        info = message.info
        if info is None:
            return None
        mapping = self._mapping(info)
        batch_size = self._batch_size or (mapping.batch_size if mapping else DEFAULT_BATCH_SIZE)
        report = mapping.report_batch_item_failures if mapping else True
        if message.records is not None:
            return _Planned(message, info, list(message.records), 0, None, batch_size, report)
        read = fetch_range(self._clients, info)
        return _Planned(message, info, read.records, read.lost, read.problem, batch_size, report)

    def run(self) -> RedriveReport:
        """List the plan, then (unless a dry run) replay it; return the report."""
        report = RedriveReport(dry_run=self.dry_run)
        plans: list[_Planned] = []
        unreadable: list[FailureMessage] = []
        self._progress(f"reading on-failure records from {self.source.description} ...")
        for message in self.source.messages():
            report.messages += 1
            plan = self._plan(message)
            if plan is None:
                unreadable.append(message)
            else:
                plans.append(plan)
        plans.sort(key=lambda p: (p.info.stream_arn, p.info.shard_id, int(p.info.start)))
        arrivals: list[float] = []
        for plan in plans:
            shape = plan.info.shape
            arrivals += [a for r in plan.records if (a := shape.arrival(r)) is not None]
            batches = -(-len(plan.records) // plan.batch_size)
            line = (
                f"  {plan.info.shard_id} {plan.info.start}..{plan.info.end}: "
                f"{len(plan.records)} record(s)"
            )
            if plan.problem is None:
                report.batches += batches
                report.records += len(plan.records)
                line += f" in {batches} batch(es) of up to {plan.batch_size}"
            else:
                line += f", {plan.lost} LOST: {plan.problem}"
            self._progress(line)
        if arrivals:
            report.oldest_age = max(0.0, self._clock() - min(arrivals))
        for message in unreadable:
            report.unreadable += 1
            report.problems.append(f"message {message.id}: unreadable: {message.problem}")
            self._progress(f"  message {message.id}: unreadable, left in place: {message.problem}")
        self._progress(
            f"found {report.messages} message(s): {report.records} record(s) in {report.batches} "
            f"batch(es); {_oldest(report.oldest_age)}"
        )
        handled = 0
        try:
            for plan in plans:
                self._handle(plan, report)
                handled += 1
        finally:
            # Also after Ctrl-C or an error: what was not handled is left in
            # place, visible again at once, for the next run.
            for message in [*unreadable, *(p.message for p in plans[handled:])]:
                self.source.release(message)
        return report

    # -- replay --------------------------------------------------------------

    def _handle(self, plan: _Planned, report: RedriveReport) -> None:
        info = plan.info
        if plan.problem is not None:
            report.expired += plan.lost
            report.held += len(plan.records)
            report.kept += 1
            report.problems.append(
                f"{info.where}: {plan.lost} record(s) lost ({plan.problem}); "
                f"{len(plan.records)} still fetchable; message {plan.message.id} left in place"
            )
            self._progress(f"  {report.problems[-1]}")
            if self.archive_dir is not None and not self.dry_run:
                report.archived.append(self._archive(plan))
            self.source.release(plan.message)
            return
        if self.dry_run or self.target is None:
            self.source.release(plan.message)
            report.kept += 1
            return
        shape = info.shape
        done = 0
        for first in range(0, len(plan.records), plan.batch_size):
            batch = plan.records[first : first + plan.batch_size]
            report.replayed += len(batch)
            failed_at, outcome = first_failure(
                self.target, batch, shape, report_batch_item_failures=plan.report_failures
            )
            if failed_at is None:
                done += len(batch)
                continue
            done += failed_at
            failing = len(plan.records) - done
            report.succeeded += done
            report.still_failing += failing
            record = batch[failed_at]
            why = "function error" if not outcome.ok else "reported in batchItemFailures"
            report.problems.append(
                f"{info.where}: record {shape.sequence(record)} failed again ({why}); "
                f"{failing} record(s) from it on not replayed; message {plan.message.id} kept"
            )
            self._progress(f"  {report.problems[-1]}")
            report.kept += 1
            self.source.release(plan.message)
            return
        report.succeeded += done
        self.source.remove(plan.message)
        report.removed += 1
        self._progress(
            f"  {info.shard_id} {info.start}..{info.end}: {done} record(s) succeeded; "
            "message removed"
        )

    def _archive(self, plan: _Planned) -> Path:
        assert self.archive_dir is not None
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        info = plan.info
        path = self.archive_dir / f"{info.shard_id}-{info.start}-{info.end}.json"
        path.write_text(
            json.dumps(
                {
                    "onFailure": plan.message.body,
                    "lost": plan.lost,
                    "problem": plan.problem,
                    "Records": plan.records,
                },
                indent=1,
            )
        )
        return path
