"""Delivery: hand a shard's batch to the application, apply the failure rules, retry.

One batch at a time per shard, in order. A failure is ordered, as in
Lambda with ``ReportBatchItemFailures``: the records before the first failed
one count as processed (checkpointed), the retry starts at it. After
``max_retries`` retries, ``on_failure`` decides:

* ``failure_scope="batch"`` (the default): it receives the failing record and
  every record after it in the batch. If it returns, they all count as
  handled; if it raises (the default hook does), the consumer stops. Later
  changes of a key are never processed before an earlier failed one.
* ``failure_scope="record"``: it receives only the failing record, then the
  rest of the batch is delivered again. A poison record no longer drags the
  healthy records behind it along, at a price: a later change of the same
  key may be processed although an earlier one was set aside. When the
  callback raised (no record named), the batch is retried one record at a
  time to find the failing one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from ..streams.partial_batch import (
    FAILURES_KEY,
    IDENTIFIER_KEY,
    first_failed_index,
    unknown_failures,
)
from .errors import ConsumerError
from .runtime import ConsumerContext, LambdaHandler
from .stats import ConsumerStats

log = logging.getLogger("cdk_streams.consumer")

#: A callback: receives the batch's ChangeRecords; returns None, failed
#: sequence numbers, or a partial-batch response.
Callback = Callable[[list[Any]], Any]

#: What ``on_failure`` receives: the rest of the batch, or the one failing record.
FAILURE_SCOPES = ("batch", "record")


class DeliveryError(ConsumerError):
    """A batch still failed after every retry, and the on-failure hook did not handle it."""

    def __init__(self, failure: DeliveryFailure) -> None:
        self.failure = failure
        super().__init__(failure.describe())


class CallbackTimeoutError(ConsumerError):
    """The callback ran longer than ``callback_timeout``; the consumer stopped."""


@dataclass(frozen=True)
class DeliveryFailure:
    """The records of one shard that still fail after the retries."""

    shard_id: str
    #: The records, Lambda-shaped, in stream order: from the first failure to
    #: the end of the batch, or only the failing one (``failure_scope="record"``).
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


def _sequence_number(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class BatchDelivery:
    """Calls the application on one shard's batches, with Lambda's ordered failure rules.

    :param callback: receives ChangeRecords (give it or ``handler``).
    :param handler: a Lambda handler ``(event, context)``.
    :param change_record: the runtime's ChangeRecord class, for ``callback``.
    :param worker_id: the context's function name, for ``handler``.
    :param max_retries: retries before ``on_failure``; -1 forever.
    :param retry_delay: seconds before the first retry, doubled each time, at most 30.
    :param on_failure: receives a :class:`DeliveryFailure`.
    :param failure_scope: ``"batch"`` or ``"record"`` (see the module).
    :param callback_timeout: seconds a call may take, or None for no limit.
    :param wait: waits between retries; returns True when the consumer is stopping.
    :param stats: counts calls, records, retries, skips.
    """

    def __init__(
        self,
        *,
        callback: Callback | None,
        handler: LambdaHandler | None,
        change_record: type | None,
        worker_id: str,
        max_retries: int,
        retry_delay: float,
        on_failure: Callable[[DeliveryFailure], Any],
        failure_scope: str,
        callback_timeout: float | None,
        wait: Callable[[float], bool],
        stats: ConsumerStats,
    ) -> None:
        self._callback = callback
        self._handler = handler
        self._change_record = change_record
        self.worker_id = worker_id
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.on_failure = on_failure
        self.failure_scope = failure_scope
        self.callback_timeout = callback_timeout
        self._wait = wait
        self.stats = stats

    # -- one call ----------------------------------------------------------------

    def _invoke(self, batch: list[dict[str, Any]]) -> Any:
        if self._handler is not None:
            if self.callback_timeout is None:
                context = ConsumerContext(self.worker_id)
            else:  # get_remaining_time_in_millis() counts down to the timeout, as in Lambda
                context = ConsumerContext(
                    self.worker_id, timeout_ms=int(self.callback_timeout * 1000)
                )
            return self._handler({"Records": batch}, context)
        assert self._callback is not None and self._change_record is not None
        return self._callback([self._change_record(record) for record in batch])

    def call(self, shard_id: str, batch: list[dict[str, Any]]) -> Any:
        """One call of the application, within ``callback_timeout`` when one is set."""
        if self.callback_timeout is None:
            return self._invoke(batch)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["response"] = self._invoke(batch)
            except BaseException as error:  # handed to the waiting thread
                outcome["error"] = error

        # Python cannot kill a thread: on timeout it is left running, and the
        # consumer stops so that nothing else is delivered meanwhile.
        thread = threading.Thread(target=run, name=f"callback-{shard_id}", daemon=True)
        thread.start()
        thread.join(self.callback_timeout)
        if thread.is_alive():
            raise CallbackTimeoutError(
                f"shard {shard_id}: the callback ran longer than callback_timeout="
                f"{self.callback_timeout} s on {len(batch)} record(s) from sequence number "
                f"{_sequence_number(batch[0])}; nothing was checkpointed, the batch will be "
                "delivered again after a restart"
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("response")

    def failed_from(self, batch: list[dict[str, Any]], response: Any) -> int | None:
        """None when the whole batch succeeded, else the index of the first record to retry."""
        if self._callback is not None:
            if isinstance(response, list | tuple):
                response = {FAILURES_KEY: [{IDENTIFIER_KEY: i} for i in response]}
            elif response is not None and not isinstance(response, dict):
                raise ConsumerError(
                    f"callback returned {response!r}; expected None, a list of failed sequence "
                    'numbers, or {"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}]}'
                )
        sequence_numbers = [_sequence_number(r) for r in batch]
        index = first_failed_index(sequence_numbers, response)
        # An unknown identifier always fails the whole batch: any other index
        # spares the second pass over the response.
        if index == 0:
            unknown = unknown_failures(sequence_numbers, response)
            if unknown:
                log.warning("unknown failure identifier in %r: retrying the whole batch", unknown)
        return index

    # -- a batch ---------------------------------------------------------------------

    def deliver(
        self,
        shard_id: str,
        batch: list[dict[str, Any]],
        *,
        owned: Callable[[], bool],
        checkpoint: Callable[[str, int], bool],
    ) -> bool:
        """Deliver one batch until processed or handed to ``on_failure``.

        :param owned: checked before every call: False stops at once.
        :param checkpoint: ``(sequence number, records processed)``; False when
            the lease was lost (nothing more is delivered).
        :returns: False when interrupted (lease lost, stopping).
        """
        retries = 0
        while batch:
            # A lost lease stops the shard before the next call, retries included.
            if not owned():
                return False
            self.stats.batches += 1
            self.stats.delivered += len(batch)
            error: Exception | None = None
            try:
                response = self.call(shard_id, batch)
            except CallbackTimeoutError:
                raise
            except Exception as exc:  # a BaseException is a crash: nothing is checkpointed
                error = exc
                log.warning(
                    "shard %s: batch of %d from %s failed: %s",
                    shard_id,
                    len(batch),
                    _sequence_number(batch[0]),
                    exc,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                failed: int | None = 0
            else:
                failed = self.failed_from(batch, response)
            if failed is None:
                if not checkpoint(_sequence_number(batch[-1]), len(batch)):
                    return False
                self.stats.processed += len(batch)
                return True
            if failed > 0:
                if not checkpoint(_sequence_number(batch[failed - 1]), failed):
                    return False
                self.stats.processed += failed
                batch = batch[failed:]
            if self.max_retries != -1 and retries >= self.max_retries:
                named_none = error is not None or failed == 0
                if self.failure_scope == "record" and len(batch) > 1 and named_none:
                    # The call named no record: find the failing one alone.
                    if not self.deliver(shard_id, batch[:1], owned=owned, checkpoint=checkpoint):
                        return False
                    batch, retries = batch[1:], 0
                    continue
                failing = batch[:1] if self.failure_scope == "record" else batch
                self.on_failure(DeliveryFailure(shard_id, failing, retries + 1, error))
                # The hook returned: the application took care of these records.
                self.stats.skipped += len(failing)
                if not checkpoint(_sequence_number(failing[-1]), 0):
                    return False
                batch, retries = batch[len(failing) :], 0
                continue
            retries += 1
            self.stats.retries += 1
            if self._wait(min(30.0, self.retry_delay * 2 ** (retries - 1))):
                return False  # stopping: the checkpoint stays before the failure
        return True
