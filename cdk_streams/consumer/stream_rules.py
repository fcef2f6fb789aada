"""The two stream rules the consumer applies: Lambda's record shape and the partial-batch rule.

Both belong to the stream package; this module is the consumer's single
point of contact with them, so that moving them changes one file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def lambda_record(record: dict[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """One boto3 stream record as the Lambda runtime hands it to a function."""
    # Imported on first use: importing the consumer must not load the local cloud (moto).
    from ..local.events import lambda_record as build  # to become cdk_streams.streams.records

    return build(record, stream_arn=stream_arn)


def first_failed_index(sequence_numbers: Sequence[str], response: object) -> int | None:
    """Where a batch's retry starts, from a ``batchItemFailures`` response.

    None: the whole batch succeeded; 0: the whole batch failed; k: the
    records before k succeeded and the retry starts at k. A response that is
    not an object reports no failures; a null, empty or unknown identifier
    fails the whole batch (Lambda's rules with ReportBatchItemFailures).
    """
    # To be replaced by cdk_streams.streams.partial_batch.first_failed_index.
    if not isinstance(response, Mapping):
        return None
    failures = response.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0
    index = {sequence_number: i for i, sequence_number in enumerate(sequence_numbers)}
    positions = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in index:
            return 0
        positions.append(index[identifier])
    return min(positions)
