"""Lambda's delivery rules for the batches of one shard of one mapping.

:class:`ShardDelivery` takes a batch and carries it to completion, as Lambda
does: processed, or skipped with an on-failure record. The function and the
clock are injected, so the same rules run against a real function on the wall
clock and against a fake function on a virtual one.

* A function error fails the whole batch. With ``report_batch_item_failures``
  a normal response is read by :func:`~.partial_batch.first_failed_index`:
  the records before the first failure are checkpointed, the rest retried
  (:func:`~.partial_batch.invocation_failed_index`).
* ``bisect_batch_on_error``: a failing batch of more than one record is split
  in two halves (:func:`halves`), first half first; splitting uses no retry
  attempts.
* ``retry_attempts`` (-1: until the records expire) and ``max_record_age``:
  when either runs out, the batch is skipped and, with ``on_failure``, the
  on-failure record (:mod:`.on_failure`) goes to the destination.

Records are handled in order: nothing after a failing record is checkpointed
before that record is processed or skipped.

With ``tumbling_window`` the rules of :mod:`.tumbling_window` apply on top: a
batch is cut at window boundaries, each invocation carries the window's state
and must return the new one, and :meth:`ShardDelivery.finish_window` sends the
final invocation of a window that has ended.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .counts import MappingCounts
from .on_failure import RECORD_AGE_EXCEEDED, RETRY_ATTEMPTS_EXHAUSTED, FailedBatch
from .partial_batch import invocation_failed_index, split_at_failure
from .settings import MappingConfig
from .tumbling_window import ShardWindows, split_by_window

R = TypeVar("R")


def halves(batch: Sequence[R]) -> tuple[list[R], list[R]]:
    """Lambda's bisection of a failing batch: two halves, the first one the
    smaller when the count is odd; the first half is delivered first.
    """
    middle = len(batch) // 2
    return list(batch[:middle]), list(batch[middle:])


class Invocation(Protocol):
    """The outcome of one invocation, as the mapping sees it."""

    @property
    def request_id(self) -> str: ...

    @property
    def ok(self) -> bool:
        """False when the function raised, timed out or crashed."""
        ...

    @property
    def payload(self) -> Any:
        """The function's response (parsed JSON) when ok."""
        ...

    @property
    def function_error(self) -> str | None:
        """Lambda's ``FunctionError``: ``"Unhandled"`` when not ok, else None."""
        ...


@dataclass(frozen=True)
class InvokeOutcome:
    """A plain :class:`Invocation`, for fake functions and simulators."""

    request_id: str
    ok: bool
    payload: Any = None

    @property
    def function_error(self) -> str | None:
        return None if self.ok else "Unhandled"


#: Runs the function on an event (``{"Records": [...]}``) and returns how it went.
Invoke = Callable[[dict[str, Any]], Invocation]
#: Sends the on-failure record of a skipped batch to a destination ARN.
SendOnFailure = Callable[[str, FailedBatch], None]


class Stopped(Exception):
    """The delivery is stopping: it gives up between attempts (nothing is checkpointed)."""


class ShardDelivery:
    """Lambda's delivery rules for the batches of one shard of one mapping.

    :param config: the mapping's settings.
    :param shard_id: the shard the batches come from.
    :param invoke: runs the function on an event; returns its outcome.
    :param clock: epoch seconds now: the record age and the on-failure record's
        ``timestamp`` are measured on it. Pass ``time.time`` for real time.
    :param send_on_failure: delivers a skipped batch's on-failure record to
        ``config.on_failure``. @default - none (skipped batches leave no trace,
        as in Lambda without a destination).
    :param counts: where to count what happens. @default - a new MappingCounts.
    :param stopping: when it returns True, a delivery raises :class:`Stopped`
        before its next attempt, so endless retries cannot hold up shutdown.
        @default - never.
    :param new_request_id: a request id for an on-failure record written
        before any invocation. @default - a random UUID.
    """

    def __init__(
        self,
        config: MappingConfig,
        shard_id: str,
        invoke: Invoke,
        *,
        clock: Callable[[], float],
        send_on_failure: SendOnFailure | None = None,
        counts: MappingCounts | None = None,
        stopping: Callable[[], bool] = lambda: False,
        new_request_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.config = config
        self.shard_id = shard_id
        self._invoke = invoke
        self._send = send_on_failure
        self.counts = counts if counts is not None else MappingCounts()
        self._now = clock
        self._stopping = stopping
        self._new_request_id = new_request_id
        self._highest_delivered = -1
        self._shape = config.shape
        #: Every batch handed to the function, in order (sequence numbers).
        self.invocation_log: list[list[str]] = []
        #: The tumbling window's state, when the mapping has one.
        self.windows: ShardWindows | None = (
            ShardWindows(config.tumbling_window, shard_id, config.event_source_arn)
            if config.tumbling_window
            else None
        )

    def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        """Deliver one batch to completion: processed, or skipped to the destination.

        With a tumbling window the batch is cut at window boundaries, and a
        window that the batch's records leave behind gets its final
        invocation first.
        """
        if not batch:
            return
        windows = self.windows
        if windows is None:
            self._deliver(list(batch), retries_used=0, invoke_count=0)
            return
        runs = split_by_window(batch, self._shape.arrival, windows.seconds, now=self._now())
        for window, records in runs:
            if windows.open is not None and windows.open != window:
                self._final_invocation(terminated_early=False)
            windows.enter(window)
            self._deliver(records, retries_used=0, invoke_count=0)

    def finish_window(self, now: float) -> bool:
        """Send the final invocation of the open window if it has ended by ``now``.

        The caller makes sure no record of that window is still to come (read
        or buffered). Returns whether a final invocation was sent.
        """
        if self.windows is None or not self.windows.due(now):
            return False
        self._final_invocation(terminated_early=False)
        return True

    def _final_invocation(self, *, terminated_early: bool) -> None:
        """Hand the window's state over, retrying until the function succeeds.

        Lambda suspends the shard until the final invocation succeeds, so no
        retry limit applies; :class:`Stopped` still ends the wait.
        """
        windows = self.windows
        assert windows is not None
        while True:
            if self._stopping():
                raise Stopped
            self.counts.invocations += 1
            self.counts.final_invocations += 1
            outcome = self._invoke(windows.event([], final=True, terminated_early=terminated_early))
            if outcome.ok:
                break
            self.counts.function_errors += 1
            self.counts.retries += 1
        if terminated_early:
            self.counts.windows_terminated_early += 1
            windows.restart()
        else:
            windows.close()

    def _deliver(self, batch: list[dict[str, Any]], retries_used: int, invoke_count: int) -> None:
        last: Invocation | None = None
        while batch:
            batch = self._drop_expired(batch, invoke_count, last)
            if not batch:
                return
            last = self._call(batch)
            invoke_count += 1
            failed_from = self.failed_from(batch, last)
            if self._ended_early():
                continue  # the same records again, on a fresh state: not a retry
            succeeded, batch = split_at_failure(batch, failed_from)
            if succeeded:
                self._succeed(succeeded)
            if not batch:
                return
            if self.config.bisect_batch_on_error and len(batch) > 1:
                self.counts.bisections += 1
                first, second = halves(batch)
                self._deliver(first, retries_used, invoke_count)
                self._deliver(second, retries_used, invoke_count)
                return
            limit = self.config.retry_attempts
            if limit != -1 and retries_used >= limit:
                self._give_up(batch, RETRY_ATTEMPTS_EXHAUSTED, invoke_count, last)
                return
            retries_used += 1
            self.counts.retries += 1

    def failed_from(self, batch: Sequence[dict[str, Any]], outcome: Invocation) -> int | None:
        """None when the batch succeeded, else the index of the first record to retry."""
        failed = invocation_failed_index(
            batch,
            self._shape.sequence,
            ok=outcome.ok,
            response=outcome.payload,
            report_batch_item_failures=self.config.report_batch_item_failures,
        )
        # A function error carries no state: only a normal response moves the window.
        if outcome.ok and self.windows is not None:
            failed = self.windows.take(outcome.payload, failed)
        return failed

    def _ended_early(self) -> bool:
        """A state over 1 MB ends the window early, if it holds a state to hand over.

        The final invocation (``isWindowTerminatedEarly``) gets the last state
        that fit; the window goes on with a fresh one. A batch that overflows a
        fresh state fails as any invocation does.
        """
        windows = self.windows
        if windows is None or not windows.too_large:
            return False
        windows.too_large = False
        if not windows.has_state:
            return False
        self._final_invocation(terminated_early=True)
        return True

    def _call(self, batch: list[dict[str, Any]]) -> Invocation:
        if self._stopping():
            raise Stopped
        sequences = [self._shape.sequence(record) for record in batch]
        for sequence in sequences:
            number = int(sequence)
            if number > self._highest_delivered:
                self._highest_delivered = number
                self.counts.delivered += 1
        self.invocation_log.append(sequences)
        self.counts.invocations += 1
        event = {"Records": batch} if self.windows is None else self.windows.event(batch)
        outcome = self._invoke(event)
        if not outcome.ok:
            self.counts.function_errors += 1
        return outcome

    def _succeed(self, records: list[dict[str, Any]]) -> None:
        self.counts.succeeded += len(records)
        self.counts.by_event.update(self._shape.event_name(record) for record in records)

    def _drop_expired(
        self, batch: list[dict[str, Any]], invoke_count: int, last: Invocation | None
    ) -> list[dict[str, Any]]:
        limit = self.config.max_record_age
        if limit is None:
            return batch
        now = self._now()
        expired = 0
        for record in batch:
            arrival = self._shape.arrival(record)
            if arrival is None or now - arrival <= limit:
                break
            expired += 1
        if expired:
            self._give_up(batch[:expired], RECORD_AGE_EXCEEDED, invoke_count, last)
        return batch[expired:]

    def _give_up(
        self,
        batch: list[dict[str, Any]],
        condition: str,
        invoke_count: int,
        last: Invocation | None,
    ) -> None:
        self.counts.failed += len(batch)
        destination = self.config.on_failure
        if destination is None or self._send is None:
            return
        self._send(destination, self.failed_batch(batch, condition, invoke_count, last))
        self.counts.sent_to_on_failure += len(batch)
        self.counts.on_failure_messages += 1

    def failed_batch(
        self,
        batch: Sequence[dict[str, Any]],
        condition: str,
        invoke_count: int,
        last: Invocation | None,
    ) -> FailedBatch:
        """The description of a skipped batch its on-failure record is built from."""
        return FailedBatch(
            mapping_uuid=self.config.uuid,
            function_arn=self.config.function_arn,
            stream_arn=self.config.event_source_arn,
            shard_id=self.shard_id,
            records=list(batch),
            condition=condition,
            invoke_count=invoke_count,
            request_id=last.request_id if last is not None else self._new_request_id(),
            function_error=last.function_error if last is not None else None,
            failed_at=self._now(),
        )
