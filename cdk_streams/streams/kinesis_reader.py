"""Read a Kinesis data stream through the public Kinesis API, shard by shard.

The same lineage order, starting positions and discovery throttling as the
DynamoDB Streams reader (both are a :class:`~.shard_reader.LineageReader`);
records come back as boto3 returns them (``Data`` as bytes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .shard_reader import LineageReader, ShardListing, ShardRecords

#: GetRecords on Kinesis returns at most this many records.
MAX_LIMIT = 10_000


class KinesisReader(LineageReader):
    """Reads every shard of one Kinesis stream, parents before children (a :class:`ShardReader`).

    :param client: a boto3 ``kinesis`` client.
    :param stream_arn: the Kinesis stream's ARN.
    :param starting_position: ``TRIM_HORIZON`` or ``LATEST``. @default "TRIM_HORIZON".
    :param before_read: called before each :meth:`read`, e.g. to forward a
        table's changes into the stream first. @default - none.
    :param checkpoints: shard id -> sequence number already processed. @default - none.
    :param limit: records per GetRecords call, 1..10000. @default 10000.
    :param rediscover_interval: seconds between ListShards calls looking for new
        shards. @default 1.0, as for DynamoDB streams.
    :param clock: a monotonic clock, replaceable in tests. @default time.monotonic.
    """

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        *,
        starting_position: str = "TRIM_HORIZON",
        before_read: Callable[[], object] | None = None,
        checkpoints: Mapping[str, str] | None = None,
        limit: int = MAX_LIMIT,
        rediscover_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            stream_arn,
            starting_position=starting_position,
            checkpoints=checkpoints,
            limit=limit,
            max_limit=MAX_LIMIT,
            rediscover_interval=rediscover_interval,
            clock=clock,
        )
        self.client = client
        self.stream_name = stream_arn.split("/", 1)[1]
        self._before_read = before_read

    def _list_shards(self) -> Iterable[ShardListing]:
        kwargs: dict[str, Any] = {"StreamName": self.stream_name}
        while True:
            page = self.client.list_shards(**kwargs)
            for shard in page.get("Shards", []):
                numbers = shard.get("SequenceNumberRange", {})
                yield ShardListing(
                    shard["ShardId"],
                    shard.get("ParentShardId"),
                    numbers.get("EndingSequenceNumber"),
                )
            token = page.get("NextToken")
            if not token:
                return
            kwargs = {"NextToken": token}

    def _get_iterator(self, shard_id: str, kind: str, sequence_number: str | None) -> str:
        kwargs: dict[str, Any] = {
            "StreamName": self.stream_name,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence_number is not None:
            kwargs["StartingSequenceNumber"] = sequence_number
        return str(self.client.get_shard_iterator(**kwargs)["ShardIterator"])

    def _get_records(self, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        response = self.client.get_records(ShardIterator=iterator, Limit=self.limit)
        return list(response.get("Records", [])), response.get("NextShardIterator")

    @staticmethod
    def _sequence_number(record: Mapping[str, Any]) -> str:
        return str(record["SequenceNumber"])

    def read(self) -> list[ShardRecords]:
        if self._before_read is not None:
            self._before_read()
        return super().read()
