"""The execution environment of one local Lambda function: a separate Python process.

Run as a script (``python _worker.py``), never imported: it must not import
``cdk_streams`` (whose constructs pull in jsii) and uses only the standard
library, so the function sees roughly what the Lambda Python runtime gives it.

The parent (:mod:`cdk_streams.local.invoker`) sets the function's environment
(its variables plus Lambda's reserved ones: ``_HANDLER``, ``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_NAME`` ...) and passes two pipe descriptors:

* ``CDK_STREAMS_REQUEST_FD``: one JSON line per invocation, in;
* ``CDK_STREAMS_RESPONSE_FD``: one JSON line per answer, out (first an init
  answer, then one per invocation).

The function's own output (print, logging) goes to stdout/stderr, which the
parent reads as the function's log; after each invocation this process writes
a marker line there so the parent knows the log of that invocation is complete.
A ``sys.exit`` or ``os._exit`` in the function ends this process, as it ends a
Lambda runtime: the parent reports it as a function error and starts a new one.
"""

import importlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

#: Written alone on stdout after each invocation's output; the parent strips it.
LOG_MARKER = "\x1ecdk-streams-invocation-done "

_request_id = ""


class _LambdaFormatter(logging.Formatter):
    """The Lambda Python runtime's log format: level, UTC time, request id, message."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        return f"[{record.levelname}]\t{stamp}.{int(record.msecs):03d}Z\t{_request_id}\t{message}"


class LambdaContext:
    """The context object a Lambda Python handler receives (the runtime's attributes)."""

    def __init__(self, request: dict) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = request.get("invoked_function_arn", "")
        # The real runtime passes the memory size as a string from the environment.
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request["request_id"]
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )


def _error(kind: str, error: BaseException) -> dict:
    return {
        "errorType": kind,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(type(error), error, error.__traceback__),
    }


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_LambdaFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # As in Lambda: the root logger passes WARNING and up unless the code says otherwise.
    root.setLevel(logging.WARNING)


def _load_handler() -> Callable[[Any, LambdaContext], Any]:
    spec = os.environ["_HANDLER"]
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ImportError(f"Unable to import module '{module_name}': {error}") from error
    try:
        handler: Callable[[Any, LambdaContext], Any] = getattr(module, function_name)
    except AttributeError as error:
        raise AttributeError(
            f"Handler '{function_name}' missing on module '{module_name}'"
        ) from error
    return handler


def main() -> None:
    global _request_id
    requests = os.fdopen(int(os.environ.pop("CDK_STREAMS_REQUEST_FD")), "r", encoding="utf-8")
    responses = os.fdopen(int(os.environ.pop("CDK_STREAMS_RESPONSE_FD")), "w", encoding="utf-8")
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    # The function's code comes first, and this script's own directory not at all.
    sys.path[0] = task_root
    os.chdir(task_root)
    _configure_logging()

    def answer(message: dict) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        responses.write(json.dumps(message) + "\n")
        responses.flush()

    try:
        handler = _load_handler()
    except Exception as error:
        if isinstance(error, ImportError):
            kind = "Runtime.ImportModuleError"
        elif isinstance(error, AttributeError):
            kind = "Runtime.HandlerNotFound"
        elif isinstance(error, SyntaxError):
            kind = "Runtime.UserCodeSyntaxError"
        else:
            kind = "Runtime.InitError"
        traceback.print_exc()
        answer({"init": False, "error": _error(kind, error)})
        return
    answer({"init": True})

    for line in requests:
        request = json.loads(line)
        _request_id = request["request_id"]
        context = LambdaContext(request)
        try:
            result = handler(request["event"], context)
            try:
                payload = json.dumps(result)
            except (TypeError, ValueError) as error:
                message = {"ok": False, "error": _error("Runtime.MarshalError", error)}
            else:
                message = {"ok": True, "payload": payload}
        except Exception as error:
            # Lambda logs the unhandled error in the function's log, then reports it.
            print(
                f"[ERROR] {type(error).__name__}: {error}\n"
                + "".join(traceback.format_exception(type(error), error, error.__traceback__)),
                flush=True,
            )
            message = {"ok": False, "error": _error(type(error).__name__, error)}
        sys.stdout.write(LOG_MARKER + request["request_id"] + "\n")
        answer(message)


if __name__ == "__main__":
    main()
