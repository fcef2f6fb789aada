"""Consumer: read a table's stream outside Lambda, with leases, checkpoints and ordered retries.

::

    def process(records: list[ChangeRecord]) -> None: ...   # or a Lambda handler

    with Consumer("Orders", lease_table="orders-app-leases", callback=process) as consumer:
        consumer.run()          # until stop(), SIGINT or SIGTERM

The run loop: one worker reads the shards it holds a lease on (see
:mod:`.coordination`), one GetRecords call (one batch) at a time per shard,
through the stream package's DynamoDB reader, and hands each batch to
:mod:`.delivery`. After each batch it checkpoints in the lease table, so a
restart, or another worker taking the shard over, resumes right after the
last processed record. Transient AWS errors are retried (:mod:`.aws_retry`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any

from botocore.exceptions import ClientError

from ..streams.aws_errors import NOT_FOUND, error_code
from ..streams.dynamodb_reader import MAX_LIMIT, StreamReader
from ..streams.records import lambda_record
from ..streams.shard_reader import STARTING_POSITIONS, ShardReader
from .aws_retry import AwsRetry, RetryCancelled
from .coordination import LeaseCoordinator
from .delivery import (
    FAILURE_SCOPES,
    BatchDelivery,
    Callback,
    CallbackTimeoutError,
    DeliveryFailure,
    raise_on_failure,
)
from .errors import ConsumerError
from .leases import Lease, LeaseTable, check_lease_table, ensure_lease_table, in_stream
from .runtime import LambdaHandler, change_record_class
from .stats import ConsumerStats

log = logging.getLogger("cdk_streams.consumer")

#: The exit status of a process ended by a second SIGINT or SIGTERM (128 + SIGINT).
FORCED_EXIT_STATUS = 130


def stream_arn_for_table(client: Any, table_name: str) -> str:
    """The table's current stream ARN (DescribeTable ``LatestStreamArn``).

    :raises ConsumerError: the table does not exist, or its stream is off.
    """
    try:
        table = client.describe_table(TableName=table_name)["Table"]
    except ClientError as error:
        if error_code(error) == NOT_FOUND:
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


def listed_shard_ids(client: Any, stream_arn: str) -> set[str]:
    """The ids of the shards the stream lists now (DescribeStream, every page)."""
    ids: set[str] = set()
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = client.describe_stream(**kwargs)["StreamDescription"]
        ids.update(shard["ShardId"] for shard in description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            return ids
        kwargs["ExclusiveStartShardId"] = last


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
    ``failure_scope`` says whether it receives the rest of the batch or only
    the failing record (see :mod:`cdk_streams.consumer.delivery`).

    Leases are renewed in the background while a callback runs, and every
    checkpoint is a write fenced on the lease's owner and counter: a worker
    that lost its lease never checkpoints the shard and calls back no more for
    it. Transient AWS errors (throttling, 5xx, refused connections, timeouts)
    are retried with backoff and jitter for ``give_up_after`` seconds, then
    :class:`~cdk_streams.consumer.aws_retry.AwsUnreachableError` is raised.

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
    :param lease_duration: seconds a lease lasts without renewal: a crashed
        worker's shards are taken over after at most this long. @default 10.0
        (renewed every third of it, so two renewals in a row may fail before
        the lease is lost, while a takeover after a crash waits 10 s at most).
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
    :param failure_scope: what ``on_failure`` receives: ``"batch"`` (the
        failing record and the rest of the batch; per-key order is kept) or
        ``"record"`` (only the failing record; delivery goes on with the next
        one). @default "batch".
    :param callback_timeout: seconds one call may take; past it the consumer
        stops with :class:`~cdk_streams.consumer.delivery.CallbackTimeoutError`
        and does not checkpoint the batch. @default None (no limit).
    :param give_up_after: seconds a transient AWS error may last before the
        consumer gives up. @default 60.0 (outages up to a minute pass).
    :param clock: epoch seconds, for lease expiry and the rounds. @default time.time.
    :param sleep: waits between retries of AWS calls. @default time.sleep.
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
        failure_scope: str = "batch",
        callback_timeout: float | None = None,
        lease_duration: float = 10.0,
        max_leases: int | None = None,
        poll_interval: float = 0.25,
        create_lease_table: bool = False,
        give_up_after: float = 60.0,
        dynamodb: Any = None,
        dynamodbstreams: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = time.sleep,
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
        if not lease_duration > 0:  # refuses NaN too
            raise ConsumerError(f"lease_duration must be positive seconds, got {lease_duration}")
        if failure_scope not in FAILURE_SCOPES:
            raise ConsumerError(f"failure_scope must be batch or record, got {failure_scope!r}")
        if callback_timeout is not None and callback_timeout <= 0:
            raise ConsumerError(
                f"callback_timeout must be positive seconds or None, got {callback_timeout}"
            )
        if give_up_after < 0:
            raise ConsumerError(f"give_up_after must be 0 or more seconds, got {give_up_after}")
        if (dynamodb is None) != (dynamodbstreams is None):
            # One client's endpoint says nothing about the other's (on AWS they differ).
            raise ConsumerError(
                "give both the dynamodb and the dynamodbstreams client, or neither (then "
                "region_name and endpoint_url configure new ones)"
            )
        if dynamodb is None or dynamodbstreams is None:
            from ..boto_sessions import new_session

            session = new_session(region_name=region_name)
            dynamodb = dynamodb or session.client("dynamodb", endpoint_url=endpoint_url)
            dynamodbstreams = dynamodbstreams or session.client(
                "dynamodbstreams", endpoint_url=endpoint_url
            )
        self._stop = threading.Event()
        self._clock = clock
        self.aws = AwsRetry(
            give_up_after=give_up_after, clock=clock, sleep=sleep, cancelled=self._stop.is_set
        )
        self.worker_id = worker_id or _default_worker_id()
        self.stream_arn = stream_arn or self.aws.call(
            "DescribeTable", stream_arn_for_table, dynamodb, str(table_name)
        )
        if create_lease_table:
            self.aws.call(
                "CreateTable of the lease table", ensure_lease_table, dynamodb, lease_table
            )
        else:
            self.aws.call(
                "DescribeTable of the lease table", check_lease_table, dynamodb, lease_table
            )
        self.leases = LeaseTable(
            dynamodb,
            lease_table,
            self.stream_arn,
            self.worker_id,
            lease_duration=lease_duration,
            clock=clock,
        )
        self.reader: ShardReader = StreamReader(
            dynamodbstreams,
            self.stream_arn,
            starting_position=starting_position,
            limit=batch_size,
            clock=clock,
        )
        self.stats = ConsumerStats()
        self._list_shards = lambda: listed_shard_ids(dynamodbstreams, self.stream_arn)
        self.coordinator = LeaseCoordinator(
            self.leases,
            aws=self.aws,
            stats=self.stats,
            lease_duration=lease_duration,
            max_leases=max_leases,
            list_shards=self._list_shards,
        )
        self.delivery = BatchDelivery(
            callback=callback,
            handler=handler,
            change_record=change_record_class() if callback is not None else None,
            worker_id=self.worker_id,
            max_retries=max_retries,
            retry_delay=retry_delay,
            on_failure=on_failure,
            failure_scope=failure_scope,
            callback_timeout=callback_timeout,
            wait=self._stop.wait,
            stats=self.stats,
        )
        self.max_leases = max_leases
        self.poll_interval = poll_interval
        self.lease_duration = lease_duration
        #: Seconds between lease-table rounds (discover, renew, take) and between
        #: background renewals: a third of the lease, so two renewals can fail
        #: before the lease runs out.
        self.coordinate_interval = lease_duration / 3
        self._next_round = float("-inf")
        self._started = False
        self._signals = 0

    # -- life cycle --------------------------------------------------------

    @property
    def held_shards(self) -> list[str]:
        """The shards this worker holds a lease on now."""
        return self.coordinator.held_shards()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current batch (thread- and signal-safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Release every held lease at once, so another worker can take it. Idempotent.

        Never raises: checkpoints are already written after each batch, and a
        lease that cannot be released (AWS unreachable) runs out by itself.
        """
        self.coordinator.stop_renewing()
        for shard_id in self.coordinator.held_shards():
            self.reader.forget(shard_id)
        self.coordinator.release_all()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()

    def run(
        self, *, until: Callable[[], bool] | None = None, handle_signals: bool = True
    ) -> ConsumerStats:
        """Consume until :meth:`stop`, SIGINT/SIGTERM or ``until()``; then release the leases.

        The batch in progress finishes and is checkpointed first. A second
        SIGINT or SIGTERM ends the process at once with status 130 (the batch
        in progress is not checkpointed and is delivered again later). An
        error (a :class:`DeliveryError` from the default on-failure hook,
        :class:`AwsUnreachableError`) also releases the leases, as far as AWS
        can be reached, then propagates unchanged.

        :param until: checked between rounds; True ends the run. @default - never.
        :param handle_signals: on the main thread, turn SIGINT and SIGTERM
            into :meth:`stop` while running. @default True.
        """
        restore = self._install_signal_handlers() if handle_signals else {}
        self.coordinator.start_renewing(self.coordinate_interval)
        try:
            while not self._stop.is_set():
                if until is not None and until():
                    break
                if not self.run_once():
                    self._stop.wait(self.poll_interval)
        except RetryCancelled:
            pass  # stopping during an outage: what is checkpointed stays
        except (Exception, KeyboardInterrupt, SystemExit):
            self.close()
            raise
        finally:
            # Whatever else ends the loop is a crash: nothing is released, and
            # nothing renews the leases any more, so they run out.
            self.coordinator.stop_renewing()
            for signum, previous in restore.items():
                signal.signal(signum, previous)
        self.close()
        return self.stats

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            self._signals += 1
            name = signal.Signals(signum).name
            if self._signals > 1:
                print(
                    f"{name} received again: exiting now; the batch in progress is not "
                    "checkpointed and will be delivered again",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(FORCED_EXIT_STATUS)
            log.info("%s received: finishing the current batch (again: exit at once)", name)
            self.stop()

        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, request_stop)
        return previous

    # -- one round ---------------------------------------------------------

    def run_once(self) -> int:
        """One round: coordinate leases when due, then one GetRecords per held shard.

        :returns: how many records were read (0 when idle).
        """
        if self._clock() >= self._next_round:
            self.coordinate()
        read = 0
        for shard_id in self.coordinator.held_shards():
            if self._stop.is_set():
                break
            read += self._poll(shard_id)
        self._forget_lost()
        return read

    def renew_leases(self) -> None:
        """Renew every held lease now (what the background thread does every third of a lease)."""
        self.coordinator.renew_all()

    def _forget_lost(self) -> None:
        lost = self.coordinator.take_lost()
        for shard_id in lost:
            self.reader.forget(shard_id)
        if lost:
            self._next_round = float("-inf")

    def coordinate(self) -> None:
        """Discover shards, add their lease rows, delete the rows no longer needed, renew
        held leases, take a fair share."""
        self._next_round = self._clock() + self.coordinate_interval
        self._forget_lost()
        if not self._started:
            self.aws.call("DescribeStream", self.reader.start)
            self._started = True
        else:
            self.aws.call("DescribeStream", self.reader.discover)
        shards = [self.reader.shard(shard_id) for shard_id in self.reader.shard_ids()]
        acquired = self.coordinator.acquire(shards, self.reader.starting_position)
        # Before adopting: a lease lost in this round's renewals may be taken again in
        # the same round (its row was deleted by hand and added back), and forgetting
        # it after the seek would leave it held but unreadable.
        self._forget_lost()
        for lease in acquired:
            self._adopt(lease)
        self._forget_lost()

    def _seek(self, shard_id: str, checkpoint: str | None, starting_position: str) -> bool:
        # LATEST only when both the row and this worker say so: a LATEST iterator
        # fixed by start() then means "when this worker started".
        latest = starting_position == "LATEST" == self.reader.starting_position
        return self.aws.call(
            "DescribeStream",
            self.reader.seek,
            shard_id,
            checkpoint,
            starting_position="LATEST" if latest else "TRIM_HORIZON",
        )

    def _adopt(self, lease: Lease) -> None:
        if self._seek(lease.shard_id, lease.checkpoint, lease.starting_position):
            log.info("holding shard %s (checkpoint %s)", lease.shard_id, lease.checkpoint)
            return
        # The reader listed the stream again without finding the shard. Trimmed (24 h
        # after it closed), or a new shard this worker's DescribeStream missed while
        # another worker's showed it. Finishing a shard that is there would skip all of
        # it, for good, since a finished row is deleted: so a fresh listing decides.
        listed = self.aws.call("DescribeStream", self._list_shards)
        if in_stream(lease.shard_id, lease.parent_shard_id, listed):
            log.warning(
                "shard %s is in the stream but not yet in this worker's listing of it; "
                "released its lease, to be taken again on a later round",
                lease.shard_id,
            )
            self.coordinator.release(lease.shard_id)
            return
        log.warning("shard %s is no longer in the stream; marking it finished", lease.shard_id)
        self._finish(lease.shard_id, trimmed=True)

    def _finish(self, shard_id: str, *, trimmed: bool = False) -> None:
        self.coordinator.finish(shard_id, trimmed=trimmed)
        self.reader.forget(shard_id)
        self._next_round = float("-inf")  # its children may be taken now

    def _poll(self, shard_id: str) -> int:
        held = self.coordinator.held(shard_id)
        if held is None:
            return 0
        if held.wanted_by is not None:
            # Asked for by another worker: between batches is the moment to hand over.
            self.reader.forget(shard_id)
            self.coordinator.hand_off(shard_id)
            self._next_round = float("-inf")
            return 0
        if not self.coordinator.owns(shard_id):
            return 0
        result = self.aws.call("GetRecords", self.reader.read_shard, shard_id)
        if result.records:
            stream_arn = self.stream_arn
            batch = [lambda_record(record, stream_arn=stream_arn) for record in result.records]
            try:
                delivered = self.delivery.deliver(
                    shard_id,
                    batch,
                    owned=lambda: self.coordinator.owns(shard_id),
                    checkpoint=lambda sequence_number, _processed: self.coordinator.checkpoint(
                        shard_id, sequence_number
                    ),
                )
            except CallbackTimeoutError:
                # The call may still run: keep the lease unreleased so that it runs
                # out by itself instead of being taken over at once.
                self.coordinator.abandon(shard_id)
                raise
            if not delivered:
                held = self.coordinator.held(shard_id)
                if held is not None:
                    # Still ours (an outage, or stopping): the reader is past records
                    # that were not processed; read them again after the checkpoint.
                    self._seek(shard_id, held.checkpoint, held.starting_position)
                return len(batch)
        if result.end and self.coordinator.held(shard_id) is not None:
            self._finish(shard_id)
        return len(result.records)
