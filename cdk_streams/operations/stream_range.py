"""Fetch exactly the records of a skipped batch from its stream, or say what is gone.

An SQS or SNS on-failure record names a shard and a sequence range, not the
records. :func:`fetch_range` reads them back: ``GetShardIterator`` with
``AT_SEQUENCE_NUMBER`` at the start, then ``GetRecords`` until the end
sequence number (inclusive). DynamoDB streams keep records 24 h and Kinesis
for its retention period; what has been trimmed since, or a shard or stream
that no longer exists, is reported in :class:`RangeRead` (how many records
are lost, and why) instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from ..streams.aws_errors import NOT_FOUND, error_code
from .on_failure_source import BatchInfo

#: GetRecords' own maximum per call.
GET_RECORDS_LIMIT = 1000
#: Empty GetRecords answers in a row after which an open shard has nothing more.
MAX_EMPTY_READS = 3

GONE = NOT_FOUND
TRIMMED = "TrimmedDataAccessException"


@dataclass
class RangeRead:
    """What could be read of one recorded range."""

    info: BatchInfo
    #: The records still in the stream, as Lambda hands them to a function, in order.
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Why part of the range could not be read; None when it was read whole.
    problem: str | None = None

    @property
    def lost(self) -> int:
        """Records of the range no longer in the stream (0 when it was read whole)."""
        if self.problem is None:
            return 0
        return max(1, self.info.batch_size - len(self.records))

    @property
    def complete(self) -> bool:
        return self.problem is None


def fetch_range(
    clients: Callable[[str], Any],
    info: BatchInfo,
    *,
    limit: int | None = None,
    max_empty_reads: int = MAX_EMPTY_READS,
) -> RangeRead:
    """Read the records ``info.start`` ..``info.end`` (inclusive) of ``info.shard_id``.

    :param clients: returns a boto3 client for a service name (``dynamodbstreams``
        or ``kinesis``, by the stream ARN).
    :param limit: records per GetRecords call. @default - the batch's size (at
        most 1000): the range holds at least that many, and reading further
        ahead only fetches records past its end.
    """
    if limit is None:
        limit = max(1, min(GET_RECORDS_LIMIT, info.batch_size))
    shape = info.shape
    kinesis = shape.name == "kinesis"
    client = clients("kinesis" if kinesis else "dynamodbstreams")
    where: dict[str, str] = (
        {"StreamName": info.stream_arn.split("/", 1)[1]}
        if kinesis
        else {"StreamArn": info.stream_arn}
    )
    start, end = int(info.start), int(info.end)
    out = RangeRead(info)

    def iterator(kind: str, **extra: str) -> str:
        answer = client.get_shard_iterator(
            **where, ShardId=info.shard_id, ShardIteratorType=kind, **extra
        )
        return str(answer["ShardIterator"])

    try:
        position = (
            iterator("AT_SEQUENCE_NUMBER", StartingSequenceNumber=info.start)
            if kinesis
            else iterator("AT_SEQUENCE_NUMBER", SequenceNumber=info.start)
        )
    except ParamValidationError as error:
        out.problem = f"the recorded range is not a valid stream position: {error}"
        return out
    except ClientError as error:
        if error_code(error) == GONE:
            out.problem = f"the shard or its stream no longer exists ({error_code(error)})"
            return out
        if error_code(error) != TRIMMED:
            out.problem = f"cannot read the range: {error_code(error) or error}"
            return out
        out.problem = "the start of the range is past the stream's trim horizon (expired)"
        position = iterator("TRIM_HORIZON")

    empty = 0
    next_position: str | None = position
    while next_position is not None:
        try:
            answer = client.get_records(ShardIterator=next_position, Limit=limit)
        except ClientError as error:
            out.problem = f"reading stopped: {error_code(error) or error}"
            return out
        raw_records = answer.get("Records", [])
        next_position = answer.get("NextShardIterator")
        empty = 0 if raw_records else empty + 1
        for raw in raw_records:
            record = shape.to_lambda(raw, info.stream_arn, info.shard_id)
            number = int(shape.sequence(record))
            if number < start:
                continue
            if number > end:
                return out
            out.records.append(record)
            if number == end:
                return out
        if empty >= max_empty_reads:
            break
    # The shard ended (or went quiet) before the end sequence number.
    if out.problem is None:
        out.problem = "the range's end is no longer in the shard"
    return out
