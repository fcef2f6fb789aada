"""Kinesis Data Streams for DynamoDB, emulated: a table's changes written to a
Kinesis stream.

moto deploys the Kinesis stream and the table, but ignores the table's
``KinesisStreamSpecification`` (it implements no streaming destination), so
nothing would ever reach the Kinesis stream. :class:`KinesisStreamingDestination`
does what DynamoDB does: it reads the table's own stream and puts each change
into the Kinesis stream, in the Kinesis Data Streams for DynamoDB JSON format
(``ApproximateCreationDateTime`` in milliseconds, ``tableName``,
``recordFormat``), with the item's keys as the partition key so that one key's
changes stay in order on one shard. The stream package's
``KinesisReader`` then reads the Kinesis stream through the public Kinesis API,
as a mapping's poller does.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime
from typing import Any

from ..streams.dynamodb_reader import StreamReader
from .events import _image


def change_document(record: dict[str, Any], *, table_name: str, region: str) -> dict[str, Any]:
    """One DynamoDB stream record (as boto3 returns it) as DynamoDB writes it to Kinesis."""
    stream = record["dynamodb"]
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created.timestamp()
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": int(float(created or 0) * 1000),
        "Keys": _image(stream.get("Keys", {})),
        "SizeBytes": stream.get("SizeBytes", 0),
    }
    for name in ("NewImage", "OldImage"):
        if name in stream:
            change[name] = _image(stream[name])
    return {
        "awsRegion": region,
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "userIdentity": record.get("userIdentity"),
        "recordFormat": "application/json",
        "tableName": table_name,
        "dynamodb": change,
        "eventSource": "aws:dynamodb",
    }


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
                    keys = json.dumps(document["dynamodb"]["Keys"], sort_keys=True)
                    self._kinesis.put_record(
                        StreamName=self.kinesis_stream_name,
                        Data=json.dumps(document).encode(),
                        PartitionKey=hashlib.md5(keys.encode()).hexdigest(),
                    )
                    put += 1
            self.forwarded += put
            return put
