"""Kinesis Data Streams for DynamoDB, emulated: a table's changes written to a
Kinesis stream.

moto deploys the Kinesis stream and the table, but ignores the table's
``KinesisStreamSpecification`` (it implements no streaming destination), so
nothing would ever reach the Kinesis stream. :class:`KinesisStreamingDestination`
does what DynamoDB does: it reads the table's own stream and puts each change
into the Kinesis stream as :func:`cdk_streams.streams.records.change_document`
builds it, partitioned by the item's keys
(:func:`~cdk_streams.streams.records.partition_key`) so that one key's changes
stay in order on one shard. The stream package's
``KinesisReader`` then reads the
Kinesis stream through the public Kinesis API, as a mapping's poller does.
"""

from __future__ import annotations

import threading
from typing import Any

from ..streams.dynamodb_reader import StreamReader
from ..streams.records import change_data, change_document, partition_key


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
        #: The table's stream: a write to it is a change to forward.
        self.table_stream_arn = table_stream_arn
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
