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

Invoke is the third: moto runs function code only in Docker. While a local
cloud routes invocations here (:func:`route_invocations`), ``Invoke`` of a
deployed function runs its code in the cloud's own worker processes, so
``aws lambda invoke`` and ``cdk-streams backfill --function`` work locally.

``tests/test_local_moto_patch.py`` checks that the patched attribute still
exists with the expected signature and that records survive a mapping.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import json
import threading
from collections.abc import Callable
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

#: The same for ``invoke``.
EXPECTED_INVOKE_PARAMETERS = (
    "self",
    "function_name",
    "qualifier",
    "body",
    "headers",
    "response_headers",
)
#: Lambda returns at most the last 4 KB of the log with ``LogType=Tail``.
LOG_TAIL_BYTES = 4096

_lock = threading.Lock()
#: Method name -> moto's own method, while the patch is on.
_originals: dict[str, Callable[..., Any]] = {}
_depth = 0


class MotoPatchError(RuntimeError):
    """moto changed in a way the local cloud's patch does not understand."""


def _lambda_backend_class() -> type:
    try:
        from moto.awslambda.models import LambdaBackend
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise MotoPatchError(
            "cdk_streams.local needs moto's Lambda backend; install cdk-streams[local] "
            f"(moto[server]>=5.2.5,<5.3): {error}"
        ) from error
    return LambdaBackend


def _keep_records(self: Any, function_arn: str, items: list[Any], source: str) -> None:
    """The replacement: deliver nothing and return None.

    ``StreamShard.add`` only clears the shard when this returns something truthy,
    so returning None keeps every record for GetRecords.
    """
    return None


def _skip_kinesis(self: Any, *args: Any, **kwargs: Any) -> None:
    """The Kinesis replacement: deliver nothing (moto keeps the records regardless)."""
    return None


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
        return _originals["invoke"](
            self, function_name, qualifier, body, headers, response_headers
        )
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


#: Each method of moto's LambdaBackend the patch replaces: (the parameters it
#: must still have, what it delivers, its replacement).
_PATCHED: dict[str, tuple[tuple[str, ...], str, Callable[..., Any]]] = {
    "send_dynamodb_items": (EXPECTED_PARAMETERS, "stream records", _keep_records),
    "send_kinesis_message": (EXPECTED_KINESIS_PARAMETERS, "Kinesis records", _skip_kinesis),
    "invoke": (EXPECTED_INVOKE_PARAMETERS, "function invocations", _invoke_locally),
}


def check_compatible() -> None:
    """Raise :class:`MotoPatchError` unless moto still has the methods the patch replaces."""
    backend = _lambda_backend_class()
    for name, (expected, delivers, _) in _PATCHED.items():
        method = _originals.get(name) or getattr(backend, name, None)
        if method is None:
            raise MotoPatchError(
                f"moto.awslambda.models.LambdaBackend.{name} is gone; moto changed "
                f"how it delivers {delivers}, so cdk_streams.local.moto_patch must be updated"
            )
        parameters = tuple(inspect.signature(method).parameters)
        if parameters != expected:
            raise MotoPatchError(
                f"moto.awslambda.models.LambdaBackend.{name} has parameters "
                f"{parameters}, expected {expected}; update cdk_streams.local.moto_patch"
            )


def take_over_stream_delivery() -> None:
    """Stop moto from delivering (and dropping) stream records. Nested calls are counted."""
    global _depth
    with _lock:
        check_compatible()
        backend = _lambda_backend_class()
        if _depth == 0:
            for name, (_, _, replacement) in _PATCHED.items():
                _originals[name] = getattr(backend, name)
                setattr(backend, name, replacement)
        _depth += 1


def give_back_stream_delivery() -> None:
    """Undo :func:`take_over_stream_delivery` once every caller has given it back."""
    global _depth
    with _lock:
        if _depth == 0:
            return
        _depth -= 1
        if _depth == 0:
            backend = _lambda_backend_class()
            for name, original in _originals.items():
                setattr(backend, name, original)
            _originals.clear()


def is_taken_over() -> bool:
    """Whether moto's own stream delivery (DynamoDB and Kinesis) is currently replaced."""
    backend = _lambda_backend_class()
    return all(getattr(backend, name) is patch[2] for name, patch in _PATCHED.items())


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
