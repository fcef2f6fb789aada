"""StreamReader: read a DynamoDB stream through the public Streams API, shard by shard.

It works the same against the local cloud and against a real table's stream:
give it any boto3 ``dynamodbstreams`` client (real credentials, or an
``endpoint_url``). It does what a stream consumer has to do and nothing more:

* discovers shards with DescribeStream (paginated), again every
  ``rediscover_interval`` seconds and whenever a shard closes;
* keeps lineage order: a child shard is read only after its parent is read to
  its end (or the parent has been trimmed away), so changes to one key come
  out in the order they were made;
* starts at ``TRIM_HORIZON``, ``LATEST``, or after a checkpointed sequence
  number per shard (``AFTER_SEQUENCE_NUMBER``), and remembers the last sequence
  number read per shard so an expired iterator is renewed without loss.

Records come back exactly as boto3 returns them (``datetime`` for
``ApproximateCreationDateTime``, ``bytes`` for ``B``); turn them into what the
Lambda runtime hands a function with :func:`cdk_streams.local.events.lambda_record`.

    reader = StreamReader(boto3.client("dynamodbstreams"), stream_arn, starting_position="LATEST")
    reader.start()                        # LATEST is fixed here, before any write you care about
    for batch in reader.read():           # one GetRecords per readable shard
        for record in batch.records: ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

#: Positions a reader can start from (AT_SEQUENCE_NUMBER is only used internally).
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")
#: GetRecords returns at most this many records (the API's own maximum).
MAX_LIMIT = 1000


class StreamReaderError(RuntimeError):
    """The stream cannot be read as asked (unknown position, disabled stream ...)."""


def check_reader_settings(starting_position: str, limit: int, max_limit: int) -> None:
    """Raise :class:`StreamReaderError` for a position or a GetRecords limit the API refuses."""
    if starting_position not in STARTING_POSITIONS:
        raise StreamReaderError(
            f"starting_position must be TRIM_HORIZON or LATEST, got {starting_position!r}"
        )
    if not 1 <= limit <= max_limit:
        raise StreamReaderError(f"limit must be 1..{max_limit}, got {limit}")


@dataclass
class ShardState:
    """What the reader knows about one shard."""

    shard_id: str
    parent_id: str | None
    starting_sequence_number: str | None
    ending_sequence_number: str | None = None
    iterator: str | None = None
    #: The last sequence number read from this shard, or the checkpoint it started after.
    last_sequence_number: str | None = None
    #: Read to its end: closed, and GetRecords returned no next iterator.
    exhausted: bool = False
    #: Skipped on purpose (a closed shard when starting at LATEST).
    skipped: bool = False
    #: Found by start(): it begins at the reader's starting position. Shards
    #: found later begin at TRIM_HORIZON, since all they hold is new.
    initial: bool = False

    @property
    def done(self) -> bool:
        return self.exhausted or self.skipped


@dataclass
class ShardRecords:
    """The records one GetRecords call returned for one shard (possibly none)."""

    shard_id: str
    records: list[dict[str, Any]] = field(default_factory=list)


class StreamReader:
    """Reads every shard of one stream in lineage order.

    :param client: a boto3 ``dynamodbstreams`` client.
    :param stream_arn: the stream's ARN (``LatestStreamArn`` of the table).
    :param starting_position: ``TRIM_HORIZON`` or ``LATEST``, for shards with no
        checkpoint. @default "TRIM_HORIZON".
    :param checkpoints: shard id -> sequence number already processed; those
        shards resume right after it. @default - none.
    :param limit: records per GetRecords call, 1..1000. @default 1000.
    :param rediscover_interval: seconds between DescribeStream calls looking for
        new shards. @default 1.0 (DescribeStream allows 10 calls per second).
    :param clock: a monotonic clock, replaceable in tests. @default time.monotonic.
    """

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        *,
        starting_position: str = "TRIM_HORIZON",
        checkpoints: Mapping[str, str] | None = None,
        limit: int = MAX_LIMIT,
        rediscover_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_reader_settings(starting_position, limit, MAX_LIMIT)
        self.client = client
        self.stream_arn = stream_arn
        self.starting_position = starting_position
        self.limit = limit
        self.rediscover_interval = rediscover_interval
        self._clock = clock
        self._checkpoints = dict(checkpoints or {})
        self.shards: dict[str, ShardState] = {}
        self._started = False
        self._last_discovery = float("-inf")

    # -- discovery ---------------------------------------------------------

    def _describe(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.client.describe_stream(**kwargs)["StreamDescription"]
            if description.get("StreamStatus") == "DISABLED" and not self._started:
                raise StreamReaderError(f"stream {self.stream_arn} is disabled")
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def discover(self) -> list[str]:
        """Look for shards this reader does not know yet; return their ids."""
        self._last_discovery = self._clock()
        new: list[str] = []
        for shard in self._describe():
            shard_id = shard["ShardId"]
            numbers = shard.get("SequenceNumberRange", {})
            known = self.shards.get(shard_id)
            if known is not None:
                known.ending_sequence_number = numbers.get("EndingSequenceNumber")
                continue
            state = ShardState(
                shard_id=shard_id,
                parent_id=shard.get("ParentShardId"),
                starting_sequence_number=numbers.get("StartingSequenceNumber"),
                ending_sequence_number=numbers.get("EndingSequenceNumber"),
                initial=not self._started,
            )
            if shard_id in self._checkpoints:
                state.last_sequence_number = self._checkpoints[shard_id]
            elif (
                not self._started
                and self.starting_position == "LATEST"
                and state.ending_sequence_number is not None
            ):
                # LATEST means "changes from now on": a closed shard has none.
                state.skipped = True
            self.shards[shard_id] = state
            new.append(shard_id)
        return new

    def start(self) -> None:
        """Discover the shards and fix the starting positions now.

        With ``LATEST`` this is the moment "from now on" refers to, as when
        Lambda creates a mapping: call it before the writes you want to see.
        """
        self.discover()
        for state in self.shards.values():
            fresh = not state.done and state.last_sequence_number is None
            if fresh and self.starting_position == "LATEST":
                state.iterator = self._iterator(state, "LATEST")
        self._started = True

    # -- reading -----------------------------------------------------------

    def _iterator(self, state: ShardState, kind: str, sequence_number: str | None = None) -> str:
        kwargs: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": state.shard_id,
            "ShardIteratorType": kind,
        }
        if sequence_number is not None:
            kwargs["SequenceNumber"] = sequence_number
        return self.client.get_shard_iterator(**kwargs)["ShardIterator"]

    def _fresh_iterator(self, state: ShardState) -> str:
        """An iterator at the shard's current position (first use, or after expiry)."""
        if state.last_sequence_number is not None:
            return self._iterator(state, "AFTER_SEQUENCE_NUMBER", state.last_sequence_number)
        if state.initial:
            return self._iterator(state, self.starting_position)
        return self._iterator(state, "TRIM_HORIZON")

    def parent_of(self, shard_id: str) -> str | None:
        """The parent shard id, when the parent is still known to this reader."""
        parent = self.shards[shard_id].parent_id
        return parent if parent in self.shards else None

    def readable(self) -> list[str]:
        """Shards that may be read now: not done, and their parent read to its end."""
        ready = []
        for shard_id, state in self.shards.items():
            if state.done:
                continue
            parent = self.parent_of(shard_id)
            if parent is None or self.shards[parent].done:
                ready.append(shard_id)
        return ready

    def read_shard(self, shard_id: str) -> ShardRecords:
        """One GetRecords call on one shard; renews an expired iterator once."""
        state = self.shards[shard_id]
        if state.done:
            return ShardRecords(shard_id)
        if state.iterator is None:
            state.iterator = self._fresh_iterator(state)
        try:
            response = self.client.get_records(ShardIterator=state.iterator, Limit=self.limit)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ExpiredIteratorException":
                state.iterator = self._fresh_iterator(state)
                response = self.client.get_records(ShardIterator=state.iterator, Limit=self.limit)
            elif code == "TrimmedDataAccessException":
                # The position fell out of the 24 h retention: go on from the oldest record.
                state.last_sequence_number = None
                state.iterator = self._iterator(state, "TRIM_HORIZON")
                response = self.client.get_records(ShardIterator=state.iterator, Limit=self.limit)
            elif code == "ResourceNotFoundException":
                state.exhausted = True
                return ShardRecords(shard_id)
            else:
                raise
        records = response.get("Records", [])
        if records:
            state.last_sequence_number = records[-1]["dynamodb"]["SequenceNumber"]
        state.iterator = response.get("NextShardIterator")
        if state.iterator is None:
            # Closed and fully read: its children may now be read.
            state.exhausted = True
            self._last_discovery = float("-inf")
        return ShardRecords(shard_id, records)

    def read(self) -> list[ShardRecords]:
        """One GetRecords call on every readable shard, rediscovering shards when due."""
        if not self._started:
            self.start()
        elif self._clock() - self._last_discovery >= self.rediscover_interval:
            self.discover()
        return [self.read_shard(shard_id) for shard_id in self.readable()]

    @property
    def finished(self) -> bool:
        """Every known shard read to its end (only once the table's stream is disabled)."""
        return bool(self.shards) and all(state.done for state in self.shards.values())
