"""Tools for testing stacks built with cdk_streams.

Snapshot testing: :func:`mask_asset_hashes` replaces the parts of a synthesized
template that change whenever handler code changes (asset hashes in S3 keys
and asset metadata), so a snapshot only changes when the infrastructure does.
Use it on ``Template.from_stack(stack).to_json()``, or use
:data:`snapshot_matcher` with syrupy.

Stream events: :class:`StreamEventFactory` builds Lambda-shaped DynamoDB stream
records from plain Python items, to feed a handler in a unit test, and wraps
them as Lambda receives them from Kinesis Data Streams for DynamoDB.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

from .streams.records import (
    PRECISIONS,
    carried_images,
    change_data,
    change_document,
    epoch_seconds,
    image,
    kinesis_record,
    lambda_record,
    partition_key,
    stream_record,
)

#: What replaces an asset hash in a masked template.
ASSET_HASH_MASK = "<asset-hash>"

_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def mask_asset_hashes(template: Any) -> Any:
    """A copy of ``template`` with every 64-hex asset hash replaced by ``<asset-hash>``.

    It masks hashes in ``Code.S3Key``, layer contents, ``aws:asset:path``
    metadata, and any other string that embeds one (for example a bucket key
    built with ``Fn::Join``). Nothing else changes.
    """
    if isinstance(template, dict):
        return {key: mask_asset_hashes(value) for key, value in template.items()}
    if isinstance(template, list):
        return [mask_asset_hashes(value) for value in template]
    if isinstance(template, str):
        return _HASH.sub(ASSET_HASH_MASK, template)
    return template


def snapshot_matcher(data: Any, path: Any) -> Any:
    """A syrupy ``matcher`` that masks asset hashes as the value is serialized::

    assert template == snapshot(matcher=snapshot_matcher)
    """
    return _HASH.sub(ASSET_HASH_MASK, data) if isinstance(data, str) else data


# --- Stream events --------------------------------------------------------------------

# Real sequence numbers are 21 to 40 decimal digits; start in that range.
_FIRST_SEQUENCE_NUMBER = 4_421_584_500_000_000_017_450
# Kinesis sequence numbers are 56 decimal digits; this one is from AWS's examples.
_FIRST_KINESIS_SEQUENCE_NUMBER = 49590338271490256608559692538361571095921575989136588898


class StreamEventFactory:
    """Realistic Lambda DynamoDB stream events, built from plain Python items.

    ::

        f = StreamEventFactory(key_names=("orderId",), table_name="Orders")
        event = f.event(
            f.insert({"orderId": "o-1", "total": Decimal("12.50")}),
            f.modify(old, new),
            f.remove(old, ttl=True),
        )
        router.handler(event, None)

    Items hold str, int, Decimal, float (converted to Decimal through its
    ``str``), bytes, bool, None, set, list and dict values. Records come out
    exactly as Lambda hands them to a handler: DynamoDB JSON with ``B``/``BS``
    as base64 strings, ``ApproximateCreationDateTime`` in epoch seconds, and
    ``Keys``/``NewImage``/``OldImage`` present or absent according to
    ``view_type``. Sequence numbers (21+ digit strings) and creation times
    increase with every record a factory makes.

    :meth:`to_kinesis` and :meth:`kinesis_event` wrap those records the way
    Lambda delivers them from a Kinesis data stream that the table streams its
    changes to (Kinesis Data Streams for DynamoDB)::

        event = f.kinesis_event(f.insert(item), f.remove(item, ttl=True))

    :param key_names: the table's key attribute names (partition, then sort).
    :param start_time: epoch seconds of the first record; @default now.
    """

    def __init__(
        self,
        *,
        key_names: tuple[str, ...] = ("pk",),
        table_name: str = "Orders",
        view_type: str = "NEW_AND_OLD_IMAGES",
        region: str = "us-east-1",
        account: str = "123456789012",
        start_time: float | None = None,
    ) -> None:
        # ValueError for an unknown view type here, not at the first record.
        self._carried = carried_images(view_type)
        if isinstance(key_names, str) or not key_names:
            raise ValueError(
                f"key_names must be a non-empty tuple of attribute names, got {key_names!r}"
            )
        self.key_names = tuple(key_names)
        self.table_name = table_name
        self.view_type = view_type
        self.region = region
        self.account = account
        self.stream_arn = (
            f"arn:aws:dynamodb:{region}:{account}:table/{table_name}/stream/2026-01-01T00:00:00.000"
        )
        self._count = 0
        self._kinesis_count = 0
        self._start = epoch_seconds(time.time() if start_time is None else start_time)

    def insert(self, new_item: dict[str, Any]) -> dict[str, Any]:
        """An INSERT record for ``new_item``."""
        return self._record("INSERT", new=new_item, old=None)

    def modify(self, old_item: dict[str, Any], new_item: dict[str, Any]) -> dict[str, Any]:
        """A MODIFY record from ``old_item`` to ``new_item`` (keys from ``new_item``)."""
        return self._record("MODIFY", new=new_item, old=old_item)

    def remove(self, old_item: dict[str, Any], ttl: bool = False) -> dict[str, Any]:
        """A REMOVE record for ``old_item``; ``ttl=True`` makes it a TTL expiry."""
        return self._record("REMOVE", new=None, old=old_item, ttl=ttl)

    @staticmethod
    def event(*records: dict[str, Any]) -> dict[str, Any]:
        """The Lambda event for ``records``: ``{"Records": [...]}``."""
        return {"Records": list(records)}

    def to_kinesis(
        self,
        record: dict[str, Any],
        *,
        stream_name: str = "orders-changes",
        precision: str = "MILLISECOND",
    ) -> dict[str, Any]:
        """``record`` (made by insert/modify/remove) as a Lambda Kinesis record.

        The change goes into ``kinesis.data`` as base64 of its JSON, in the
        Kinesis Data Streams for DynamoDB format: ``ApproximateCreationDateTime``
        in epoch milliseconds (or microseconds with
        ``precision="MICROSECOND"``), ``ApproximateCreationDateTimePrecision``,
        ``tableName``, ``userIdentity`` (null unless a TTL expiry) and
        ``recordFormat``, and no ``SequenceNumber`` or ``StreamViewType``. The
        images are the record's: use the default ``NEW_AND_OLD_IMAGES`` view
        type to match what Kinesis Data Streams for DynamoDB sends. Kinesis
        sequence numbers (56 digits) increase with every record wrapped.

        :param stream_name: the Kinesis data stream, for ``eventSourceARN``.
        :param precision: ``MILLISECOND`` or ``MICROSECOND``.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        stream = record.get("dynamodb") if isinstance(record, dict) else None
        if not isinstance(stream, dict) or "SequenceNumber" not in stream:
            raise ValueError(
                "to_kinesis wraps a DynamoDB stream record made by insert, modify or "
                f"remove; got {record!r:.120}"
            )
        document = change_document(
            record, table_name=self.table_name, region=record["awsRegion"], precision=precision
        )
        sequence_number = str(_FIRST_KINESIS_SEQUENCE_NUMBER + self._kinesis_count * 1_000)
        self._kinesis_count += 1
        return kinesis_record(
            data=change_data(document),
            partition_key=partition_key(stream["Keys"]),
            sequence_number=sequence_number,
            # Kinesis receives the change a moment after DynamoDB made it.
            arrival=stream["ApproximateCreationDateTime"] + 0.25,
            stream_arn=f"arn:aws:kinesis:{self.region}:{self.account}:stream/{stream_name}",
            shard_id="shardId-000000000000",
            invoke_identity_arn=f"arn:aws:iam::{self.account}:role/stream-consumer",
        )

    def kinesis_event(
        self, *records: dict[str, Any], stream_name: str = "orders-changes"
    ) -> dict[str, Any]:
        """The Lambda Kinesis event for ``records``: each wrapped with :meth:`to_kinesis`.

        Records that are already Kinesis records (made by :meth:`to_kinesis`,
        for example with ``precision="MICROSECOND"``) are kept as they are.
        """
        return {
            "Records": [
                record if "kinesis" in record else self.to_kinesis(record, stream_name=stream_name)
                for record in records
            ]
        }

    def _record(
        self,
        event_name: str,
        *,
        new: dict[str, Any] | None,
        old: dict[str, Any] | None,
        ttl: bool = False,
    ) -> dict[str, Any]:
        item = new if new is not None else old
        assert item is not None
        missing = [name for name in self.key_names if name not in item]
        if missing:
            raise ValueError(
                f"{event_name} item has no key attribute(s) {', '.join(missing)}; "
                f"key_names={self.key_names!r}, item attributes: {sorted(item)!r}"
            )
        number = self._count
        self._count += 1
        # Only the images the stream carries are serialized: a value the serializer
        # refuses cannot fail a record that would not hold it.
        if "NewImage" not in self._carried:
            new = None
        if "OldImage" not in self._carried:
            old = None
        raw = stream_record(
            event_name=event_name,
            keys=_to_dynamodb_json({name: item[name] for name in self.key_names}),
            new_image=None if new is None else _to_dynamodb_json(new),
            old_image=None if old is None else _to_dynamodb_json(old),
            view_type=self.view_type,
            sequence_number=str(_FIRST_SEQUENCE_NUMBER + number * 100),
            created=self._start + number,
            ttl=ttl,
        )
        return lambda_record(raw, stream_arn=self.stream_arn)


def _to_dynamodb_json(item: dict[str, Any]) -> dict[str, Any]:
    # boto3 is a dependency of cdk_streams (not of the Lambda asset); import it
    # only when a test builds events, so `import cdk_streams.testing` stays cheap.
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    # TypeSerializer leaves B/BS as bytes; image() writes them as Lambda delivers them.
    return image(
        {name: serializer.serialize(_floats_to_decimal(value)) for name, value in item.items()}
    )


def _floats_to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _floats_to_decimal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_floats_to_decimal(v) for v in value]
    if isinstance(value, set | frozenset):
        return {_floats_to_decimal(v) for v in value}
    return value
