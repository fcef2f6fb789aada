"""Lambda's partial batch response rule: which records a response marks failed,
and so where the shard's checkpoint moves.

With ``FunctionResponseTypes: [ReportBatchItemFailures]`` a function returns
``{"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}, ...]}``.
Lambda checkpoints before the lowest reported sequence number and retries the
batch from there. As recorded on AWS:

* ``None``, ``[]``, ``{}``, any other non-object response,
  ``{"batchItemFailures": null}`` and ``{"batchItemFailures": []}`` (any empty
  value) mean the whole batch succeeded;
* an identifier that is null, empty, not a string or not in the batch, an
  entry without ``itemIdentifier``, or a ``batchItemFailures`` that is not a
  list fails the whole batch.

The rule only applies when the function returned normally: a function error
fails the whole batch before any response is read
(:func:`invocation_failed_index`). Whatever reads a response, Lambda's
mappings, the consumer, redrive and backfill, reads it here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

# The keys are the runtime's, which writes the responses this module reads.
from stream_runtime.router import FAILURES_KEY, IDENTIFIER_KEY

R = TypeVar("R")


def first_failed_index(sequence_numbers: Sequence[str], response: object) -> int | None:
    """Where a batch failed, according to a function's partial batch response.

    :param sequence_numbers: the batch's sequence numbers, in delivery order.
    :param response: what the function returned (parsed JSON).
    :returns: None when the whole batch succeeded; otherwise the index of the
        first record to retry: 0 fails the whole batch, k checkpoints the k
        records before it.
    """
    failures = _reported(response)
    if failures is None:
        return None
    if not isinstance(failures, list):
        return 0
    index = _positions(sequence_numbers)
    positions = []
    for failure in failures:
        position = _position(failure, index)
        if position is None:
            return 0
        positions.append(position)
    return min(positions)


def unknown_failures(sequence_numbers: Sequence[str], response: object) -> list[object]:
    """The reported failures that name no record of the batch.

    Each one fails the whole batch (:func:`first_failed_index` answers 0), so
    this is what to show someone whose response was not understood.

    :param sequence_numbers: the batch's sequence numbers, in delivery order.
    :param response: what the function returned (parsed JSON).
    :returns: the ``batchItemFailures`` entries whose identifier is missing,
        not a string or not in the batch, in the response's order; a
        ``batchItemFailures`` that is not a list, whole, as the only entry;
        ``[]`` when the response reports nothing or names only the batch's
        records.
    """
    failures = _reported(response)
    if failures is None:
        return []
    if not isinstance(failures, list):
        return [failures]
    index = _positions(sequence_numbers)
    return [failure for failure in failures if _position(failure, index) is None]


def invocation_failed_index(
    records: Sequence[R],
    sequence: Callable[[R], str],
    *,
    ok: bool,
    response: object,
    report_batch_item_failures: bool,
) -> int | None:
    """Where one invocation left a batch, as an event-source mapping reads it.

    A function error fails the whole batch before any response is read.
    Without ``report_batch_item_failures`` a normal return succeeds the whole
    batch whatever it says; with it the response is read by
    :func:`first_failed_index`.

    :param records: the batch, in delivery order.
    :param sequence: a record's sequence number (the failures' ``itemIdentifier``);
        only called when the response is read.
    :param ok: False when the function raised, timed out or crashed.
    :param response: what the function returned (parsed JSON) when ``ok``.
    :param report_batch_item_failures: the mapping's ``ReportBatchItemFailures``.
    :returns: None when the whole batch succeeded, else the index of the first
        record to retry.
    """
    if not ok:
        return 0
    if not report_batch_item_failures:
        return None
    return first_failed_index([sequence(record) for record in records], response)


def split_at_failure(batch: Sequence[R], failed_from: int | None) -> tuple[list[R], list[R]]:
    """The records a failure index checkpoints, and the ones retried from it.

    :param batch: the batch that was delivered.
    :param failed_from: what :func:`first_failed_index` (or
        :func:`invocation_failed_index`) made of it: None, all succeeded.
    :returns: ``(succeeded, to_retry)``; ``to_retry`` is empty when the whole
        batch succeeded, ``succeeded`` when the whole batch failed.
    """
    if failed_from is None:
        return list(batch), []
    return list(batch[:failed_from]), list(batch[failed_from:])


def _reported(response: object) -> object:
    """The response's ``batchItemFailures``, or None when it reports no failure."""
    if not isinstance(response, Mapping):
        return None
    failures = response.get(FAILURES_KEY)
    # Any empty value (null, [], {}, "") reports nothing, as on AWS.
    return failures if failures else None


def _positions(sequence_numbers: Sequence[str]) -> dict[str, int]:
    return {number: position for position, number in enumerate(sequence_numbers)}


def _position(failure: object, positions: Mapping[str, int]) -> int | None:
    """The batch position a failure entry names; None when it names no record."""
    identifier = failure.get(IDENTIFIER_KEY) if isinstance(failure, Mapping) else None
    return positions.get(identifier) if isinstance(identifier, str) else None
