"""Read a Kinesis data stream through the public Kinesis API, shard by shard.

The same lineage order, starting positions and discovery throttling as the
DynamoDB Streams reader (both are a :class:`~.shard_reader.LineageReader`);
records come back as boto3 returns them (``Data`` as bytes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

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

    max_limit: ClassVar[int] = MAX_LIMIT
    _sequence_number_parameter: ClassVar[str] = "StartingSequenceNumber"

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
            client,
            stream_arn,
            starting_position=starting_position,
            checkpoints=checkpoints,
            limit=limit,
            rediscover_interval=rediscover_interval,
            clock=clock,
        )
        self.stream_name = stream_arn.split("/", 1)[1]
        self._before_read = before_read

    def _list_shards(self) -> Iterable[ShardListing]:
        kwargs: dict[str, Any] = {"StreamName": self.stream_name}
        while True:
            page = self.client.list_shards(**kwargs)
            for shard in page.get("Shards", []):
                yield ShardListing.from_shard(shard)
            token = page.get("NextToken")
            if not token:
                return
            kwargs = {"NextToken": token}

    def _stream_parameters(self) -> dict[str, str]:
        return {"StreamName": self.stream_name}

    @staticmethod
    def _sequence_number(record: Mapping[str, Any]) -> str:
        return str(record["SequenceNumber"])

    def read(self) -> list[ShardRecords]:
        if self._before_read is not None:
            self._before_read()
        return super().read()
