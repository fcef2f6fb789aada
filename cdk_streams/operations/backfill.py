"""Backfill a stream consumer with the items a table already holds.

A consumer added to an existing table sees only changes from its start on.
:class:`Backfill` scans the table in parallel (``Segment`` / ``TotalSegments``),
turns each item into a Lambda INSERT record in the table's stream view type
(:mod:`.backfill_records`, marked ``cdkStreamsBackfill``), and delivers them
to the target in batches with the same failure rules as a mapping:

* a batch's partial-batch response is read with Lambda's rule; the records
  before the first failed one succeeded;
* a function error bisects the batch until the failing item is alone;
* a failing item is retried ``retry_attempts`` times, then reported with its
  keys, and the rest of its segment goes on; other segments are never stopped
  by it (``fail_fast`` stops everything instead).

Each segment checkpoints after every page (:mod:`.checkpoint`); ``resume``
continues where a killed run stopped.

The hand-off to the live stream: create the mapping first (its records start
then), then backfill. An item changed during the backfill reaches the consumer
twice, from the scan and from the stream, so the handler must be idempotent on
the item's keys; nothing is lost.

Read cost: a Scan reads every item once: about one read capacity unit per
8 KB (eventually consistent), i.e. table size / 8 KB RCUs, billed as on-demand
read request units or taken from provisioned capacity.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..streams.delivery import halves
from ..streams.partial_batch import split_at_failure
from ..streams.records import DYNAMODB
from .backfill_records import backfill_record, item_keys
from .checkpoint import Checkpoints, SegmentState
from .errors import OperationError
from .item_pages import ExportPages, ItemPages, ScanPages, export_location
from .progress import ProgressMeter
from .targets import Target, check_batch_size, first_failure

#: Bytes of table per scan segment when the segment count is left to the table's size.
BYTES_PER_SEGMENT = 1024**3
#: DynamoDB's limit on TotalSegments.
MAX_SEGMENTS = 1_000_000
#: Segments scanned at once at most, by default.
DEFAULT_CONCURRENCY = 8


def default_segments(table_size_bytes: int) -> int:
    """One segment per GB of table, at least one."""
    return max(1, min(MAX_SEGMENTS, math.ceil(table_size_bytes / BYTES_PER_SEGMENT)))


def check_settings(
    *,
    segments: int | None,
    concurrency: int | None,
    batch_size: int,
    retry_attempts: int,
    from_export: str | None,
) -> None:
    """Refuse settings :class:`Backfill` cannot run with (its parameters of the same
    names), without any AWS call: the CLI checks them before the region.

    :raises OperationError: what is wrong, naming the CLI's option.
    """
    check_batch_size(batch_size)
    if segments is not None and not 1 <= segments <= MAX_SEGMENTS:
        raise OperationError(f"--segments must be 1..{MAX_SEGMENTS}, got {segments}")
    if concurrency is not None and concurrency < 1:
        raise OperationError(f"--concurrency must be at least 1, got {concurrency}")
    if from_export is not None:
        if segments is not None:
            raise OperationError(
                "--segments does not apply with --from-export: each export data file is a segment"
            )
        export_location(from_export)
    if retry_attempts < 0:
        raise OperationError(f"--retry-attempts must be 0 or more, got {retry_attempts}")


class _FailFast(Exception):
    pass


@dataclass
class BackfillReport:
    """What one backfill run did (this run only; the checkpoint holds the totals)."""

    table: str
    segments: int
    items: int = 0
    succeeded: int = 0
    #: Items given up on: ``{"keys": {...}, "error": "..."}``.
    failed: list[dict[str, Any]] = field(default_factory=list)
    batches: int = 0
    invocations: int = 0
    #: Segments already finished by an earlier run.
    skipped_segments: int = 0
    seconds: float = 0.0
    stopped: bool = False
    checkpoint: Path | None = None

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        text = (
            f"backfill of {self.table}: {self.items} item(s) in {self.batches} batch(es) over "
            f"{self.segments} segment(s), {self.succeeded} succeeded, {len(self.failed)} failed, "
            f"{self.items_per_second:.0f} items/s"
        )
        if self.skipped_segments:
            text += f"; {self.skipped_segments} segment(s) already done"
        if self.stopped:
            text += f"; STOPPED: resume with --resume (checkpoint {self.checkpoint})"
        return text


class Backfill:
    """One backfill of one table into one target.

    :param clients: returns a boto3 client for a service name (``dynamodb``).
    :param table_name: the table to scan.
    :param target: a deployed function or a local handler.
    :param segments: the scan's TotalSegments. @default - one per GB of table
        (at least one); on resume, the checkpoint's.
    :param concurrency: segments scanned (and targets invoked) at once.
        @default min(segments, 8).
    :param batch_size: items per invocation, 1..10000 (also the scan page
        size, so a checkpoint falls on every batch). @default 100.
    :param checkpoint: the checkpoint file. @default
        ``.cdk-streams/backfill-<table>.json``.
    :param resume: continue from the checkpoint. Without it an unfinished
        checkpoint is refused, not overwritten. @default False.
    :param retry_attempts: retries of a failing item before it is reported.
        @default 2.
    :param fail_fast: stop every segment at the first item given up on.
        @default False.
    :param progress: receives progress lines. @default - none.
    :param progress_every: seconds between progress lines. @default 5.
    :param clock: monotonic seconds (rate, ETA). @default time.monotonic.
    :param wall_clock: epoch seconds, the records' ``ApproximateCreationDateTime``.
        @default time.time.
    :param stop: set it to stop after each segment's current batch (Ctrl-C).
        @default - a new event.
    :param from_export: ``s3://bucket/prefix`` of a DynamoDB export of the table
        (DynamoDB JSON) to read instead of scanning: no read capacity used, one
        segment per data file. @default - scan the table.
    """

    def __init__(
        self,
        clients: Callable[[str], Any],
        table_name: str,
        target: Target,
        *,
        segments: int | None = None,
        concurrency: int | None = None,
        batch_size: int = 100,
        checkpoint: str | Path | None = None,
        resume: bool = False,
        retry_attempts: int = 2,
        fail_fast: bool = False,
        progress: Callable[[str], None] | None = None,
        progress_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        stop: threading.Event | None = None,
        from_export: str | None = None,
    ) -> None:
        check_settings(
            segments=segments,
            concurrency=concurrency,
            batch_size=batch_size,
            retry_attempts=retry_attempts,
            from_export=from_export,
        )
        self._dynamodb = clients("dynamodb")
        self.table_name = table_name
        self.target = target
        self.batch_size = batch_size
        self.retry_attempts = retry_attempts
        self.fail_fast = fail_fast
        self._progress = progress or (lambda line: None)
        self._progress_every = progress_every
        self._clock = clock
        self._wall = wall_clock
        self.stop = stop or threading.Event()
        self._lock = threading.Lock()
        self.checkpoint_path = Path(
            checkpoint
            if checkpoint is not None
            else Path(".cdk-streams") / f"backfill-{table_name}.json"
        )

        table = self._describe()
        schema = sorted(table["KeySchema"], key=lambda k: k["KeyType"] != "HASH")
        self.key_names = [k["AttributeName"] for k in schema]
        self.stream_arn = table.get("LatestStreamArn")
        spec = table.get("StreamSpecification") or {}
        if not self.stream_arn or not spec.get("StreamEnabled", True):
            raise OperationError(
                f"table {table_name} has no stream: a backfill feeds a stream consumer; "
                "enable the stream (StreamTable does) and create the mapping first"
            )
        # Before the scan and the checkpoint: a wrong --function would otherwise
        # surface only at the first Invoke, after the scan's first pages have cost
        # read units, and leave an unfinished checkpoint behind. Asked of the
        # target's own client: the one that will invoke it.
        target.check()
        self.view_type = str(spec.get("StreamViewType") or "NEW_AND_OLD_IMAGES")
        self.expected_items = int(table.get("ItemCount") or 0) or None
        export = ExportPages(clients("s3"), from_export) if from_export is not None else None
        self.checkpoints = self._checkpoints(
            resume,
            export.segments if export is not None else segments,
            int(table.get("TableSizeBytes") or 0),
            from_export or "scan",
        )
        self.segments = self.checkpoints.total_segments
        self.pages: ItemPages = (
            export if export is not None else ScanPages(self._dynamodb, table_name, self.segments)
        )
        self.concurrency = concurrency or min(self.segments, DEFAULT_CONCURRENCY)

    def _describe(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        from ..streams.aws_errors import NOT_FOUND, error_code

        try:
            return self._dynamodb.describe_table(TableName=self.table_name)["Table"]
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                raise OperationError(
                    f"--table {self.table_name}: no such table in this account and region"
                ) from error
            raise

    def _checkpoints(
        self, resume: bool, segments: int | None, size: int, source: str
    ) -> Checkpoints:
        path = self.checkpoint_path
        if resume:
            found = Checkpoints.load(path)
            if found.source != source:
                raise OperationError(
                    f"--resume: {path} is a checkpoint of a backfill from {found.source}, "
                    f"not from {source}"
                )
            if found.table != self.table_name:
                raise OperationError(
                    f"--resume: {path} is a checkpoint of table {found.table}, "
                    f"not {self.table_name}"
                )
            if segments is not None and segments != found.total_segments:
                raise OperationError(
                    f"--resume: the checkpoint used --segments {found.total_segments}, "
                    f"got {segments}; leave --segments out to resume"
                )
            return found
        if path.exists():
            try:
                unfinished = not Checkpoints.load(path).finished
            except OperationError:
                unfinished = True
            if unfinished:
                raise OperationError(
                    f"an unfinished backfill checkpoint exists at {path}: pass --resume to "
                    "continue it, or delete the file to start over"
                )
        fresh = Checkpoints(
            path,
            table=self.table_name,
            total_segments=segments or default_segments(size),
            source=source,
        )
        fresh.save()
        return fresh

    # -- run -------------------------------------------------------------------

    def run(self) -> BackfillReport:
        """Scan and deliver every segment not yet done; return what this run did.

        An exception other than a failing handler (a lost connection, an
        injected crash) stops every segment after its current batch and is
        raised; the checkpoint then holds every finished page.
        """
        report = BackfillReport(self.table_name, self.segments, checkpoint=self.checkpoint_path)
        meter = ProgressMeter(
            "items",
            report=lambda line: self._progress(f"backfill {self.table_name}: {line}"),
            clock=self._clock,
            total=self.expected_items,
            every=self._progress_every,
            # A resumed run counts what the checkpoint says is done already.
            earlier=self.checkpoints.items,
            earlier_failed=self.checkpoints.failed_items,
        )
        todo = [n for n, s in sorted(self.checkpoints.segments.items()) if not s.done]
        report.skipped_segments = self.segments - len(todo)
        self._progress(
            f"backfill {self.table_name}: {len(todo)} of {self.segments} segment(s) to scan, "
            f"{self.concurrency} at a time, batches of {self.batch_size} to {self.target.name}"
        )
        started = self._clock()
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self._segment, n, report, meter) for n in todo]
            for future in futures:
                try:
                    future.result()
                except _FailFast:
                    report.stopped = True
                except BaseException as error:
                    if not self.stop.is_set() and isinstance(error, KeyboardInterrupt):
                        self._progress(
                            f"backfill {self.table_name}: stopping after the batches in flight"
                        )
                    self.stop.set()
                    errors.append(error)
        report.seconds = self._clock() - started
        if self.stop.is_set() and not self.checkpoints.finished:
            report.stopped = True
        self._progress(f"backfill {self.table_name}: {meter.line()}")
        if errors:
            raise errors[0]
        return report

    def _segment(self, segment: int, report: BackfillReport, meter: ProgressMeter) -> None:
        state = self.checkpoints.segments[segment]
        state = SegmentState(state.start_key, state.items, state.done, list(state.failed))
        while not state.done and not self.stop.is_set():
            items, position = self.pages.page(segment, state.start_key, self.batch_size)
            created = float(int(self._wall()))
            records = [
                backfill_record(
                    item,
                    key_names=self.key_names,
                    stream_arn=str(self.stream_arn),
                    view_type=self.view_type,
                    segment=segment,
                    position=state.items + index,
                    created=created,
                )
                for index, item in enumerate(items)
            ]
            failures: list[dict[str, Any]] = []
            invocations = [0]
            try:
                succeeded = self._deliver(records, failures, invocations) if records else 0
            finally:
                with self._lock:
                    report.failed += failures
                    report.invocations += invocations[0]
            state.items += len(records)
            state.failed += failures
            state.start_key = position
            state.done = state.start_key is None
            self.checkpoints.save(segment, state)
            with self._lock:
                report.items += len(records)
                report.succeeded += succeeded
                report.batches += 1 if records else 0
            meter.add(len(records), len(failures))

    def _deliver(
        self, records: list[dict[str, Any]], failures: list[dict[str, Any]], calls: list[int]
    ) -> int:
        """Deliver records to completion: succeeded or given up on. Returns the successes.

        The partial batch rule and the halving are the mapping's
        (:class:`~cdk_streams.streams.delivery.ShardDelivery`); the retry
        budget and the giving up are not, on purpose. A backfill reports items,
        not batches: the budget is per item (progress past a failure starts it
        afresh, halves start afresh), only the failing item is given up on and
        the rest goes on, and a function error is always halved down to the
        item, while a reported failure already names it.
        """
        succeeded = 0
        attempts = 0
        while records:
            calls[0] += 1
            failed_at, outcome = first_failure(self.target, records, DYNAMODB)
            done, rest = split_at_failure(records, failed_at)
            succeeded += len(done)
            if not rest:
                return succeeded
            if done:
                records, attempts = rest, 0
                continue
            if not outcome.ok and len(records) > 1:
                # A function error names no record: halve the batch to find it.
                first, second = halves(records)
                return (
                    succeeded
                    + self._deliver(first, failures, calls)
                    + self._deliver(second, failures, calls)
                )
            attempts += 1
            if attempts <= self.retry_attempts:
                continue
            error = getattr(outcome, "error", None)
            reason = (
                f"{error.get('errorType')}: {error.get('errorMessage')}"
                if isinstance(error, dict)
                else "reported in batchItemFailures"
            )
            failures.append({"keys": item_keys(records[0]), "error": reason})
            self._progress(
                f"backfill {self.table_name}: item {item_keys(records[0])} failed "
                f"{attempts} time(s), skipped: {reason}"
            )
            if self.fail_fast:
                self.stop.set()
                raise _FailFast
            records, attempts = records[1:], 0
        return succeeded
