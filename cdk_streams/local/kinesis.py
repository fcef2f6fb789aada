"""Kinesis Data Streams for DynamoDB, emulated: a table's changes written to a
Kinesis stream, and a reader for that stream.

moto deploys the Kinesis stream and the table, but ignores the table's
``KinesisStreamSpecification`` (it implements no streaming destination), so
nothing would ever reach the Kinesis stream. :class:`KinesisStreamingDestination`
does what DynamoDB does: it reads the table's own stream and puts each change
into the Kinesis stream as :func:`cdk_streams.streams.records.change_document`
builds it, partitioned by the item's keys
(:func:`~cdk_streams.streams.records.partition_key`) so that one key's changes
stay in order on one shard. :class:`KinesisReader` then reads the
Kinesis stream through the public Kinesis API, as a mapping's poller does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..streams.records import change_data, change_document, partition_key
from .reader import ShardRecords, StreamReader, check_reader_settings

#: GetRecords on Kinesis returns at most this many records.
MAX_LIMIT = 10_000


class KinesisStreamingDestination:
    """Copies a table's changes into a Kinesis stream, in order, once each.

    :param streams_client: a boto3 ``dynamodbstreams`` client.
    :param kinesis_client: a boto3 ``kinesis`` client.
    :param table_stream_arn: the table's DynamoDB stream, the source of the changes.
    :param table_name: the table's name, written into each change.
    :param kinesis_stream_name: the destination stream.
    :param region: written into each change.

    Thread-safe: every mapping on the Kinesis stream calls :meth:`pump` before
    it reads, and each change is put once.
    """

    def __init__(
        self,
        streams_client: Any,
        kinesis_client: Any,
        *,
        table_stream_arn: str,
        table_name: str,
        kinesis_stream_name: str,
        region: str,
    ) -> None:
        # TRIM_HORIZON: the destination exists since the table was created, so
        # every change the table's stream holds belongs in the Kinesis stream.
        self._reader = StreamReader(streams_client, table_stream_arn)
        self._kinesis = kinesis_client
        self._table_name = table_name
        self.kinesis_stream_name = kinesis_stream_name
        self._region = region
        self._lock = threading.Lock()
        #: Changes put into the Kinesis stream so far.
        self.forwarded = 0

    def pump(self) -> int:
        """Put every change not yet forwarded; return how many were put now."""
        with self._lock:
            put = 0
            for shard in self._reader.read():
                for record in shard.records:
                    document = change_document(
                        record, table_name=self._table_name, region=self._region
                    )
                    self._kinesis.put_record(
                        StreamName=self.kinesis_stream_name,
                        Data=change_data(document),
                        PartitionKey=partition_key(record["dynamodb"].get("Keys", {})),
                    )
                    put += 1
            self.forwarded += put
            return put


class KinesisReader:
    """Reads every shard of one Kinesis stream, parents before children.

    It offers what the mapping runner uses of :class:`StreamReader`
    (``start``, ``readable``, ``parent_of``, ``read``), over the Kinesis API.

    :param client: a boto3 ``kinesis`` client.
    :param stream_arn: the Kinesis stream's ARN.
    :param starting_position: ``TRIM_HORIZON`` or ``LATEST``. @default "TRIM_HORIZON".
    :param before_read: called before each read, e.g. a
        :meth:`KinesisStreamingDestination.pump`. @default - none.
    :param limit: records per GetRecords call, 1..10000. @default 10000.
    :param rediscover_interval: seconds between ListShards calls looking for new
        shards. @default 1.0, as :class:`StreamReader` does for DynamoDB streams.
    :param clock: a monotonic clock, replaceable in tests. @default time.monotonic.
    """

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        *,
        starting_position: str = "TRIM_HORIZON",
        before_read: Any = None,
        limit: int = MAX_LIMIT,
        rediscover_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_reader_settings(starting_position, limit, MAX_LIMIT)
        self.rediscover_interval = rediscover_interval
        self._clock = clock
        self._last_discovery = float("-inf")
        self.client = client
        self.stream_arn = stream_arn
        self.stream_name = stream_arn.split("/", 1)[1]
        self.starting_position = starting_position
        self._before_read = before_read
        self.limit = limit
        self._iterators: dict[str, str | None] = {}
        self._parents: dict[str, str | None] = {}
        self._exhausted: set[str] = set()
        self._started = False

    def start(self) -> None:
        """List the shards and fix the starting position now (``LATEST`` means from now)."""
        self._discover(self.starting_position)
        self._started = True

    def _discover(self, position: str) -> None:
        self._last_discovery = self._clock()
        kwargs: dict[str, Any] = {"StreamName": self.stream_name}
        while True:
            page = self.client.list_shards(**kwargs)
            for shard in page.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id in self._parents:
                    continue
                self._parents[shard_id] = shard.get("ParentShardId")
                self._iterators[shard_id] = self.client.get_shard_iterator(
                    StreamName=self.stream_name, ShardId=shard_id, ShardIteratorType=position
                )["ShardIterator"]
            token = page.get("NextToken")
            if not token:
                return
            kwargs = {"NextToken": token}

    def parent_of(self, shard_id: str) -> str | None:
        """The parent shard id, when the parent is known to this reader."""
        parent = self._parents.get(shard_id)
        return parent if parent in self._parents else None

    def readable(self) -> list[str]:
        """Shards not read to their end whose parent (if known) is."""
        return [
            shard_id
            for shard_id in self._parents
            if shard_id not in self._exhausted
            and (self.parent_of(shard_id) is None or self.parent_of(shard_id) in self._exhausted)
        ]

    def read(self) -> list[ShardRecords]:
        """One GetRecords call on every readable shard."""
        if self._before_read is not None:
            self._before_read()
        if not self._started:
            self.start()
        elif self._clock() - self._last_discovery >= self.rediscover_interval:
            self._discover("TRIM_HORIZON")  # shards found later hold only new records
        out = []
        for shard_id in self.readable():
            iterator = self._iterators.get(shard_id)
            if iterator is None:
                self._exhausted.add(shard_id)
                continue
            response = self.client.get_records(ShardIterator=iterator, Limit=self.limit)
            self._iterators[shard_id] = response.get("NextShardIterator")
            if self._iterators[shard_id] is None:
                # Closed and read to its end: look for its children at the next read.
                self._exhausted.add(shard_id)
                self._last_discovery = float("-inf")
            out.append(ShardRecords(shard_id, response.get("Records", [])))
        return out
