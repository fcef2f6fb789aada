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
fails the whole batch before any response is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The response key that lists the failed records.
FAILURES_KEY = "batchItemFailures"
#: The key of one failed record's sequence number.
IDENTIFIER_KEY = "itemIdentifier"


def first_failed_index(sequence_numbers: Sequence[str], response: object) -> int | None:
    """Where a batch failed, according to a function's partial batch response.

    :param sequence_numbers: the batch's sequence numbers, in delivery order.
    :param response: what the function returned (parsed JSON).
    :returns: None when the whole batch succeeded; otherwise the index of the
        first record to retry: 0 fails the whole batch, k checkpoints the k
        records before it.
    """
    if not isinstance(response, Mapping):
        return None
    failures = response.get(FAILURES_KEY)
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0
    index = {number: position for position, number in enumerate(sequence_numbers)}
    positions = []
    for failure in failures:
        identifier = failure.get(IDENTIFIER_KEY) if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in index:
            return 0
        positions.append(index[identifier])
    return min(positions)
