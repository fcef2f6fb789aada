"""The shard reader: one interface over DynamoDB Streams and Kinesis Data Streams.

A stream is a tree of shards: a shard closes when it splits, and its
children hold the later changes of the same keys. Every reader therefore
keeps **lineage order** (a child is read only after its parent has been read
to its end, or the parent is gone) and **rediscovers shards** at most once per
``rediscover_interval`` and at once after a shard closes. Both rules are
written once, in :class:`LineageReader`; the DynamoDB and Kinesis readers only
say how to list shards, get an iterator and get records.

Whoever decides *where* a shard is read from (a checkpoint in a lease table, a
mapping's starting position) says so through the verbs :meth:`ShardReader.seek`
and :meth:`ShardReader.forget`; the reader's per-shard state is its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from botocore.exceptions import ClientError

from .aws_errors import error_code

#: Positions a reader can start from.
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")


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
class ShardRecords:
    """The records one GetRecords call returned for one shard (possibly none)."""

    shard_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    #: This call read the shard to its end: closed, and no next iterator.
    end: bool = False


@dataclass(frozen=True)
class ShardInfo:
    """What a reader knows about one shard, as a read-only snapshot."""

    shard_id: str
    parent_id: str | None
    #: The shard has an ending sequence number: it split or the stream was disabled.
    closed: bool
    #: Read to its end: closed, and GetRecords returned no next iterator.
    exhausted: bool
    #: Skipped on purpose: a shard already closed when a LATEST reader started.
    skipped: bool
    #: The last sequence number read, or the checkpoint the shard was sought to.
    last_sequence_number: str | None

    @property
    def done(self) -> bool:
        return self.exhausted or self.skipped


@dataclass(frozen=True)
class ShardListing:
    """One shard as the service lists it."""

    shard_id: str
    parent_id: str | None
    ending_sequence_number: str | None

    @classmethod
    def from_shard(cls, shard: Mapping[str, Any]) -> ShardListing:
        """Read a ``Shard`` of DescribeStream or ListShards (both services use one shape)."""
        numbers = shard.get("SequenceNumberRange", {})
        return cls(
            shard["ShardId"], shard.get("ParentShardId"), numbers.get("EndingSequenceNumber")
        )


@runtime_checkable
class ShardReader(Protocol):
    """Reads the shards of one stream, parents before children.

    Two ways to drive it: :meth:`read` reads every readable shard (a Lambda
    mapping's poller), or :meth:`read_shard` reads the shards the caller holds
    (a lease-based consumer, which positions each shard with :meth:`seek`
    when it takes the lease and :meth:`forget` when it gives it up).
    """

    stream_arn: str
    starting_position: str

    def start(self) -> None:
        """Discover the shards and fix the starting positions now (LATEST means "from now")."""
        ...

    def discover(self) -> list[str]:
        """Look for shards not known yet; return their ids."""
        ...

    def shard_ids(self) -> list[str]:
        """Every shard known, in discovery order."""
        ...

    def shard(self, shard_id: str) -> ShardInfo:
        """A snapshot of one known shard (KeyError for an unknown one)."""
        ...

    def parent_of(self, shard_id: str) -> str | None:
        """The parent shard id, when the parent is known to this reader."""
        ...

    def readable(self) -> list[str]:
        """Shards that may be read now: not done, not forgotten, their parent done."""
        ...

    def read_shard(self, shard_id: str) -> ShardRecords:
        """One GetRecords call on one shard."""
        ...

    def read(self) -> list[ShardRecords]:
        """One GetRecords call on every readable shard, rediscovering shards when due."""
        ...

    def seek(
        self, shard_id: str, checkpoint: str | None, *, starting_position: str | None = None
    ) -> bool:
        """Resume ``shard_id`` right after ``checkpoint``; False if the shard no longer exists."""
        ...

    def forget(self, shard_id: str) -> None:
        """Give up the position in ``shard_id``; it is not read again until sought."""
        ...


@dataclass
class _ShardState:
    shard_id: str
    parent_id: str | None
    ending_sequence_number: str | None = None
    iterator: str | None = None
    last_sequence_number: str | None = None
    #: Where the shard starts when nothing was read from it: TRIM_HORIZON or LATEST.
    position: str = "TRIM_HORIZON"
    exhausted: bool = False
    skipped: bool = False
    forgotten: bool = False

    @property
    def done(self) -> bool:
        return self.exhausted or self.skipped

    def info(self) -> ShardInfo:
        return ShardInfo(
            shard_id=self.shard_id,
            parent_id=self.parent_id,
            closed=self.ending_sequence_number is not None,
            exhausted=self.exhausted,
            skipped=self.skipped,
            last_sequence_number=self.last_sequence_number,
        )


class LineageReader:
    """Lineage order, discovery throttling, checkpoints and iterator renewal, for any stream.

    Both services hand out iterators and records through calls of one shape
    (GetShardIterator, GetRecords); subclasses say how the service lists
    shards (:meth:`_list_shards`), how its calls name the stream
    (:meth:`_stream_parameters`), what GetShardIterator calls the sequence
    number (``_sequence_number_parameter``), how many records one GetRecords
    call may return (``max_limit``) and where a record keeps its sequence
    number (:meth:`_sequence_number`).

    :param client: a boto3 client of the service.
    :param stream_arn: the stream's ARN.
    :param starting_position: ``TRIM_HORIZON`` or ``LATEST``, for shards found
        by :meth:`start` that have no checkpoint; shards found later start at
        TRIM_HORIZON, since all they hold is new. @default "TRIM_HORIZON".
    :param checkpoints: shard id -> sequence number already processed; those
        shards resume right after it. @default - none.
    :param limit: records per GetRecords call, 1..``max_limit``.
        @default - ``max_limit``, the fewest calls.
    :param rediscover_interval: seconds between listings looking for new
        shards. @default 1.0 (DescribeStream allows 10 calls a second).
    :param clock: a monotonic clock, replaceable in tests. @default time.monotonic.
    """

    #: GetRecords returns at most this many records.
    max_limit: ClassVar[int]
    #: GetShardIterator's name for the sequence number to start after.
    _sequence_number_parameter: ClassVar[str]

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        *,
        starting_position: str = "TRIM_HORIZON",
        checkpoints: Mapping[str, str] | None = None,
        limit: int | None = None,
        rediscover_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        limit = self.max_limit if limit is None else limit
        check_reader_settings(starting_position, limit, self.max_limit)
        self.client = client
        self.stream_arn = stream_arn
        self.starting_position = starting_position
        self.limit = limit
        self.rediscover_interval = rediscover_interval
        self._clock = clock
        self._checkpoints = dict(checkpoints or {})
        self._shards: dict[str, _ShardState] = {}
        self._started = False
        self._last_discovery = float("-inf")

    # -- what a service-specific reader supplies ----------------------------

    def _list_shards(self) -> Iterable[ShardListing]:
        raise NotImplementedError

    def _stream_parameters(self) -> dict[str, str]:
        """The parameters naming the stream in GetShardIterator."""
        raise NotImplementedError

    @staticmethod
    def _sequence_number(record: Mapping[str, Any]) -> str:
        raise NotImplementedError

    # -- the calls both services share -----------------------------------------

    def _get_iterator(self, shard_id: str, kind: str, sequence_number: str | None) -> str:
        kwargs: dict[str, Any] = {
            **self._stream_parameters(),
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence_number is not None:
            kwargs[self._sequence_number_parameter] = sequence_number
        return str(self.client.get_shard_iterator(**kwargs)["ShardIterator"])

    def _get_records(self, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        response = self.client.get_records(ShardIterator=iterator, Limit=self.limit)
        return list(response.get("Records", [])), response.get("NextShardIterator")

    # -- discovery -----------------------------------------------------------

    def discover(self) -> list[str]:
        """Look for shards this reader does not know yet; return their ids.

        A shard the stream no longer lists (trimmed: DynamoDB Streams keeps a
        closed shard for 24 h, Kinesis for its retention period) is dropped
        once this reader is done with it or has forgotten it and no known shard
        is its child, so a reader that runs for months holds only the shards
        the stream still has and their parents. One still being read stays
        until reading it reports its end.
        """
        self._last_discovery = self._clock()
        new: list[str] = []
        listed: set[str] = set()
        for listing in self._list_shards():
            listed.add(listing.shard_id)
            known = self._shards.get(listing.shard_id)
            if known is not None:
                known.ending_sequence_number = listing.ending_sequence_number
                continue
            state = _ShardState(
                shard_id=listing.shard_id,
                parent_id=listing.parent_id,
                ending_sequence_number=listing.ending_sequence_number,
                position=self.starting_position if not self._started else "TRIM_HORIZON",
            )
            if listing.shard_id in self._checkpoints:
                state.last_sequence_number = self._checkpoints[listing.shard_id]
            elif (
                not self._started
                and self.starting_position == "LATEST"
                and state.ending_sequence_number is not None
            ):
                # LATEST means "changes from now on": a closed shard has none.
                state.skipped = True
            self._shards[listing.shard_id] = state
            new.append(listing.shard_id)
        # Only after the whole listing came back: a listing that failed half-way
        # raised above, and says nothing about the shards it did not reach. A
        # parent stays while a known shard names it: parent_of() orders the
        # child after it, and the stream drops a parent before its children.
        parents = {state.parent_id for state in self._shards.values()}
        gone = [
            shard_id
            for shard_id, state in self._shards.items()
            if shard_id not in listed
            and shard_id not in parents
            and (state.done or state.forgotten)
        ]
        for shard_id in gone:
            del self._shards[shard_id]
            self._checkpoints.pop(shard_id, None)
        return new

    def start(self) -> None:
        """Discover the shards and fix the starting positions now.

        With ``LATEST`` this is the moment "from now on" refers to, as when
        Lambda creates a mapping: call it before the writes you want to see.
        """
        self.discover()
        for state in self._shards.values():
            fresh = not state.done and state.last_sequence_number is None
            if fresh and state.position == "LATEST":
                state.iterator = self._get_iterator(state.shard_id, "LATEST", None)
        self._started = True

    def _discover_when_due(self) -> None:
        if not self._started:
            self.start()
        elif self._clock() - self._last_discovery >= self.rediscover_interval:
            self.discover()

    # -- what is known ---------------------------------------------------------

    def shard_ids(self) -> list[str]:
        return list(self._shards)

    def shard(self, shard_id: str) -> ShardInfo:
        return self._shards[shard_id].info()

    @property
    def finished(self) -> bool:
        """Every known shard read to its end (only once the stream is disabled)."""
        return bool(self._shards) and all(state.done for state in self._shards.values())

    def parent_of(self, shard_id: str) -> str | None:
        """The parent shard id, when the parent is still known to this reader (None
        too for a shard this reader dropped, trimmed and read to its end)."""
        state = self._shards.get(shard_id)
        parent = None if state is None else state.parent_id
        return parent if parent in self._shards else None

    def readable(self) -> list[str]:
        """Shards that may be read now: not done, not forgotten, and their parent done."""
        ready = []
        for shard_id, state in self._shards.items():
            if state.done or state.forgotten:
                continue
            parent = self.parent_of(shard_id)
            if parent is None or self._shards[parent].done:
                ready.append(shard_id)
        return ready

    # -- positioning -----------------------------------------------------------

    def seek(
        self, shard_id: str, checkpoint: str | None, *, starting_position: str | None = None
    ) -> bool:
        """Resume ``shard_id`` right after ``checkpoint`` (None: at ``starting_position``).

        Whatever this reader did with the shard before is dropped (another
        reader may have moved it on meanwhile). One exception keeps LATEST
        meaning "when this reader started": a LATEST iterator fixed by
        :meth:`start` on a shard not read since is kept.

        :param starting_position: where to begin without a checkpoint.
            @default - the reader's for shards found by :meth:`start`,
            TRIM_HORIZON for later ones.
        :returns: False when the shard is not in the stream (trimmed after 24 h).
        """
        if starting_position is not None and starting_position not in STARTING_POSITIONS:
            raise StreamReaderError(
                f"starting_position must be TRIM_HORIZON or LATEST, got {starting_position!r}"
            )
        state = self._shards.get(shard_id)
        if state is None:
            self.discover()
            state = self._shards.get(shard_id)
            if state is None:
                return False
        position = starting_position or state.position
        keep = (
            checkpoint is None
            and position == "LATEST"
            and state.position == "LATEST"
            and state.last_sequence_number is None
            and state.iterator is not None
            and not state.forgotten
        )
        if not keep:
            state.iterator = None
        state.position = position
        state.last_sequence_number = checkpoint
        state.exhausted = state.skipped = state.forgotten = False
        return True

    def forget(self, shard_id: str) -> None:
        """Drop the position in ``shard_id``; it is not read again until :meth:`seek`."""
        state = self._shards.get(shard_id)
        if state is not None:
            state.iterator = None
            state.forgotten = True

    # -- reading ---------------------------------------------------------------

    def _fresh_iterator(self, state: _ShardState) -> str:
        """An iterator at the shard's current position (first use, or after expiry)."""
        if state.last_sequence_number is not None:
            return self._get_iterator(
                state.shard_id, "AFTER_SEQUENCE_NUMBER", state.last_sequence_number
            )
        return self._get_iterator(state.shard_id, state.position, None)

    def read_shard(self, shard_id: str) -> ShardRecords:
        """One GetRecords call on one shard; renews an expired iterator once."""
        state = self._shards[shard_id]
        if state.forgotten:
            raise StreamReaderError(f"shard {shard_id} was forgotten; seek it before reading")
        if state.done:
            return ShardRecords(shard_id, end=state.exhausted)
        try:
            # GetShardIterator inside the try: it answers for a trimmed shard or
            # position as GetRecords does.
            if state.iterator is None:
                state.iterator = self._fresh_iterator(state)
            records, next_iterator = self._get_records(state.iterator)
        except ClientError as error:
            code = error_code(error)
            if code == "ExpiredIteratorException":
                state.iterator = self._fresh_iterator(state)
            elif code == "TrimmedDataAccessException":
                # The position fell out of the retention period: go on from the oldest record.
                state.last_sequence_number = None
                state.iterator = self._get_iterator(shard_id, "TRIM_HORIZON", None)
            elif code == "ResourceNotFoundException":
                state.exhausted = True
                return ShardRecords(shard_id, end=True)
            else:
                raise
            records, next_iterator = self._get_records(state.iterator)
        if records:
            state.last_sequence_number = self._sequence_number(records[-1])
        state.iterator = next_iterator
        if next_iterator is None:
            # Closed and fully read: its children may now be read; look for them at once.
            state.exhausted = True
            self._last_discovery = float("-inf")
        return ShardRecords(shard_id, records, end=state.exhausted)

    def read(self) -> list[ShardRecords]:
        """One GetRecords call on every readable shard, rediscovering shards when due."""
        self._discover_when_due()
        return [self.read_shard(shard_id) for shard_id in self.readable()]
