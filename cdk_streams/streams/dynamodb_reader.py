"""Read a DynamoDB stream through the public Streams API, shard by shard.

It works the same against the local cloud and against a real table's stream:
give it any boto3 ``dynamodbstreams`` client (real credentials, or an
``endpoint_url``).

Records come back exactly as boto3 returns them (``datetime`` for
``ApproximateCreationDateTime``, ``bytes`` for ``B``); turn them into what the
Lambda runtime hands a function with the stream package's record builder.

    reader = StreamReader(boto3.client("dynamodbstreams"), stream_arn, starting_position="LATEST")
    reader.start()                        # LATEST is fixed here, before any write you care about
    for batch in reader.read():           # one GetRecords per readable shard
        for record in batch.records: ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from .shard_reader import LineageReader, ShardListing, StreamReaderError

#: GetRecords on DynamoDB Streams returns at most this many records.
MAX_LIMIT = 1000


class StreamReader(LineageReader):
    """Reads every shard of one DynamoDB stream in lineage order (a :class:`ShardReader`).

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

    max_limit: ClassVar[int] = MAX_LIMIT
    _sequence_number_parameter: ClassVar[str] = "SequenceNumber"

    def _list_shards(self) -> Iterable[ShardListing]:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.client.describe_stream(**kwargs)["StreamDescription"]
            if description.get("StreamStatus") == "DISABLED" and not self._started:
                raise StreamReaderError(f"stream {self.stream_arn} is disabled")
            for shard in description.get("Shards", []):
                yield ShardListing.from_shard(shard)
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            kwargs["ExclusiveStartShardId"] = last

    def _stream_parameters(self) -> dict[str, str]:
        return {"StreamArn": self.stream_arn}

    @staticmethod
    def _sequence_number(record: Mapping[str, Any]) -> str:
        return str(record["dynamodb"]["SequenceNumber"])
