"""Event-source-mapping emulation: poll a stream, batch, invoke, retry, bisect, give up.

:class:`ShardDelivery` holds the rules Lambda applies to one shard's batches
(pure logic, no AWS, tested against a fake invoker); :class:`MappingRunner`
feeds it from a :class:`~cdk_streams.streams.shard_reader.ShardReader` with the
batching rules of one mapping; :class:`EventSourceRunner` runs every mapping
of an account in threads and drains them.

What a mapping's settings do here, as in Lambda:

* ``StartingPosition``: fixed when the runner starts the mapping (LATEST means
  changes after that moment).
* ``BatchSize`` / ``MaximumBatchingWindowInSeconds``: a shard's batch is
  invoked when it is full, when the window (counted from the first buffered
  record) has passed, or when it reaches the 6 MB payload limit.
* ``FilterCriteria``: records no filter matches are dropped before batching.
* ``FunctionResponseTypes: [ReportBatchItemFailures]``: the lowest reported
  sequence number is the checkpoint; records before it count as processed and
  the rest are retried. A null, empty or unknown identifier fails the batch.
* ``BisectBatchOnFunctionError``: a failing batch of more than one record is
  split in two halves, first half first; splitting uses no retry attempts.
* ``MaximumRetryAttempts`` / ``MaximumRecordAgeInSeconds``: when either runs
  out, the batch is skipped and, with ``DestinationConfig.OnFailure``, Lambda's
  on-failure record (shard and sequence range, not the records) goes to the
  SQS queue, SNS topic or S3 bucket.

Per shard, batches go one at a time and in order; a child shard waits until its
parent's records are all handled.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from ..streams.shard_reader import ShardReader
from .filters import RecordFilter
from .invoker import InvocationResult
from .shapes import RecordShape, shape_of

#: Lambda's limit on a synchronous invocation payload (6 MB).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: How often Lambda polls a DynamoDB stream shard: 4 times a second.
DEFAULT_POLL_INTERVAL = 0.25

Invoke = Callable[[dict[str, Any]], InvocationResult]
#: Sends an on-failure record: (destination ARN, the record, the invocation event).
SendOnFailure = Callable[[str, dict[str, Any], dict[str, Any]], None]


class RunnerError(RuntimeError):
    """The runner could not do its job (a failed AWS call, not a failing function)."""


class DrainTimeout(RunnerError):
    """The streams did not become idle within the time given to drain()."""


class Stopped(Exception):
    """The runner is stopping: a delivery gives up between attempts (nothing is checkpointed)."""


@dataclass(frozen=True)
class MappingConfig:
    """One event-source mapping's settings, as Lambda's API returns them.

    Defaults are Lambda's own for a DynamoDB stream mapping.
    """

    uuid: str
    function_arn: str
    event_source_arn: str
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    batching_window: float = 0.0
    record_filter: RecordFilter = field(default_factory=RecordFilter)
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    on_failure_arn: str | None = None
    enabled: bool = True

    @property
    def function_name(self) -> str:
        return self.function_arn.split(":")[6]

    @property
    def shape(self) -> RecordShape:
        """The kind of records the event source holds: DynamoDB stream or Kinesis."""
        return shape_of(self.event_source_arn)

    @property
    def table_name(self) -> str:
        return self.event_source_arn.split(":")[5].split("/")[1]

    @classmethod
    def from_api(cls, mapping: Mapping[str, Any]) -> MappingConfig:
        """From one entry of ``list_event_source_mappings()["EventSourceMappings"]``."""
        return cls(
            uuid=mapping["UUID"],
            function_arn=mapping["FunctionArn"],
            event_source_arn=mapping["EventSourceArn"],
            starting_position=mapping.get("StartingPosition") or "TRIM_HORIZON",
            batch_size=int(mapping.get("BatchSize") or 100),
            batching_window=float(mapping.get("MaximumBatchingWindowInSeconds") or 0),
            record_filter=RecordFilter.from_filter_criteria(mapping.get("FilterCriteria")),
            report_batch_item_failures="ReportBatchItemFailures"
            in (mapping.get("FunctionResponseTypes") or []),
            bisect_on_error=bool(mapping.get("BisectBatchOnFunctionError")),
            maximum_retry_attempts=int(mapping.get("MaximumRetryAttempts", -1)),
            maximum_record_age=int(mapping.get("MaximumRecordAgeInSeconds", -1)),
            on_failure_arn=(mapping.get("DestinationConfig") or {})
            .get("OnFailure", {})
            .get("Destination"),
            enabled=mapping.get("State", "Enabled") in ("Enabled", "Enabling", "Creating"),
        )


@dataclass
class MappingCounts:
    """What a mapping did with the records of its stream."""

    #: Records read from the stream.
    read: int = 0
    #: Dropped by FilterCriteria, never delivered.
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
        )


@dataclass
class MappingReport:
    """One mapping's counts over a drain."""

    uuid: str
    function_name: str
    table_name: str
    counts: MappingCounts

    def __str__(self) -> str:
        return f"{self.table_name} -> {self.function_name}: {self.counts}"


@dataclass
class DrainReport:
    """What every mapping did during one :meth:`EventSourceRunner.drain`."""

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


def _iso(epoch: float, *, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class ShardDelivery:
    """Lambda's delivery rules for the batches of one shard of one mapping.

    :param config: the mapping's settings.
    :param shard_id: the shard the batches come from.
    :param invoke: runs the function on an event; returns its outcome.
    :param send_on_failure: delivers an on-failure record to the mapping's
        destination. @default - none (skipped batches leave no trace, as in
        Lambda without a destination).
    :param counts: where to count what happens. @default - a new MappingCounts.
    :param wall_clock: epoch seconds, replaceable in tests. @default time.time.
    :param stopping: when it returns True, a delivery raises :class:`Stopped`
        before its next attempt, so endless retries cannot hold up shutdown.
        @default - never.
    """

    def __init__(
        self,
        config: MappingConfig,
        shard_id: str,
        invoke: Invoke,
        *,
        send_on_failure: SendOnFailure | None = None,
        counts: MappingCounts | None = None,
        wall_clock: Callable[[], float] = time.time,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.shard_id = shard_id
        self._invoke = invoke
        self._send = send_on_failure
        self.counts = counts if counts is not None else MappingCounts()
        self._now = wall_clock
        self._stopping = stopping
        self._highest_delivered = -1
        self._shape = config.shape
        #: Every batch handed to the function, in order (sequence numbers), for tests.
        self.invocation_log: list[list[str]] = []

    # -- the rules ---------------------------------------------------------

    def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        """Deliver one batch to completion: processed, or skipped to the destination."""
        if batch:
            self._deliver(list(batch), retries_used=0, invoke_count=0)

    def _deliver(self, batch: list[dict[str, Any]], retries_used: int, invoke_count: int) -> None:
        last: InvocationResult | None = None
        while batch:
            batch = self._drop_expired(batch, invoke_count, last)
            if not batch:
                return
            last = self._call(batch)
            invoke_count += 1
            failed_from = self._failed_from(batch, last)
            if failed_from is None:
                self._succeed(batch)
                return
            if failed_from > 0:
                # Checkpoint before the lowest reported failure; retry the rest.
                self._succeed(batch[:failed_from])
                batch = batch[failed_from:]
            if self.config.bisect_on_error and len(batch) > 1:
                self.counts.bisections += 1
                middle = len(batch) // 2
                self._deliver(batch[:middle], retries_used, invoke_count)
                self._deliver(batch[middle:], retries_used, invoke_count)
                return
            limit = self.config.maximum_retry_attempts
            if limit != -1 and retries_used >= limit:
                self._give_up(batch, "RetryAttemptsExhausted", invoke_count, last)
                return
            retries_used += 1
            self.counts.retries += 1

    def _call(self, batch: list[dict[str, Any]]) -> InvocationResult:
        if self._stopping():
            raise Stopped
        for record in batch:
            number = int(self._shape.sequence(record))
            if number > self._highest_delivered:
                self._highest_delivered = number
                self.counts.delivered += 1
        self.invocation_log.append([self._shape.sequence(r) for r in batch])
        self.counts.invocations += 1
        result = self._invoke({"Records": batch})
        if not result.ok:
            self.counts.function_errors += 1
        return result

    def _failed_from(self, batch: list[dict[str, Any]], result: InvocationResult) -> int | None:
        """None when the batch succeeded, else the index of the first record to retry."""
        if not result.ok:
            return 0
        if not self.config.report_batch_item_failures:
            return None
        payload = result.payload
        if not isinstance(payload, Mapping):
            # A null or non-object response counts as "no failures reported".
            return None
        failures = payload.get("batchItemFailures")
        if not failures:
            return None
        if not isinstance(failures, list):
            return 0
        index = {self._shape.sequence(record): i for i, record in enumerate(batch)}
        positions = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
            if not isinstance(identifier, str) or identifier not in index:
                # Null, empty or unknown identifier: Lambda fails the whole batch.
                return 0
            positions.append(index[identifier])
        return min(positions)

    def _succeed(self, records: list[dict[str, Any]]) -> None:
        self.counts.succeeded += len(records)
        self.counts.by_event.update(self._shape.event_name(record) for record in records)

    def _drop_expired(
        self, batch: list[dict[str, Any]], invoke_count: int, last: InvocationResult | None
    ) -> list[dict[str, Any]]:
        limit = self.config.maximum_record_age
        if limit == -1:
            return batch
        now = self._now()
        expired = 0
        for record in batch:
            created = self._shape.created(record)
            if created is None or now - created <= limit:
                break
            expired += 1
        if expired:
            self._give_up(batch[:expired], "RecordAgeExceeded", invoke_count, last)
        return batch[expired:]

    def _give_up(
        self,
        batch: list[dict[str, Any]],
        condition: str,
        invoke_count: int,
        last: InvocationResult | None,
    ) -> None:
        self.counts.failed += len(batch)
        destination = self.config.on_failure_arn
        if destination is None or self._send is None:
            return
        record = self.on_failure_record(batch, condition, invoke_count, last)
        self._send(destination, record, {"Records": batch})
        self.counts.sent_to_on_failure += len(batch)
        self.counts.on_failure_messages += 1

    def on_failure_record(
        self,
        batch: list[dict[str, Any]],
        condition: str,
        invoke_count: int,
        last: InvocationResult | None,
    ) -> dict[str, Any]:
        """Lambda's on-failure record for a skipped batch: where it is, not what it holds."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if last is not None and last.function_error:
            response["functionError"] = last.function_error
        shape = self._shape
        first, final = batch[0], batch[-1]
        return {
            "requestContext": {
                "requestId": last.request_id if last is not None else str(uuid.uuid4()),
                "functionArn": self.config.function_arn,
                "condition": condition,
                "approximateInvokeCount": invoke_count,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(self._now(), millis=True),
            shape.batch_info_key: {
                "shardId": self.shard_id,
                "startSequenceNumber": shape.sequence(first),
                "endSequenceNumber": shape.sequence(final),
                "approximateArrivalOfFirstRecord": _iso(shape.created(first) or 0.0),
                "approximateArrivalOfLastRecord": _iso(shape.created(final) or 0.0),
                "batchSize": len(batch),
                "streamArn": self.config.event_source_arn,
            },
        }


@dataclass
class _ShardBuffer:
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Monotonic time the oldest buffered record was seen: the batching window's start.
    since: float = 0.0
    delivery: ShardDelivery | None = None


class MappingRunner:
    """Polls one mapping's stream and delivers its batches, one shard batch at a time.

    :param config: the mapping.
    :param reader: a reader on ``config.event_source_arn`` (not started yet).
    :param invoke: runs the mapping's function.
    :param send_on_failure: delivers on-failure records. @default - none.
    :param clock: monotonic seconds. @default time.monotonic.
    :param wall_clock: epoch seconds. @default time.time.
    """

    def __init__(
        self,
        config: MappingConfig,
        reader: ShardReader,
        invoke: Invoke,
        *,
        send_on_failure: SendOnFailure | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.stopping = stopping
        self.reader = reader
        self._invoke = invoke
        self._send = send_on_failure
        self._clock = clock
        self._wall = wall_clock
        self.counts = MappingCounts()
        self._buffers: dict[str, _ShardBuffer] = {}
        #: Completed polls (one GetRecords round over the readable shards).
        self.polls = 0
        self.busy = False
        self.last_activity = clock()
        self.started = False

    def start(self) -> None:
        """Fix the starting position (LATEST: from now on), as creating the mapping does."""
        self.reader.start()
        self.started = True

    def _buffer(self, shard_id: str) -> _ShardBuffer:
        buffer = self._buffers.get(shard_id)
        if buffer is None:
            buffer = self._buffers[shard_id] = _ShardBuffer()
            buffer.delivery = ShardDelivery(
                self.config,
                shard_id,
                self._invoke,
                send_on_failure=self._send,
                counts=self.counts,
                wall_clock=self._wall,
                stopping=lambda: self.stopping(),
            )
        return buffer

    @property
    def idle(self) -> bool:
        """Nothing buffered and no step (a read or an invocation) under way."""
        return not self.busy and not any(b.records for b in self._buffers.values())

    def deliveries(self) -> dict[str, ShardDelivery]:
        """The per-shard delivery state (with its invocation log), by shard id."""
        return {k: b.delivery for k, b in self._buffers.items() if b.delivery is not None}

    def _poll(self) -> int:
        """Read the shards whose buffers need records; return how many were read."""
        read = 0
        shape = self.config.shape
        readable = self.reader.readable()
        if readable and all(
            len(self._buffers.get(shard_id, _ShardBuffer()).records) >= self.config.batch_size
            for shard_id in readable
        ):
            return 0  # every shard has a full batch waiting: no read-ahead beyond that
        for shard in self.reader.read():
            if not shard.records:
                continue
            buffer = self._buffer(shard.shard_id)
            for raw in shard.records:
                read += 1
                self.counts.read += 1
                record = shape.to_lambda(raw, self.config.event_source_arn, shard.shard_id)
                if not self.config.record_filter.matches(shape.filter_view(record)):
                    self.counts.filtered += 1
                    continue
                if not buffer.records:
                    buffer.since = self._clock()
                buffer.records.append(record)
        return read

    def _due(self, shard_id: str, buffer: _ShardBuffer) -> bool:
        if not buffer.records:
            return False
        parent = self.reader.parent_of(shard_id)
        if parent is not None and self._buffers.get(parent, _ShardBuffer()).records:
            return False  # the parent's records go first, for per-key order
        if len(buffer.records) >= self.config.batch_size:
            return True
        return self._clock() - buffer.since >= self.config.batching_window

    def _take(self, buffer: _ShardBuffer) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        size = len('{"Records": []}')
        for record in buffer.records[: self.config.batch_size]:
            record_size = len(json.dumps(record)) + 2
            if batch and size + record_size > MAX_PAYLOAD_BYTES:
                break
            batch.append(record)
            size += record_size
        del buffer.records[: len(batch)]
        if buffer.records:
            buffer.since = self._clock()
        return batch

    def step(self) -> bool:
        """One poll and every batch that is due; True when anything happened."""
        if not self.started:
            self.start()
        # Busy for the whole step, the read included: while a GetRecords call is in
        # flight its records are in no buffer yet, and a read slower than drain()'s
        # settle time (moto takes ~0.5 s for 1000 records) must not look idle.
        self.busy = True
        try:
            worked = self._poll() > 0
            self.polls += 1
            for shard_id, buffer in list(self._buffers.items()):
                while self._due(shard_id, buffer):
                    assert buffer.delivery is not None
                    buffer.delivery.deliver(self._take(buffer))
                    worked = True
            if worked:
                # Before busy goes False, so drain() never sees idle with a stale time.
                self.last_activity = self._clock()
        finally:
            self.busy = False
        return worked

    def next_due_in(self) -> float | None:
        """Seconds until a buffered partial batch's window ends, or None when none waits."""
        waits = [
            self.config.batching_window - (self._clock() - b.since)
            for b in self._buffers.values()
            if b.records
        ]
        return max(0.0, min(waits)) if waits else None


class EventSourceRunner:
    """Runs mappings in background threads, one per mapping, and drains them.

    :param poll_interval: seconds between polls of an idle shard.
        @default 0.25 (Lambda polls a DynamoDB shard 4 times a second).
    :param settle: a mapping counts as idle once nothing happened for this
        long. @default 0.3 s.
    """

    def __init__(
        self, *, poll_interval: float = DEFAULT_POLL_INTERVAL, settle: float = 0.3
    ) -> None:
        self.poll_interval = poll_interval
        self.settle = settle
        self.runners: dict[str, MappingRunner] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._errors: dict[str, BaseException] = {}
        self._lock = threading.Lock()
        self._reported: dict[str, MappingCounts] = {}

    def add(self, runner: MappingRunner) -> None:
        """Take over a mapping: fix its starting position now and start polling it."""
        if runner.config.uuid in self.runners:
            return
        runner.start()
        runner.stopping = self._stop.is_set
        with self._lock:
            self.runners[runner.config.uuid] = runner
            self._reported[runner.config.uuid] = MappingCounts()
            thread = threading.Thread(
                target=self._loop, args=(runner,), name=f"mapping-{runner.config.uuid}", daemon=True
            )
            self._threads[runner.config.uuid] = thread
        thread.start()

    def _loop(self, runner: MappingRunner) -> None:
        while not self._stop.is_set():
            try:
                worked = runner.step()
            except Stopped:
                return
            except BaseException as error:  # kept and re-raised by drain()
                self._errors[runner.config.uuid] = error
                return
            if not worked:
                wait = self.poll_interval
                due = runner.next_due_in()
                if due is not None:
                    wait = min(wait, max(due, 0.005))
                self._stop.wait(wait)

    def _raise_errors(self) -> None:
        if self._errors:
            uuid_, error = next(iter(self._errors.items()))
            runner = self.runners[uuid_]
            raise RunnerError(
                f"mapping {uuid_} ({runner.config.table_name} -> {runner.config.function_name}) "
                f"stopped: {type(error).__name__}: {error}"
            ) from error

    def drain(self, timeout: float = 120.0) -> DrainReport:
        """Wait until every mapping has read and handled everything written so far.

        Batching windows and retries run their course. Returns the counts since
        the previous drain. Raises :class:`DrainTimeout` when some mapping is
        still busy after ``timeout`` seconds (for example a poison record with
        unlimited retries), and :class:`RunnerError` when a mapping stopped.
        """
        started = time.monotonic()
        marks = {key: runner.polls for key, runner in self.runners.items()}
        while True:
            self._raise_errors()
            now = time.monotonic()
            busy = [
                runner
                for key, runner in self.runners.items()
                if not runner.idle
                or runner.polls < marks.get(key, 0) + 2
                or now - runner.last_activity < self.settle
            ]
            if not busy:
                break
            if now - started > timeout:
                names = ", ".join(
                    f"{r.config.table_name} -> {r.config.function_name}" for r in busy
                )
                raise DrainTimeout(
                    f"drain: not idle after {timeout:.0f} s; still busy: {names}. A record that "
                    "keeps failing with MaximumRetryAttempts -1 blocks its shard until it expires"
                )
            time.sleep(min(0.05, self.poll_interval))
        return self._report(time.monotonic() - started)

    def _report(self, seconds: float) -> DrainReport:
        reports = []
        for key, runner in self.runners.items():
            now = runner.counts.copy()
            reports.append(
                MappingReport(
                    key,
                    runner.config.function_name,
                    runner.config.table_name,
                    now - self._reported[key],
                )
            )
            self._reported[key] = now
        return DrainReport(reports, seconds)

    def totals(self) -> DrainReport:
        """Counts since each mapping started (drain() gives them since the last drain)."""
        return DrainReport(
            [
                MappingReport(k, r.config.function_name, r.config.table_name, r.counts.copy())
                for k, r in self.runners.items()
            ],
            0.0,
        )

    def stop(self) -> None:
        """Stop every mapping thread (after its current batch). Safe to call twice."""
        self._stop.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=60)
