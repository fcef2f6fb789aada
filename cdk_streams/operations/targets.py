"""Where replayed and backfilled records go: a deployed function or a local handler.

A :class:`Target` takes a Lambda-shaped event (``{"Records": [...]}``) and
answers with an :class:`~cdk_streams.streams.delivery.Invocation`, as an
event-source mapping sees it. :func:`first_failure` then reads that answer with
Lambda's own rule (:func:`~cdk_streams.streams.partial_batch.invocation_failed_index`).

* :class:`FunctionTarget`: ``lambda.invoke`` (RequestResponse) of a deployed
  function. In the local cloud the invocation runs the deployed code.
* :class:`LocalHandlerTarget`: a handler loaded in this process from a
  directory, ``module.function`` or ``module:function``. The bundled
  ``stream_runtime`` is importable, as in the deployed asset.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..handler_code import RUNTIME_PACKAGE, bundled_code_dir
from ..handler_entry import check_handler
from ..handler_spec import HandlerSpecError, parse_handler
from ..streams.arns import placeholder_arn
from ..streams.delivery import Invocation, InvokeOutcome
from ..streams.lambda_context import LambdaContext
from ..streams.partial_batch import invocation_failed_index
from ..streams.records import RecordShape
from ..streams.settings import BATCH_SIZE
from .errors import OperationError


class Target(Protocol):
    """Something that processes a batch of Lambda stream records."""

    @property
    def name(self) -> str:
        """What the progress lines call it."""
        ...

    def invoke(self, event: dict[str, Any]) -> Invocation:
        """Run on one event; never raises for a failing handler (``ok`` is False)."""
        ...

    def check(self) -> None:
        """Refuse a target that cannot be invoked, before any record is read.

        :raises OperationError: what is wrong with it, in one line.
        """
        ...


def check_batch_size(batch_size: int) -> None:
    """Refuse a batch size Lambda's event-source mappings would not take.

    :raises OperationError: outside 1..10000, naming the ``--batch-size`` option.
    """
    low, high = BATCH_SIZE
    if not low <= batch_size <= high:
        raise OperationError(f"--batch-size must be {low}..{high}, got {batch_size}")


def first_failure(
    target: Target,
    batch: Sequence[dict[str, Any]],
    shape: RecordShape,
    *,
    report_batch_item_failures: bool = True,
) -> tuple[int | None, Invocation]:
    """Deliver one batch; return where it failed (None: all succeeded) and the outcome.

    A function error fails the whole batch (index 0); a normal response is read
    as the mapping reads it: with ``report_batch_item_failures`` the lowest
    reported record and everything after it failed.
    """
    outcome = target.invoke({"Records": list(batch)})
    failed = invocation_failed_index(
        batch,
        shape.sequence,
        ok=outcome.ok,
        response=outcome.payload,
        report_batch_item_failures=report_batch_item_failures,
    )
    return failed, outcome


@dataclass(frozen=True)
class FailedInvocation:
    """A function error, with what the function said."""

    request_id: str
    error: dict[str, Any]
    ok: bool = False
    payload: Any = None

    @property
    def function_error(self) -> str | None:
        return "Unhandled"


class FunctionTarget:
    """A deployed Lambda function, invoked synchronously.

    :param lambda_client: a boto3 ``lambda`` client.
    :param function_name: the function's name or ARN.
    """

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._client = lambda_client
        self.name = function_name

    def check(self) -> None:
        """Fail now if the function does not exist, before any record is read.

        A DryRun invoke runs nothing and needs only the permission the
        operation needs anyway (not ``lambda:GetFunction``).

        :raises OperationError: no such function in this account and region.
        """
        from botocore.exceptions import ClientError

        from ..streams.aws_errors import NOT_FOUND, error_code

        try:
            self._client.invoke(FunctionName=self.name, InvocationType="DryRun")
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                raise OperationError(
                    f"no function named {self.name} in this account and region"
                ) from error
            raise

    def invoke(self, event: dict[str, Any]) -> Invocation:
        response = self._client.invoke(
            FunctionName=self.name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode("utf-8"),
        )
        body = response["Payload"].read()
        request_id = response.get("ResponseMetadata", {}).get("RequestId") or str(uuid.uuid4())
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = body.decode("utf-8", "replace")
        if response.get("FunctionError"):
            error = payload if isinstance(payload, dict) else {"errorMessage": str(payload)}
            return FailedInvocation(request_id, error)
        return InvokeOutcome(request_id, True, payload)


def check_local_handler(directory: Path, handler: str) -> None:
    """Refuse a ``--handler`` that ``directory`` does not define, with the construct's
    own check: the same line as at synth (with the closest name it does define),
    and before any of the user's code runs.

    :raises OperationError: the module is not in ``directory`` or does not define
        the function.
    """
    problem = check_handler(directory, handler)
    if problem is not None:
        raise OperationError(
            f"--handler: {problem.prop} must be {problem.allowed}, got {problem.got}"
        )


_import_lock = threading.Lock()


class LocalHandlerTarget:
    """A handler run in this process, loaded from ``handler_dir``.

    :param handler_dir: the directory holding the handler's module (what
        ``StreamProcessor(handler_dir=...)`` bundles).
    :param handler: ``module.function`` or ``module:function``.
    :param timeout_ms: what ``context.get_remaining_time_in_millis()`` answers.
        @default 60000.

    A module of the same name imported earlier from another directory is
    replaced, so a fixed copy of a handler loads fresh. A handler that does not
    load is refused in the construct's words (:func:`check_local_handler`).
    """

    def __init__(self, handler_dir: str | Path, handler: str, *, timeout_ms: int = 60_000) -> None:
        directory = Path(handler_dir).resolve()
        if not directory.is_dir():
            raise OperationError(f"--handler-dir {handler_dir} is not a directory")
        try:
            spec = parse_handler(handler)
        except HandlerSpecError:
            check_local_handler(directory, handler)  # the same line as at synth
            raise  # pragma: no cover - the check refuses every spec parse_handler does
        module_name, function_name = spec.module, spec.function
        self.name = f"{directory.name}/{module_name}.{function_name}"
        self._timeout_ms = timeout_ms
        try:
            self._function = self._load(directory, module_name, function_name)
        except OperationError:
            # Only when loading failed: the construct's static check words a typo as
            # at synth, with the closest name; but it cannot see a name bound at run
            # time (a star import), which loading just found, so it never refuses first.
            check_local_handler(directory, handler)
            raise

    @staticmethod
    def _load(directory: Path, module_name: str, function_name: str) -> Callable[..., Any]:
        with _import_lock:
            if str(directory) in sys.path:
                sys.path.remove(str(directory))
            sys.path.insert(0, str(directory))
            if not (directory / RUNTIME_PACKAGE).exists():
                bundled = str(bundled_code_dir())
                if bundled not in sys.path:
                    sys.path.append(bundled)
            top = module_name.split(".")[0]
            for loaded in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
                origin = getattr(sys.modules[loaded], "__file__", None) or ""
                if not origin.startswith(str(directory)):
                    del sys.modules[loaded]
            importlib.invalidate_caches()
            try:
                module = importlib.import_module(module_name)
            except Exception as error:
                raise OperationError(
                    f"--handler: cannot import {module_name!r} from {directory}: "
                    f"{type(error).__name__}: {error}"
                ) from error
        function = getattr(module, function_name, None)
        if not callable(function):
            raise OperationError(
                f"--handler: module {module_name!r} in {directory} has no function "
                f"{function_name!r}"
            )
        return function

    def check(self) -> None:
        """Nothing left to check: the constructor loaded the handler."""

    def invoke(self, event: dict[str, Any]) -> Invocation:
        request_id = str(uuid.uuid4())
        context = LambdaContext(
            self.name,
            timeout_ms=self._timeout_ms,
            request_id=request_id,
            invoked_function_arn=placeholder_arn("lambda", f"function:{self.name}"),
            memory_limit_in_mb="128",
            log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name="local",
        )
        try:
            # A round trip through JSON, as Lambda's: the handler gets plain JSON
            # values and may not hand back anything else.
            result = self._function(json.loads(json.dumps(event)), context)
            payload = json.loads(json.dumps(result))
        except Exception as error:
            return FailedInvocation(
                request_id,
                {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_exception(error),
                },
            )
        return InvokeOutcome(request_id, True, payload)
