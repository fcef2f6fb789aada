"""StreamPipeline: the whole picture in one call, a table, its stream and a processor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from . import prop_types as t
from .processor import StreamProcessor
from .table import TABLE_PROPS, StreamTable, refuse_owned
from .validation import StreamsValidationError

#: StreamProcessor's keyword arguments, except the one the pipeline supplies.
_PROCESSOR_PROPS = t.keyword_arguments(StreamProcessor) - {"table"}
#: What table_props= passes on to StreamTable (the pipeline's own ones aside).
_TABLE_SETTINGS = t.keyword_arguments(StreamTable) | TABLE_PROPS


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
        self._check(table_props, processor_props)
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

    def _check(self, table_props: Any, processor_props: dict[str, Any]) -> None:
        path = self.node.path
        if "table" in processor_props:
            raise StreamsValidationError(
                f"{path}: table must be left unset: the pipeline creates its own table, got "
                f"table={processor_props['table']!r}. To process an existing table, use "
                "StreamProcessor(table=...) instead; to configure this one, pass table_props="
            )
        if table_props is not None and not isinstance(table_props, Mapping):
            raise StreamsValidationError(
                f"{path}: table_props must be a dict of StreamTable keyword arguments, "
                f"got {table_props!r}"
            )
        refuse_owned(self, table_props or {}, given_in="table_props")
        own = t.keyword_arguments(type(self))
        t.reject_unknown(
            self,
            processor_props,
            passed_on={StreamProcessor.__name__: _PROCESSOR_PROPS},
            # A table setting given to the pipeline itself would reach the processor.
            elsewhere={name: f"table_props={{{name!r}: ...}}" for name in _TABLE_SETTINGS - own},
        )
