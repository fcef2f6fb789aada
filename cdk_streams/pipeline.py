"""StreamPipeline: the whole picture in one call, a table, its stream and a processor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from .processor import StreamProcessor
from .table import StreamTable


class StreamPipeline(Construct):
    """A :class:`StreamTable` (id ``Table``) and a :class:`StreamProcessor`
    (id ``Processor``) on its stream.

    :param partition_key: the table's partition key.
    :param sort_key: @default - none.
    :param view_type: @default NEW_AND_OLD_IMAGES (see :class:`StreamTable`).
    :param table_props: more :class:`StreamTable` keyword arguments.
        @default - StreamTable's defaults.
    :param processor_props: every other keyword argument goes to
        :class:`StreamProcessor`, with its defaults and its validation.

    Exposes ``stream_table``, ``table`` and ``processor``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        partition_key: dynamodb.Attribute,
        sort_key: dynamodb.Attribute | None = None,
        view_type: dynamodb.StreamViewType = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        table_props: Mapping[str, Any] | None = None,
        **processor_props: Any,
    ) -> None:
        super().__init__(scope, id)
        self.stream_table = StreamTable(
            self,
            "Table",
            partition_key=partition_key,
            sort_key=sort_key,
            view_type=view_type,
            **dict(table_props or {}),
        )
        self.table = self.stream_table.table
        self.processor = StreamProcessor(self, "Processor", table=self.table, **processor_props)
