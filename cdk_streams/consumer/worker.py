"""Consumer: read a table's stream outside Lambda, with leases, checkpoints and ordered retries.

::

    def process(records: list[ChangeRecord]) -> None: ...   # or a Lambda handler

    with Consumer("Orders", lease_table="orders-app-leases", callback=process) as consumer:
        consumer.run()          # until stop(), SIGINT or SIGTERM

One worker reads the shards it holds a lease on, one GetRecords call (one
batch) at a time per shard, through :class:`~cdk_streams.local.reader.StreamReader`
(the same reader the local cloud uses). After each batch it checkpoints in the
lease table, so a restart, or another worker taking the shard over, resumes
right after the last processed record.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from ..local.reader import MAX_LIMIT, STARTING_POSITIONS, StreamReader
from ..streams.records import lambda_record
from .leases import Lease, LeaseTable, check_lease_table, ensure_lease_table, plan_leases
from .runtime import ConsumerContext, LambdaHandler, change_record_class

log = logging.getLogger("cdk_streams.consumer")

#: A callback: receives the batch's ChangeRecords; returns None, failed
#: sequence numbers, or a partial-batch response.
Callback = Callable[[list[Any]], Any]


class ConsumerError(RuntimeError):
    """The consumer cannot run as configured (no stream, bad settings, bad callback result)."""


class DeliveryError(ConsumerError):
    """A batch still failed after every retry, and the on-failure hook did not handle it."""

    def __init__(self, failure: DeliveryFailure) -> None:
        self.failure = failure
        super().__init__(failure.describe())


@dataclass(frozen=True)
class DeliveryFailure:
    """The records of one shard that still fail after the retries, from the first failure on."""

    shard_id: str
    #: The unprocessed records, Lambda-shaped, in stream order.
    records: list[dict[str, Any]]
    #: Calls made on these records (the first one plus the retries).
    attempts: int
    #: The exception the last call raised; None when it reported failures instead.
    error: BaseException | None

    @property
    def first_sequence_number(self) -> str:
        return str(self.records[0]["dynamodb"]["SequenceNumber"])

    @property
    def last_sequence_number(self) -> str:
        return str(self.records[-1]["dynamodb"]["SequenceNumber"])

    def describe(self) -> str:
        cause = (
            f"{type(self.error).__name__}: {self.error}"
            if self.error is not None
            else "the callback reported them as failed"
        )
        return (
            f"shard {self.shard_id}: {len(self.records)} record(s) from sequence number "
            f"{self.first_sequence_number} to {self.last_sequence_number} still failed after "
            f"{self.attempts} attempt(s) ({cause}); the checkpoint stays before "
            f"{self.first_sequence_number}"
        )


def raise_on_failure(failure: DeliveryFailure) -> NoReturn:
    """The default on-failure hook: stop the consumer with :class:`DeliveryError`.

    Nothing is skipped: the checkpoint stays before the first failed record,
    so the next start retries it.
    """
    raise DeliveryError(failure)


@dataclass
class ConsumerStats:
    """What a consumer did."""

    #: Callback calls (first attempts and retries).
    batches: int = 0
    #: Records handed to the callback, redeliveries included.
    delivered: int = 0
    #: Records processed and checkpointed.
    processed: int = 0
    retries: int = 0
    #: Records the on-failure hook accepted as handled (checkpointed past).
    skipped: int = 0
    checkpoints: int = 0
    leases_taken: int = 0
    leases_stolen: int = 0
    leases_lost: int = 0
    leases_released: int = 0
    shards_finished: int = 0

    def __str__(self) -> str:
        return (
            f"processed {self.processed} record(s) in {self.batches} batch(es) "
            f"({self.delivered} delivered, {self.retries} "
            f"retr{'y' if self.retries == 1 else 'ies'}, "
            f"{self.skipped} skipped by on_failure); leases: {self.leases_taken} taken, "
            f"{self.leases_stolen} stolen, {self.leases_lost} lost, "
            f"{self.leases_released} released; {self.shards_finished} shard(s) finished"
        )


@dataclass
class _Held:
    """A lease this worker holds, with its own view of the expiry (epoch ms)."""

    shard_id: str
    expires_at_ms: int
    renewed_at_ms: int
    #: After a steal, the shard is not read before the old holder's lease runs out.
    not_before_ms: int = 0
    checkpoint: str | None = None


def stream_arn_for_table(client: Any, table_name: str) -> str:
    """The table's current stream ARN (DescribeTable ``LatestStreamArn``).

    :raises ConsumerError: the table does not exist, or its stream is off.
    """
    try:
        table = client.describe_table(TableName=table_name)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            region = getattr(getattr(client, "meta", None), "region_name", "?")
            raise ConsumerError(
                f"table {table_name!r} not found in region {region}; check the name and region"
            ) from error
        raise
    spec = table.get("StreamSpecification") or {}
    arn = table.get("LatestStreamArn")
    if not arn or not spec.get("StreamEnabled"):
        raise ConsumerError(
            f"table {table_name!r} has no stream enabled; turn one on (StreamSpecification "
            "StreamEnabled=true, e.g. NEW_AND_OLD_IMAGES, or StreamTable in CDK) to consume "
            "its changes"
        )
    return str(arn)


def _default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Consumer:
    """A custom-application consumer of one DynamoDB stream.

    Give exactly one of ``callback`` and ``handler``:

    * ``callback(records)`` receives the batch as the runtime's
      ``ChangeRecord`` objects and returns None (all processed), a list of
      failed sequence numbers, or ``{"batchItemFailures": [...]}``; raising
      fails the whole batch.
    * ``handler(event, context)`` is a Lambda handler: it receives
      ``{"Records": [...]}`` exactly as Lambda delivers them and a context,
      and its ``batchItemFailures`` response is honoured as with
      ``ReportBatchItemFailures`` (a non-object response means success).

    Failures are ordered, as in :class:`stream_runtime.StreamRouter`: the
    checkpoint moves to just before the first failed record and the retry
    starts there; records before it are not delivered again. An unknown or
    empty identifier fails the whole batch (Lambda's rule). After
    ``max_retries`` retries, ``on_failure`` receives a :class:`DeliveryFailure`;
    if it returns, those records count as handled and the checkpoint moves
    past them; if it raises (the default does), the consumer stops.

    :param table_name: the table whose stream to read (its ``LatestStreamArn``).
        @default - none; give ``stream_arn`` instead.
    :param stream_arn: the stream to read. @default - the table's.
    :param lease_table: the lease table's name (see
        :func:`~cdk_streams.consumer.leases.ensure_lease_table`); one per
        stream and application.
    :param callback: the batch callback. @default - none.
    :param handler: a Lambda-style handler. @default - none.
    :param worker_id: this worker's name in the lease table; unique per
        running process. @default - "host:pid:random".
    :param starting_position: where a shard without a checkpoint starts,
        TRIM_HORIZON or LATEST. @default "TRIM_HORIZON".
    :param batch_size: records per GetRecords call and per callback, 1..1000.
        @default 100.
    :param max_retries: retries of a failing batch before ``on_failure``;
        -1 retries forever. @default 3.
    :param retry_delay: seconds before the first retry, doubled for each
        next one, at most 30 s. @default 1.0.
    :param on_failure: called with the records that still fail. @default
        :func:`raise_on_failure` (stop; never skip silently).
    :param lease_duration: seconds a lease lasts without renewal. @default 10.0.
    :param max_leases: the most shards this worker holds. @default - its
        fair share only.
    :param poll_interval: seconds to wait when no held shard had records.
        @default 0.25 (Lambda's 4 polls a second; GetRecords allows 5).
    :param create_lease_table: create the lease table when missing.
        @default False (a missing table raises LeaseTableError).
    :param dynamodb: a boto3 ``dynamodb`` client (give both clients or neither).
        @default - a new one.
    :param dynamodbstreams: a boto3 ``dynamodbstreams`` client. @default - a new one.
    :param region_name: for new clients. @default - boto3's configuration.
    :param endpoint_url: for new clients (the local cloud). @default - AWS.
    :param clock: epoch seconds, for lease expiry. @default time.time.
    """

    def __init__(
        self,
        table_name: str | None = None,
        *,
        lease_table: str,
        stream_arn: str | None = None,
        callback: Callback | None = None,
        handler: LambdaHandler | None = None,
        worker_id: str | None = None,
        starting_position: str = "TRIM_HORIZON",
        batch_size: int = 100,
        max_retries: int = 3,
        retry_delay: float = 1.0,
        on_failure: Callable[[DeliveryFailure], Any] = raise_on_failure,
        lease_duration: float = 10.0,
        max_leases: int | None = None,
        poll_interval: float = 0.25,
        create_lease_table: bool = False,
        dynamodb: Any = None,
        dynamodbstreams: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (callback is None) == (handler is None):
            raise ConsumerError(
                "give exactly one of callback (receives ChangeRecords) and handler "
                f"(a Lambda handler); got callback={callback!r}, handler={handler!r}"
            )
        if table_name is None and stream_arn is None:
            raise ConsumerError("give table_name or stream_arn")
        if starting_position not in STARTING_POSITIONS:
            raise ConsumerError(
                f"starting_position must be TRIM_HORIZON or LATEST, got {starting_position!r}"
            )
        if not 1 <= batch_size <= MAX_LIMIT:
            raise ConsumerError(f"batch_size must be 1..{MAX_LIMIT}, got {batch_size}")
        if max_retries < -1:
            raise ConsumerError(f"max_retries must be -1 (forever) or more, got {max_retries}")
        if max_leases is not None and max_leases < 1:
            raise ConsumerError(f"max_leases must be at least 1, got {max_leases}")
        if lease_duration <= 0:
            raise ConsumerError(f"lease_duration must be positive seconds, got {lease_duration}")
        if (dynamodb is None) != (dynamodbstreams is None):
            # One client's endpoint says nothing about the other's (on AWS they differ).
            raise ConsumerError(
                "give both the dynamodb and the dynamodbstreams client, or neither (then "
                "region_name and endpoint_url configure new ones)"
            )
        if dynamodb is None or dynamodbstreams is None:
            import boto3

            session = boto3.session.Session(region_name=region_name)
            dynamodb = dynamodb or session.client("dynamodb", endpoint_url=endpoint_url)
            dynamodbstreams = dynamodbstreams or session.client(
                "dynamodbstreams", endpoint_url=endpoint_url
            )
        self.worker_id = worker_id or _default_worker_id()
        self.stream_arn = stream_arn or stream_arn_for_table(dynamodb, str(table_name))
        if create_lease_table:
            ensure_lease_table(dynamodb, lease_table)
        else:
            check_lease_table(dynamodb, lease_table)
        self.leases = LeaseTable(
            dynamodb,
            lease_table,
            self.stream_arn,
            self.worker_id,
            lease_duration=lease_duration,
            clock=clock,
        )
        self.reader = StreamReader(
            dynamodbstreams, self.stream_arn, starting_position=starting_position, limit=batch_size
        )
        self._callback = callback
        self._handler = handler
        self._change_record = change_record_class() if callback is not None else None
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.on_failure = on_failure
        self.max_leases = max_leases
        self.poll_interval = poll_interval
        self.lease_duration = lease_duration
        #: Seconds between lease-table rounds (discover, renew, take): a third
        #: of the lease, so two renewals can fail before the lease runs out.
        self.coordinate_interval = lease_duration / 3
        self.stats = ConsumerStats()
        self._held: dict[str, _Held] = {}
        self._stop = threading.Event()
        self._next_round = float("-inf")
        self._started = False

    # -- life cycle --------------------------------------------------------

    @property
    def held_shards(self) -> list[str]:
        """The shards this worker holds a lease on now."""
        return sorted(self._held)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current batch (thread- and signal-safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Release every held lease at once, so another worker can take it. Idempotent.

        Checkpoints are already written after each batch; a lease that was
        lost meanwhile is simply dropped.
        """
        for shard_id in list(self._held):
            try:
                if self.leases.release(shard_id):
                    self.stats.leases_released += 1
            except ClientError:
                # The lease runs out by itself; nothing is lost, a taker waits longer.
                log.warning("could not release the lease of shard %s", shard_id, exc_info=True)
            self._drop(shard_id)

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()

    def run(
        self, *, until: Callable[[], bool] | None = None, handle_signals: bool = True
    ) -> ConsumerStats:
        """Consume until :meth:`stop`, SIGINT/SIGTERM or ``until()``; then release the leases.

        The batch in progress finishes and is checkpointed first. An error
        (a :class:`DeliveryError` from the default on-failure hook, a failed
        AWS call) also releases the leases, then propagates.

        :param until: checked between rounds; True ends the run. @default - never.
        :param handle_signals: on the main thread, turn SIGINT and SIGTERM
            into :meth:`stop` while running. @default True.
        """
        restore = self._install_signal_handlers() if handle_signals else {}
        try:
            while not self._stop.is_set():
                if until is not None and until():
                    break
                if not self.run_once():
                    self._stop.wait(self.poll_interval)
        except (Exception, KeyboardInterrupt, SystemExit):
            self.close()
            raise
        finally:
            for signum, previous in restore.items():
                signal.signal(signum, previous)
        self.close()
        return self.stats

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            log.info("%s received: finishing the current batch", signal.Signals(signum).name)
            self.stop()

        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, request_stop)
        return previous

    # -- one round ---------------------------------------------------------

    def run_once(self) -> int:
        """One round: coordinate leases when due, then one GetRecords per held shard.

        :returns: how many records were read (0 when idle).
        """
        if time.monotonic() >= self._next_round:
            self.coordinate()
        read = 0
        for shard_id in sorted(self._held):
            if self._stop.is_set():
                break
            read += self._poll(shard_id)
        return read

    def coordinate(self) -> None:
        """Discover shards, add their lease rows, renew held leases, take a fair share."""
        self._next_round = time.monotonic() + self.coordinate_interval
        if not self._started:
            self.reader.start()
            self._started = True
        else:
            self.reader.discover()
        rows = self.leases.scan()
        # Rows for new shards. Only shards found when the stream had no rows
        # at all start at the configured position; later ones are new shards
        # (splits) whose every record is new, so they start at TRIM_HORIZON.
        first = not rows
        position = self.reader.starting_position if first else "TRIM_HORIZON"
        for shard_id, state in self.reader.shards.items():
            if shard_id in rows:
                continue
            closed = state.ending_sequence_number is not None
            rows[shard_id] = self.leases.create(
                shard_id,
                parent_shard_id=state.parent_id,
                starting_position=position,
                # LATEST means "from now on": a shard already closed has nothing new.
                finished=first and position == "LATEST" and closed,
            )
        for shard_id in list(self._held):
            self._lease_ok(shard_id, force=True)
        now = self.leases.now_ms()
        plan = plan_leases(rows, self.worker_id, now, held=self._held, max_leases=self.max_leases)
        for shard_id in plan.take:
            lease = self.leases.take(shard_id)
            if lease is not None:
                self.stats.leases_taken += 1
                self._adopt(lease)
        if plan.steal is not None:
            shard_id, victim = plan.steal
            stolen = self.leases.steal(shard_id, victim)
            if stolen is not None:
                lease, victims_expiry = stolen
                self.stats.leases_stolen += 1
                log.info("took shard %s over from %s to even out the load", shard_id, victim)
                # The old holder learns it at its next checkpoint or renewal;
                # waiting out its lease keeps two workers off one shard.
                self._adopt(lease, not_before_ms=victims_expiry)

    def _adopt(self, lease: Lease, *, not_before_ms: int = 0) -> None:
        state = self.reader.shards.get(lease.shard_id)
        if state is None:
            self.reader.discover()
            state = self.reader.shards.get(lease.shard_id)
        now = self.leases.now_ms()
        self._held[lease.shard_id] = _Held(
            lease.shard_id,
            expires_at_ms=lease.expires_at_ms,
            renewed_at_ms=now,
            not_before_ms=not_before_ms,
            checkpoint=lease.checkpoint,
        )
        if state is None:
            # Gone from DescribeStream: trimmed after 24 h. Nothing is left to read.
            log.warning("shard %s is no longer in the stream; marking it finished", lease.shard_id)
            self._finish(lease.shard_id)
            return
        latest = lease.starting_position == "LATEST" == self.reader.starting_position
        fresh_latest = (
            latest
            and lease.checkpoint is None
            and state.last_sequence_number is None
            and state.iterator is not None
        )
        if not fresh_latest:
            # Resume exactly after the lease table's checkpoint, whatever this
            # reader did with the shard before (another worker may have moved it
            # on). A LATEST iterator that start() fixed is kept instead: LATEST
            # then means "when this worker started", not "when it got the lease".
            state.iterator = None
        state.exhausted = False
        state.skipped = False
        state.last_sequence_number = lease.checkpoint
        state.initial = latest
        log.info("holding shard %s (checkpoint %s)", lease.shard_id, lease.checkpoint)

    def _drop(self, shard_id: str) -> None:
        self._held.pop(shard_id, None)
        state = self.reader.shards.get(shard_id)
        if state is not None:
            state.iterator = None

    def _lose(self, shard_id: str) -> None:
        log.warning("lost the lease of shard %s to another worker; stopped reading it", shard_id)
        self.stats.leases_lost += 1
        self._drop(shard_id)
        self._next_round = float("-inf")

    def _lease_ok(self, shard_id: str, *, force: bool = False) -> bool:
        """Still ours? Renews when a third of the lease has passed (or ``force``)."""
        held = self._held.get(shard_id)
        if held is None:
            return False
        now = self.leases.now_ms()
        due = held.renewed_at_ms + int(self.lease_duration * 1000 / 3)
        if force or now >= due or now >= held.expires_at_ms:
            lease = self.leases.renew(shard_id)
            if lease is None:
                self._lose(shard_id)
                return False
            held.expires_at_ms, held.renewed_at_ms = lease.expires_at_ms, now
        return True

    def _finish(self, shard_id: str) -> None:
        if self.leases.finish(shard_id) is None:
            self._lose(shard_id)
            return
        self.stats.shards_finished += 1
        self._drop(shard_id)
        log.info("shard %s read to its end", shard_id)
        self._next_round = float("-inf")  # its children may be taken now

    def _poll(self, shard_id: str) -> int:
        held = self._held.get(shard_id)
        if held is None or self.leases.now_ms() < held.not_before_ms:
            return 0
        if not self._lease_ok(shard_id):
            return 0
        result = self.reader.read_shard(shard_id)
        state = self.reader.shards[shard_id]
        if result.records:
            stream_arn = self.stream_arn
            batch = [lambda_record(record, stream_arn=stream_arn) for record in result.records]
            if not self._deliver(shard_id, batch):
                return len(batch)
        if state.exhausted and shard_id in self._held:
            self._finish(shard_id)
        return len(result.records)

    # -- delivery ----------------------------------------------------------

    def _call(self, batch: list[dict[str, Any]]) -> Any:
        if self._handler is not None:
            return self._handler({"Records": batch}, ConsumerContext(self.worker_id))
        assert self._callback is not None and self._change_record is not None
        return self._callback([self._change_record(record) for record in batch])

    def _failed_from(self, batch: Sequence[dict[str, Any]], response: Any) -> int | None:
        """None when the whole batch succeeded, else the index of the first record to retry."""
        if response is None:
            return None
        if isinstance(response, Mapping):
            failures = response.get("batchItemFailures")
            if not failures:
                return None
            if not isinstance(failures, list):
                return 0
            identifiers = [
                f.get("itemIdentifier") if isinstance(f, Mapping) else None for f in failures
            ]
        elif self._callback is not None and isinstance(response, list | tuple):
            if not response:
                return None
            identifiers = list(response)
        elif self._handler is not None:
            return None  # Lambda: a response that is not an object reports no failures
        else:
            raise ConsumerError(
                f"callback returned {response!r}; expected None, a list of failed sequence "
                'numbers, or {"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}]}'
            )
        index = {record["dynamodb"]["SequenceNumber"]: i for i, record in enumerate(batch)}
        positions = []
        for identifier in identifiers:
            if not isinstance(identifier, str) or identifier not in index:
                # Lambda's rule: a null, empty or unknown identifier fails the whole batch.
                log.warning("unknown failure identifier %r: retrying the whole batch", identifier)
                return 0
            positions.append(index[identifier])
        return min(positions)

    def _checkpoint(self, shard_id: str, record: dict[str, Any], processed: int) -> bool:
        sequence_number = record["dynamodb"]["SequenceNumber"]
        lease = self.leases.checkpoint(shard_id, sequence_number)
        if lease is None:
            # Taken over during the batch: the taker resumes from the previous
            # checkpoint, so this batch will be delivered again (at least once).
            self._lose(shard_id)
            return False
        held = self._held[shard_id]
        held.checkpoint = sequence_number
        held.expires_at_ms, held.renewed_at_ms = lease.expires_at_ms, self.leases.now_ms()
        self.stats.checkpoints += 1
        self.stats.processed += processed
        return True

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> bool:
        """Deliver one batch until processed or handed to on_failure; False if interrupted."""
        retries = 0
        while True:
            # A lost lease stops the shard before the next callback, retries included.
            if not self._lease_ok(shard_id):
                return False
            self.stats.batches += 1
            self.stats.delivered += len(batch)
            error: Exception | None = None
            try:
                response = self._call(batch)
            except Exception as exc:  # a BaseException is a crash: nothing is checkpointed
                error = exc
                log.warning(
                    "shard %s: batch of %d from %s failed: %s",
                    shard_id,
                    len(batch),
                    batch[0]["dynamodb"]["SequenceNumber"],
                    exc,
                    exc_info=True,
                )
                failed_from: int | None = 0
            else:
                failed_from = self._failed_from(batch, response)
            if failed_from is None:
                return self._checkpoint(shard_id, batch[-1], len(batch))
            if failed_from > 0:
                if not self._checkpoint(shard_id, batch[failed_from - 1], failed_from):
                    return False
                batch = batch[failed_from:]
            if self.max_retries != -1 and retries >= self.max_retries:
                self.on_failure(DeliveryFailure(shard_id, batch, retries + 1, error))
                # The hook returned: the application took care of these records.
                self.stats.skipped += len(batch)
                return self._checkpoint(shard_id, batch[-1], 0)
            retries += 1
            self.stats.retries += 1
            if self._stop.wait(min(30.0, self.retry_delay * 2 ** (retries - 1))):
                return False  # stopping: the checkpoint stays before the failure
