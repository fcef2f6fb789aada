"""Every use of moto's internals in one place, so a moto upgrade breaks here first.

moto delivers DynamoDB stream records to Lambda itself: when a table has an
event-source mapping, ``StreamShard.add`` calls
``LambdaBackend.send_dynamodb_items`` on every write. Without Docker that call
fails and moto then *clears the shard's records*, so GetRecords returns nothing
and the changes are lost. The local cloud delivers records itself (see
:mod:`cdk_streams.local.runner`), so it replaces that method with a no-op for
as long as a :class:`~cdk_streams.local.cloud.LocalCloud` runs.

Kinesis is the same story: ``put_record`` on a stream with a mapping calls
``LambdaBackend.send_kinesis_message``, which tries Docker and prints an error
per record. The local cloud delivers Kinesis records itself too, so that
method is replaced the same way (it keeps the records either way).

CloudFormation, three gaps that ordinary CDK apps hit:

- ``ExecuteChangeSet`` (the CDK CLI always deploys through change sets) never
  records the new stack's Outputs and Exports, and resolves
  ``Fn::ImportValue`` against an empty export list. The replacement gives the
  stack the region's exports before the change set applies, then records its
  outputs and exports as ``CreateStack`` does.
- ``AWS::CloudWatch::Alarm`` is skipped, so ``Fn::GetAtt [Alarm, Arn]`` (every
  dashboard alarm widget) fails. A resource type is registered that creates
  the alarm with moto's CloudWatch ``PutMetricAlarm``.
- ``AWS::DynamoDB::GlobalTable`` (what ``TableV2`` synthesizes) is unknown. A
  resource type is registered that creates the replica in the emulator's
  region as a moto table, stream included.

Writes: the local cloud's pollers would have to read every idle shard many
times a second to deliver a change promptly, which costs a tenth of a CPU core
per few mappings. ``StreamShard.add`` (every record a DynamoDB stream gets) and
Kinesis ``Stream.put_record`` (every Kinesis record) are wrapped to call
moto's own method and then the listener :func:`notify_writes` set, so a
poller sleeps until something was written.

Dispatch: moto's server finds the backend of every request by matching its
host against some 180 URL patterns in turn, about 1 ms per request, which is
most of what a GetRecords call costs here. The answer depends on the host
alone, so :func:`_backend_for_host` remembers it per host.

Stopping ``ThreadedMotoServer`` waits out werkzeug's 0.5 s poll of its listening
socket; :func:`stop_server` wakes the poll with a connection instead.

Invoke: moto runs function code only in Docker. While a local cloud routes
invocations here (:func:`route_invocations`), ``Invoke`` of a deployed
function runs its code in the cloud's own worker processes, so ``aws lambda
invoke`` and ``cdk-streams backfill --function`` work locally.

``tests/test_local_moto_patch.py`` checks that the patched attributes still
exist with the expected signatures and that records survive a mapping.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The parameters moto 5.2's ``send_dynamodb_items`` takes; the patch assumes them.
EXPECTED_PARAMETERS = ("self", "function_arn", "items", "source")
#: The same for ``send_kinesis_message``.
EXPECTED_KINESIS_PARAMETERS = (
    "self",
    "function_name",
    "kinesis_stream",
    "kinesis_partition_key",
    "kinesis_sequence_number",
    "kinesis_data",
    "kinesis_shard_id",
)

#: The parameters moto 5.2's ``CloudFormationBackend.execute_change_set`` takes.
EXPECTED_EXECUTE_CHANGE_SET_PARAMETERS = ("self", "change_set_name", "stack_name")

#: The same for ``invoke``.
EXPECTED_INVOKE_PARAMETERS = (
    "self",
    "function_name",
    "qualifier",
    "body",
    "headers",
    "response_headers",
)
#: The same for the server's ``DomainDispatcherApplication.get_backend_for_host``.
EXPECTED_BACKEND_FOR_HOST_PARAMETERS = ("self", "host")

#: The same for the DynamoDB ``StreamShard.add`` and Kinesis ``Stream.put_record``.
EXPECTED_STREAM_ADD_PARAMETERS = ("self", "old", "new")
EXPECTED_KINESIS_PUT_PARAMETERS = ("self", "partition_key", "explicit_hash_key", "data")

#: Lambda returns at most the last 4 KB of the log with ``LogType=Tail``.
LOG_TAIL_BYTES = 4096

_lock = threading.Lock()
#: (class name, method name) -> moto's own method, while the patch is on.
_originals: dict[tuple[str, str], Callable[..., Any]] = {}
#: CloudFormation resource types this patch registered (and removes on give-back).
_registered: list[str] = []
_depth = 0


class MotoPatchError(RuntimeError):
    """moto changed in a way the local cloud's patch does not understand."""


def _import_moto(what: str) -> Any:
    try:
        if what == "lambda":
            from moto.awslambda.models import LambdaBackend

            return LambdaBackend
        if what == "dynamodb stream":
            from moto.dynamodb.models.table import StreamShard

            return StreamShard
        if what == "kinesis stream":
            from moto.kinesis.models import Stream

            return Stream
        if what == "server dispatch":
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication

            return DomainDispatcherApplication
        from moto.cloudformation.models import CloudFormationBackend

        return CloudFormationBackend
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise MotoPatchError(
            "the local cloud needs moto; install the extra: pip install 'cdk-streams[local]'"
        ) from error


def _keep_records(self: Any, function_arn: str, items: list[Any], source: str) -> None:
    """The replacement: deliver nothing and return None.

    ``StreamShard.add`` only clears the shard when this returns something truthy,
    so returning None keeps every record for GetRecords.
    """
    return None


def _skip_kinesis(self: Any, *args: Any, **kwargs: Any) -> None:
    """The Kinesis replacement: deliver nothing (moto keeps the records regardless)."""
    return None


def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    """``execute_change_set`` that wires exports in and records outputs, as CreateStack does."""
    original = _originals[("CloudFormationBackend", "execute_change_set")]
    try:
        change_set = self.describe_change_set(change_set_name)
    except Exception:  # moto's own call raises the API's error for an unknown name
        change_set = None
    creating = change_set is not None and change_set.change_set_type == "CREATE"
    stack = self.stacks.get(change_set.stack_id) if change_set is not None else None
    if creating and stack is not None:
        # The stack moto built for the change set got an empty dict of its own.
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports
    original(self, change_set_name, stack_name)
    if creating and stack is not None:
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export


#: Called with the stream's ARN after every record a stream gets (see notify_writes).
_on_write: Callable[[str | None], None] | None = None


def notify_writes(listener: Callable[[str | None], None] | None) -> None:
    """Call ``listener(stream_arn)`` after every record moto appends to a DynamoDB
    or Kinesis stream (None: stop). The ARN is None when moto's stream object no
    longer says it. It runs on moto's request thread, so it must be quick."""
    global _on_write
    _on_write = listener


def _stream_add(self: Any, old: Any, new: Any) -> None:
    """``StreamShard.add``, then the write listener: the record is readable by then."""
    _originals[("StreamShard", "add")](self, old, new)
    listener = _on_write
    if listener is not None:
        table = self.table
        label = getattr(table, "latest_stream_label", None)
        table_arn = getattr(table, "table_arn", None)
        listener(f"{table_arn}/stream/{label}" if label and table_arn else None)


def _kinesis_put(self: Any, partition_key: str, explicit_hash_key: str, data: str) -> Any:
    """Kinesis ``Stream.put_record``, then the write listener."""
    result = _originals[("Stream", "put_record")](self, partition_key, explicit_hash_key, data)
    listener = _on_write
    if listener is not None:
        listener(getattr(self, "arn", None))
    return result


#: Host -> the backend moto's dispatcher found for it, while the patch is on.
_backends_by_host: dict[str, Any] = {}


def _backend_for_host(self: Any, host: str | None) -> Any:
    """``get_backend_for_host``, remembered per host (a pure function of the host)."""
    if host is not None:
        backend = _backends_by_host.get(host)
        if backend is not None:
            return backend
    backend = _originals[("DomainDispatcherApplication", "get_backend_for_host")](self, host)
    if host is not None and backend is not None:
        _backends_by_host[host] = backend
    return backend


#: Runs a function's code: (function name, event) -> an object with ``ok``,
#: ``payload``, ``error`` and ``logs`` (the local cloud's InvocationResult).
_invoker: Callable[[str, Any], Any] | None = None


def route_invocations(invoker: Callable[[str, Any], Any] | None) -> None:
    """Run every Lambda ``Invoke`` through ``invoker`` (None: back to moto's own)."""
    global _invoker
    _invoker = invoker


def _invoke_async(invoker: Callable[[str, Any], Any], name: str, event: Any) -> None:
    # An Event invocation's outcome reaches no caller (the function's log has it);
    # a cloud stopping while one runs must not end in a thread traceback.
    with contextlib.suppress(Exception):
        invoker(name, event)


def _invoke_locally(
    self: Any,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> Any:
    """The Invoke replacement: the function's own code, in the local cloud's workers."""
    invoker = _invoker
    if invoker is None:
        original = _originals[("LambdaBackend", "invoke")]
        return original(self, function_name, qualifier, body, headers, response_headers)
    name = self.get_function(function_name, qualifier).function_name  # moto's 404 if unknown
    event = json.loads(body) if body else {}
    kind = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if kind == "DryRun":
        return b""
    if kind == "Event":
        threading.Thread(target=_invoke_async, args=(invoker, name, event), daemon=True).start()
        return b""
    result = invoker(name, event)
    if not result.ok:
        response_headers["x-amz-function-error"] = "Unhandled"
    answer = json.dumps(result.payload if result.ok else result.error).encode("utf-8")
    lines = [
        f"START RequestId: {result.request_id} Version: $LATEST",
        *result.logs,
        f"END RequestId: {result.request_id}",
        f"REPORT RequestId: {result.request_id}\tDuration: {result.duration_ms:.2f} ms",
    ]
    log = "\n".join(lines).encode("utf-8")[-LOG_TAIL_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(log).decode("ascii")
    response_headers["Content-Length"] = str(len(answer))
    return answer


@dataclass(frozen=True)
class _Patch:
    """One method of a moto class the patch replaces."""

    owner: str  # a key of _import_moto: "lambda", "cloudformation", "server dispatch", ...
    name: str
    expected: tuple[str, ...]
    what: str  # what moto's method does, for the error message
    replacement: Callable[..., Any]


#: Every method the patch replaces: the check, the take-over and the give-back read this.
_PATCHED: tuple[_Patch, ...] = (
    _Patch(
        "lambda",
        "send_dynamodb_items",
        EXPECTED_PARAMETERS,
        "delivers stream records",
        _keep_records,
    ),
    _Patch(
        "lambda",
        "send_kinesis_message",
        EXPECTED_KINESIS_PARAMETERS,
        "delivers Kinesis records",
        _skip_kinesis,
    ),
    _Patch(
        "lambda",
        "invoke",
        EXPECTED_INVOKE_PARAMETERS,
        "invokes functions",
        _invoke_locally,
    ),
    _Patch(
        "dynamodb stream",
        "add",
        EXPECTED_STREAM_ADD_PARAMETERS,
        "appends stream records",
        _stream_add,
    ),
    _Patch(
        "kinesis stream",
        "put_record",
        EXPECTED_KINESIS_PUT_PARAMETERS,
        "appends Kinesis records",
        _kinesis_put,
    ),
    _Patch(
        "server dispatch",
        "get_backend_for_host",
        EXPECTED_BACKEND_FOR_HOST_PARAMETERS,
        "finds a request's backend",
        _backend_for_host,
    ),
    _Patch(
        "cloudformation",
        "execute_change_set",
        EXPECTED_EXECUTE_CHANGE_SET_PARAMETERS,
        "executes change sets",
        _execute_change_set,
    ),
)


def _key(patch: _Patch) -> tuple[str, str]:
    return (_import_moto(patch.owner).__name__, patch.name)


def check_compatible() -> None:
    """Raise :class:`MotoPatchError` unless moto still has what the patch replaces."""
    for patch in _PATCHED:
        owner = _import_moto(patch.owner)
        method = _originals.get(_key(patch)) or getattr(owner, patch.name, None)
        where = f"{owner.__module__}.{owner.__name__}.{patch.name}"
        if method is None:
            raise MotoPatchError(
                f"{where} is gone; moto changed how it {patch.what}, so "
                "cdk_streams.local.moto_patch must be updated"
            )
        parameters = tuple(inspect.signature(method).parameters)
        if parameters != patch.expected:
            raise MotoPatchError(
                f"{where} has parameters {parameters}, expected {patch.expected}; "
                "update cdk_streams.local.moto_patch"
            )
    from moto.cloudformation import parsing

    for name in ("get_model_map", "get_name_type_map"):
        if not callable(getattr(parsing, name, None)):
            raise MotoPatchError(
                f"moto.cloudformation.parsing.{name} is gone; moto changed how it registers "
                "resource types, so cdk_streams.local.moto_patch must be updated"
            )


def take_over_stream_delivery() -> None:
    """Stop moto from delivering (and dropping) stream records, and fill the
    CloudFormation gaps (change-set outputs, alarms, global tables). Nested calls
    are counted."""
    global _depth
    with _lock:
        check_compatible()
        if _depth == 0:
            for patch in _PATCHED:
                owner = _import_moto(patch.owner)
                _originals[_key(patch)] = getattr(owner, patch.name)
                setattr(owner, patch.name, patch.replacement)
            _register_resource_types()
        _depth += 1


def give_back_stream_delivery() -> None:
    """Undo :func:`take_over_stream_delivery` once every caller has given it back."""
    global _depth
    with _lock:
        if _depth == 0:
            return
        _depth -= 1
        if _depth == 0:
            for patch in _PATCHED:
                original = _originals.pop(_key(patch), None)
                if original is not None:
                    setattr(_import_moto(patch.owner), patch.name, original)
            _backends_by_host.clear()
            _unregister_resource_types()


def is_taken_over() -> bool:
    """Whether the patch is on (moto's own stream delivery replaced, resource types added)."""
    return all(
        getattr(_import_moto(patch.owner), patch.name) is patch.replacement for patch in _PATCHED
    )


# -- CloudFormation resource types moto lacks ----------------------------------------


def _alarm_model() -> type:
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.common_models import CloudFormationModel

    class AlarmResource(CloudFormationModel):
        """``AWS::CloudWatch::Alarm``, created with moto's PutMetricAlarm.

        Metric-math alarms (``Metrics``) are created without their queries: the
        local cloud never evaluates alarms, it only needs them to exist.
        """

        def __init__(self, alarm: Any) -> None:
            self.alarm = alarm

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @property
        def physical_resource_id(self) -> str:
            return str(self.alarm.name)

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            if attribute_name == "Arn":
                return self.alarm.alarm_arn
            raise UnformattedGetAttTemplateException()

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            p = cloudformation_json.get("Properties", {})
            alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=resource_name,
                namespace=p.get("Namespace"),
                metric_name=p.get("MetricName"),
                comparison_operator=p.get("ComparisonOperator", "GreaterThanThreshold"),
                evaluation_periods=int(p.get("EvaluationPeriods", 1)),
                period=int(p.get("Period", 60)),
                threshold=float(p.get("Threshold", 0)),
                statistic=p.get("Statistic"),
                description=p.get("AlarmDescription"),
                dimensions=list(p.get("Dimensions", [])),
                alarm_actions=list(p.get("AlarmActions", [])),
                ok_actions=list(p.get("OKActions", [])),
                insufficient_data_actions=list(p.get("InsufficientDataActions", [])),
                datapoints_to_alarm=p.get("DatapointsToAlarm"),
                extended_statistic=p.get("ExtendedStatistic"),
                unit=p.get("Unit"),
                actions_enabled=p.get("ActionsEnabled", True) not in (False, "false"),
                treat_missing_data=p.get("TreatMissingData"),
            )
            return cls(alarm)

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    return AlarmResource


#: GlobalTable property -> the same thing on AWS::DynamoDB::Table.
_GLOBAL_TABLE_PROPERTIES = (
    "KeySchema",
    "AttributeDefinitions",
    "LocalSecondaryIndexes",
    "StreamSpecification",
    "BillingMode",
    "SSESpecification",
)


def _global_table_model() -> type:
    from moto.core.common_models import CloudFormationModel
    from moto.dynamodb.models.table import Table

    class GlobalTableResource(CloudFormationModel):
        """``AWS::DynamoDB::GlobalTable``: its replica in the emulator's region, as a moto table."""

        @staticmethod
        def cloudformation_name_type() -> str:
            return "TableName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::DynamoDB::GlobalTable"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("Arn", "StreamArn")

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            p = cloudformation_json.get("Properties", {})
            table = {k: p[k] for k in _GLOBAL_TABLE_PROPERTIES if k in p}
            table["GlobalSecondaryIndexes"] = [
                {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                for index in p.get("GlobalSecondaryIndexes", [])
            ]
            replica: dict[str, Any] = next(
                (r for r in p.get("Replicas", []) if r.get("Region") == region_name), {}
            )
            if replica.get("Tags"):
                table["Tags"] = replica["Tags"]
            if p.get("BillingMode") != "PAY_PER_REQUEST":
                write = p.get("WriteProvisionedThroughputSettings", {})
                read = replica.get("ReadProvisionedThroughputSettings", {})
                table["ProvisionedThroughput"] = {
                    "ReadCapacityUnits": int(read.get("ReadCapacityUnits", 5)),
                    "WriteCapacityUnits": int(
                        write.get("WriteCapacityAutoScalingSettings", {}).get("MinCapacity", 5)
                    ),
                }
            return Table.create_from_cloudformation_json(
                resource_name, {"Properties": table}, account_id, region_name
            )

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            Table.delete_from_cloudformation_json(
                resource_name, cloudformation_json, account_id, region_name
            )

    return GlobalTableResource


#: Resource type -> a factory of the moto model that creates it.
_RESOURCE_TYPES: dict[str, Callable[[], type]] = {
    "AWS::CloudWatch::Alarm": _alarm_model,
    "AWS::DynamoDB::GlobalTable": _global_table_model,
}
_models: dict[str, type] = {}


def _register_resource_types() -> None:
    from moto.cloudformation import parsing

    model_map, name_map = parsing.get_model_map(), parsing.get_name_type_map()
    for resource_type, factory in _RESOURCE_TYPES.items():
        if resource_type in model_map:
            continue  # moto learned it; its own model wins
        model = _models.get(resource_type) or _models.setdefault(resource_type, factory())
        model_map[resource_type] = model
        name_map[resource_type] = model.cloudformation_name_type()  # type: ignore[attr-defined]
        _registered.append(resource_type)


def _unregister_resource_types() -> None:
    from moto.cloudformation import parsing

    model_map, name_map = parsing.get_model_map(), parsing.get_name_type_map()
    while _registered:
        resource_type = _registered.pop()
        model_map.pop(resource_type, None)
        name_map.pop(resource_type, None)


def supports_resource_type(resource_type: str) -> bool:
    """Whether moto's CloudFormation (with this patch on) creates ``resource_type``.

    Types it does not know it skips with a warning; that only breaks a deploy
    when something reads the resource's attributes.
    """
    from moto.cloudformation import parsing

    if resource_type.startswith("Custom::"):
        return False
    return resource_type in parsing.get_model_map() or resource_type in _RESOURCE_TYPES


def reset_backends() -> None:
    """Empty every moto backend in this process, so a local cloud starts from nothing."""
    from moto.moto_api import _internal

    _internal.moto_api_backend.reset()


def function_code_zip(function_name: str, account_id: str, region: str) -> bytes:
    """The deployment package moto stored for a function (a zip), read from its backend.

    Used when a function's code is not in a cloud assembly the local cloud
    deployed (for example one created with ``lambda.create_function``).
    """
    from moto.awslambda.models import lambda_backends

    try:
        function = lambda_backends[account_id][region].get_function(function_name)
        code = function.code_bytes
    except Exception as error:
        raise MotoPatchError(
            f"cannot read the code of function {function_name!r} from moto's Lambda backend: "
            f"{error}"
        ) from error
    if not code:
        raise MotoPatchError(f"moto holds no code for function {function_name!r}")
    return bytes(code)


# -- the server ------------------------------------------------------------------------


def stop_server(server: Any) -> None:
    """Stop a started ``ThreadedMotoServer`` and close its socket, without the wait.

    werkzeug's ``serve_forever`` sees a shutdown request only between ``select``
    calls of 0.5 s. While ``stop()`` waits for that, connections to the port wake
    the ``select`` at once (each is accepted and closed empty).
    """
    inner = getattr(server, "_server", None)
    stopping = threading.Thread(target=server.stop, name="moto-server-stop", daemon=True)
    stopping.start()
    if inner is not None:
        host, port = inner.server_address[:2]
        while stopping.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection((host, port), timeout=0.1).close()
            stopping.join(0.01)
    stopping.join()
    if inner is not None:
        inner.server_close()
