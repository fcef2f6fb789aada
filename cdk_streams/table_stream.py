"""What synth knows about a table's streams: whether it has a DynamoDB stream, its
view type, and which Kinesis data stream it streams its changes to.

``Table`` leaves ``table_stream_arn`` unset without a stream, but ``TableV2``
always offers a stream-ARN token, stream or not: only its ``dynamo_stream``
setting (the global table's ``StreamSpecification``) tells. Imported tables
carry neither a view type nor a Kinesis destination.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jsii
import jsii.errors
from aws_cdk import Annotations, Reference, Stack, Token, Tokenization
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct, IConstruct

from .prop_types import fail
from .validation import described


def is_table_v2(table: object) -> bool:
    return isinstance(table, dynamodb.TableV2)


def view_type(table: object) -> str | None:
    """The stream's view type (``"NEW_IMAGE"`` ...) when synth knows it; else None.

    None for imported tables, for tables without a stream and for tokens.
    """
    if not isinstance(table, (dynamodb.Table, dynamodb.TableV2)):
        return None
    spec = _resolved(table, _property(table, "streamSpecification"))
    value = spec.get("streamViewType") if isinstance(spec, dict) else None
    return value if isinstance(value, str) and value in _VIEW_TYPES else None


def has_stream(table: object) -> bool:
    """False only when synth knows the table has no stream."""
    if is_table_v2(table):
        return view_type(table) is not None
    return bool(getattr(table, "table_stream_arn", None))


def check_kinesis_stream(scope: Construct, table: object, stream: kinesis.IStream) -> None:
    """Refuse a Kinesis stream that ``table`` streams no changes to, because it
    streams them to another one; warn (``KINESIS_NOT_FED_WARNING``) when synth
    sees no destination on the table at all.

    Only where synth can tell: the table is a ``Table`` or ``TableV2`` of this
    app (an imported one's destination is unknown), and both ARNs have one form
    (a GetAtt and a literal ARN may still name the same stream).
    """
    if not isinstance(table, (dynamodb.Table, dynamodb.TableV2)):
        return
    fed = _kinesis_stream_arn(table)
    if fed is _UNKNOWN:
        return
    given = _arn(table, stream.stream_arn)
    if fed is None:
        # Synth sees no destination, but an escape hatch (add_property_override)
        # may have set one where these properties do not show: warn, do not refuse.
        Annotations.of(scope).add_warning_v2(
            KINESIS_NOT_FED_WARNING,
            f"kinesis_stream is {_shown(given) or described(stream)}, but synth sees no "
            f"Kinesis destination on {described(table)} (kinesis_stream= on "
            "aws_dynamodb.Table, or StreamTable(create_kinesis_stream=True)): the function "
            "would read a stream that never carries the table's changes. If the table "
            "streams to it through an escape hatch, acknowledge this warning.",
        )
        return
    written = _arn(table, fed)
    if given is None or written is None or not _differ(given, written):
        return
    raise fail(
        scope,
        "kinesis_stream",
        "the Kinesis stream the table streams to (kinesis_stream= on aws_dynamodb.Table, "
        "or StreamTable(create_kinesis_stream=True) and its .kinesis_stream)",
        stream,
        shown=f"{_shown(given) or described(stream)}; {described(table)} streams to "
        f"{_shown(written) or 'another one'}",
    )


#: Id of the synth warning for a ``kinesis_stream`` on a table with no Kinesis
#: destination that synth can see.
KINESIS_NOT_FED_WARNING = "cdk-streams:kinesisStreamNotFed"


class _Arn(NamedTuple):
    written: Any  # as the template has it: a literal ARN or a GetAtt
    resource: IConstruct | None  # the resource it refers to, where synth knows


_UNKNOWN = object()


def _kinesis_stream_arn(table: dynamodb.Table | dynamodb.TableV2) -> Any:
    """The ``StreamArn`` of the table's ``KinesisStreamSpecification``; None
    without one; ``_UNKNOWN`` where synth cannot tell."""
    if isinstance(table, dynamodb.Table):
        # Unresolved, so that the ARN token still leads to its stream.
        spec = _property(table, "kinesisStreamSpecification")
    else:
        # A global table streams to Kinesis per replica; a processor in the
        # table's stack reads the replica of the stack's region.
        stack = Stack.of(table)
        region = stack.resolve(stack.region)
        replicas = _resolved(table, _property(table, "replicas"))
        here = [r for r in replicas or () if isinstance(r, dict) and r.get("region") == region]
        spec = here[0].get("kinesisStreamSpecification") if len(here) == 1 else _UNKNOWN
    if spec is None or spec is _UNKNOWN:
        return spec
    return spec.get("streamArn", _UNKNOWN) if isinstance(spec, dict) else _UNKNOWN


def _arn(table: object, arn: Any) -> _Arn | None:
    """``arn`` as the table's stack writes it; None for another form than a
    literal ARN or a GetAtt (a join, an import)."""
    resource = None
    if isinstance(arn, str) and Token.is_unresolved(arn):
        reference = Tokenization.reverse_string(arn).first_token
        if isinstance(reference, Reference):
            resource = reference.target
    written = _resolved(table, arn)
    if isinstance(written, str) and not Token.is_unresolved(written):
        return _Arn(written, None)
    if isinstance(written, dict) and list(written) == ["Fn::GetAtt"]:
        return _Arn(written, resource)
    return None


def _differ(given: _Arn, written: _Arn) -> bool:
    if type(given.written) is not type(written.written):
        return False
    if given.resource is not None and written.resource is not None:
        # Logical IDs are unique within a stack only: streams at one path in
        # two stacks share a GetAtt. Construct paths are unique in the app.
        return bool(given.resource.node.path != written.resource.node.path)
    return bool(given.written != written.written)


def _shown(arn: _Arn | None) -> str | None:
    """The stream's construct, or else its literal ARN: for an imported stream the
    ARN says more than the path of the proxy that imports it."""
    if arn is not None and arn.resource is not None:
        resource, scope = arn.resource, arn.resource.node.scope
        child = scope.node.default_child if scope is not None else None
        # The kinesis.Stream, not its CfnStream, unless the L1 stands alone.
        alone = child is None or child.node.path != resource.node.path
        return described(resource if alone else scope)
    if arn is not None and isinstance(arn.written, str):
        return repr(arn.written)
    return None


def _property(table: object, name: str) -> Any:
    """An L1 property of the table, unresolved; ``_UNKNOWN`` if jsii cannot read it."""
    # cfnProperties, not the typed getters: TableV2 derives its specs lazily
    # from its replicas, and jsii cannot deserialize those getters' structs.
    # The untyped map resolves.
    try:
        resource = table.node.default_child  # type: ignore[attr-defined]
        return jsii.get(resource, "cfnProperties").get(name)
    except (RuntimeError, jsii.errors.JSIIError):
        return _UNKNOWN


def _resolved(table: object, value: Any) -> Any:
    """``value`` resolved in the table's stack; None if unknown or unresolvable."""
    if value is _UNKNOWN:
        return None
    try:
        return Stack.of(table).resolve(value)  # type: ignore[arg-type]
    except (RuntimeError, jsii.errors.JSIIError):
        return None


_VIEW_TYPES = frozenset(member.value for member in dynamodb.StreamViewType)
