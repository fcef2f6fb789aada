"""What synth knows about a table's DynamoDB stream: whether it has one, and its view type.

``Table`` leaves ``table_stream_arn`` unset without a stream, but ``TableV2``
always offers a stream-ARN token, stream or not: only its ``dynamo_stream``
setting (the global table's ``StreamSpecification``) tells. Imported tables
carry no view type at all.
"""

from __future__ import annotations

import jsii
import jsii.errors
from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb


def is_table_v2(table: object) -> bool:
    return isinstance(table, dynamodb.TableV2)


def view_type(table: object) -> str | None:
    """The stream's view type (``"NEW_IMAGE"`` ...) when synth knows it; else None.

    None for imported tables, for tables without a stream and for tokens.
    """
    if not isinstance(table, (dynamodb.Table, dynamodb.TableV2)):
        return None
    resource = table.node.default_child
    try:
        # cfnProperties, not the typed stream_specification getter: TableV2
        # derives its spec lazily from its replicas, and jsii cannot
        # deserialize that getter's struct. The untyped map resolves.
        properties = jsii.get(resource, "cfnProperties")
        spec = Stack.of(table).resolve(properties.get("streamSpecification"))
    except (RuntimeError, jsii.errors.JSIIError):
        return None
    value = spec.get("streamViewType") if isinstance(spec, dict) else None
    return value if isinstance(value, str) and value in _VIEW_TYPES else None


def has_stream(table: object) -> bool:
    """False only when synth knows the table has no stream."""
    if is_table_v2(table):
        return view_type(table) is not None
    return bool(getattr(table, "table_stream_arn", None))


_VIEW_TYPES = frozenset(member.value for member in dynamodb.StreamViewType)
