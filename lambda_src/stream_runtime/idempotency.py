"""Idempotent processing: run each stream record's route at most once to completion.

Lambda delivers stream records at least once: a timeout, a crash after some
records were handled, a retry from the first reported failure and bisection
all deliver records that already ran. With a guard, the router asks a store
before it runs a record:

1. **claim** the record's key (its ``eventID``, the same on every delivery of
   the change, or a key you choose): a conditional write that succeeds only
   when no one holds the key, or when the holder's lease has run out. The
   record is then ``IN_PROGRESS`` for the lease (the invocation's remaining
   time, so a crashed or timed-out invocation's claim runs out when that
   invocation would have ended anyway);
2. run the route;
3. mark the key ``COMPLETED``, kept for ``ttl_seconds`` (a DynamoDB stream
   keeps records 24 h, so nothing is delivered again after that).

A record whose key is ``COMPLETED`` is skipped (and counted in the
``DuplicatesSkipped`` metric). A record another invocation holds is waited
for when its lease ends within this invocation's time and within
``max_wait_seconds``, else it fails (and, in order, every later record):
Lambda retries it, and once the lease has run
out the retry claims it. When a route raises, the claim is released at once
so the retry need not wait. A store that cannot be reached fails the record
it was asked about, in order, like a route that raises: nothing is dropped.

The store is an :class:`~stream_runtime.idempotency_store.IdempotencyStore`
(defined in :mod:`stream_runtime.idempotency_store`, and importable from here).
:class:`InMemoryIdempotencyStore` serves tests, and
:class:`~stream_runtime.idempotency_dynamodb.DynamoDBIdempotencyStore` (the
default, on the table named by ``IDEMPOTENCY_TABLE_NAME``) serves Lambda.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from .idempotency_store import (
    COMPLETED,
    IN_PROGRESS,
    Claim,
    IdempotencyError,
    IdempotencyStore,
    IdempotencyStoreError,
    InMemoryIdempotencyStore,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Callable

    from .records import ChangeRecord

#: The variable naming the DynamoDB table; ``StreamProcessor(idempotency=True)`` sets it.
TABLE_ENV = "IDEMPOTENCY_TABLE_NAME"
#: How long a completed key is remembered: a DynamoDB stream keeps records 24 h.
DEFAULT_TTL_SECONDS = 24 * 3600
#: The lease when the Lambda context cannot tell the remaining time: Lambda's longest timeout.
DEFAULT_LEASE_SECONDS = 900.0
#: The longest the guard waits for another holder's lease to run out.
DEFAULT_MAX_WAIT_SECONDS = 30.0
# Kept free at the end of the invocation when waiting for another holder's lease.
_WAIT_MARGIN_SECONDS = 1.0


class IdempotencyKeyError(IdempotencyError):
    """The key function gave no usable key (None or an empty string) for a record."""


class RecordInProgressError(IdempotencyError):
    """Another invocation holds the record's claim and its lease outlasts this invocation.

    :ivar key: the record's idempotency key.
    :ivar lease_expires: when the other claim runs out, epoch seconds.
    """

    def __init__(self, key: str, lease_expires: float) -> None:
        self.key = key
        self.lease_expires = lease_expires
        super().__init__(
            f"record {key!r} is in progress in another invocation until its lease runs out "
            f"at epoch {lease_expires:.0f}; failing it so that Lambda retries it, and the "
            "retry takes it over once the lease has run out"
        )


def event_id_key(record: ChangeRecord) -> str | None:
    """The default key: the change's ``eventID``, the same on every delivery of it."""
    return record.event_id


class IdempotencyGuard:
    """Give one to ``StreamRouter(idempotency=...)`` to run each record's route once.

    :param store: an :class:`IdempotencyStore`. @default a
        ``DynamoDBIdempotencyStore`` on the table named by
        ``$IDEMPOTENCY_TABLE_NAME`` (boto3 from the Lambda runtime, created on
        first use).
    :param key: ``key(record) -> str``. @default the record's ``eventID``. Use
        a business key (an order id and version, say) when the same change
        can reach the stream twice as two records.
    :param ttl_seconds: how long a completed key is kept, >= 1. @default 24 h,
        the retention of a DynamoDB stream; raise it for Kinesis streams kept
        longer.
    :param lease_seconds: how long a claim holds before another invocation may
        take the record over. @default the invocation's remaining time (from
        the Lambda context), else 900 s.
    :param max_wait_seconds: the longest a record waits, in all, for another
        holder's claim (>= 0). When the claim's lease runs out within it (and
        a second before the invocation must stop), the guard takes the record
        over; otherwise it waits this long and then fails the record, so that
        Lambda's retry finds the lease that much nearer its end. @default 30 s:
        half the default 60 s timeout, so a crashed invocation's claim is taken
        over by the second retry, however fast Lambda retries.
    :param clock: epoch seconds. @default ``time.time``.
    :param sleep: waits for another holder's lease. @default ``time.sleep``.
    :raises IdempotencyError: no store is given and ``$IDEMPOTENCY_TABLE_NAME``
        is unset, or ``ttl_seconds`` is below 1.
    """

    def __init__(
        self,
        store: IdempotencyStore | None = None,
        *,
        key: Callable[[ChangeRecord], str | None] = event_id_key,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        lease_seconds: float | None = None,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(ttl_seconds, int) or ttl_seconds < 1:
            raise IdempotencyError(f"ttl_seconds must be an int >= 1, got {ttl_seconds!r}")
        if store is None:
            table = os.environ.get(TABLE_ENV)
            if not table:
                raise IdempotencyError(
                    f"no idempotency store: ${TABLE_ENV} is not set. Create the table with "
                    "StreamProcessor(idempotency=True), which sets it, or pass "
                    "IdempotencyGuard(store=...)"
                )
            from .idempotency_dynamodb import DynamoDBIdempotencyStore

            store = DynamoDBIdempotencyStore(table)
        self.store = store
        self._key = key
        self.ttl_seconds = ttl_seconds
        self.lease_seconds = lease_seconds
        self.max_wait_seconds = max_wait_seconds
        self.clock = clock
        self.sleep = sleep
        self._token = ""

    def start_batch(self, context: Any) -> None:
        """Called by the router once per batch: a fresh token names this invocation's claims."""
        request_id = getattr(context, "aws_request_id", None)
        if not request_id:
            import uuid

            request_id = uuid.uuid4().hex
        self._token = str(request_id)

    def key(self, record: ChangeRecord) -> str:
        """The record's idempotency key.

        :raises IdempotencyKeyError: the key function gave None or an empty string.
        """
        key = self._key(record)
        if not isinstance(key, str) or not key:
            raise IdempotencyKeyError(
                f"the idempotency key of {record!r} is {key!r}; the key function must "
                "return a non-empty string"
            )
        return key

    def _lease_end(self, now: float, context: Any) -> tuple[float, float]:
        """(when our lease runs out, when this invocation must stop waiting)."""
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        deadline = now + (
            remaining_ms() / 1000 if callable(remaining_ms) else DEFAULT_LEASE_SECONDS
        )
        lease = now + self.lease_seconds if self.lease_seconds is not None else deadline
        return lease, deadline

    def _claim(self, key: str, context: Any) -> tuple[float, float, Claim | None]:
        now = self.clock()
        lease, deadline = self._lease_end(now, context)
        holder = self.store.claim(
            key,
            token=self._token,
            now=now,
            lease_expires=lease,
            expires_at=int(now + self.ttl_seconds),
        )
        return now, deadline, holder

    def begin(self, record: ChangeRecord, context: Any = None) -> str | None:
        """Claim the record; return its key, or None when it already completed (skip it).

        :raises RecordInProgressError: another invocation's claim outlasts this one.
        :raises IdempotencyError: no usable key, or the store failed.
        """
        key = self.key(record)
        started = self.clock()
        while True:
            now, deadline, holder = self._claim(key, context)
            if holder is None:
                return key
            if holder.status == COMPLETED:
                return None
            expires = holder.lease_expires if holder.lease_expires is not None else deadline
            # How long this invocation may still wait: max_wait in all, and never
            # into the margin it keeps to run the route once it has the claim.
            budget = min(
                started + self.max_wait_seconds - now, deadline - _WAIT_MARGIN_SECONDS - now
            )
            if budget <= 0:
                raise RecordInProgressError(key, expires)
            # Wait the holder's lease out when it ends within the budget, and
            # claim again. When it does not, still wait the budget before
            # failing the record: Lambda may retry a stream batch at once, and
            # retries that failed at once would all be spent while a crashed
            # invocation's claim runs out.
            needed = max(0.0, expires - now)
            self.sleep(needed + 0.001 if needed <= budget else budget)

    def complete(self, key: str) -> None:
        """Mark the record COMPLETED (after its route returned)."""
        self.store.complete(key, token=self._token, expires_at=int(self.clock() + self.ttl_seconds))

    def release(self, key: str) -> None:
        """Drop the claim of a record whose route raised, so a retry need not wait.

        Never raises: the route's error is the one to report, and an
        unreleased claim still runs out with its lease.
        """
        # The lease bounds a claim we fail to drop.
        with contextlib.suppress(Exception):
            self.store.release(key, token=self._token)


__all__ = [
    "COMPLETED",
    "DEFAULT_TTL_SECONDS",
    "IN_PROGRESS",
    "TABLE_ENV",
    "Claim",
    "IdempotencyError",
    "IdempotencyGuard",
    "IdempotencyKeyError",
    "IdempotencyStore",
    "IdempotencyStoreError",
    "InMemoryIdempotencyStore",
    "RecordInProgressError",
    "event_id_key",
]
