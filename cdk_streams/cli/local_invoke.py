"""``cdk-streams local invoke``: run a handler on a saved event in a separate process,
as Lambda would, and print its response.

Exit status: 0 when the handler succeeded, 1 when it failed (raised, crashed or
timed out) or its response reports failed records (a non-empty
``batchItemFailures``), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..handler_code import SAMPLE_HANDLER, bundled_code_dir
from ..handler_spec import HandlerSpecError, parse_handler
from .errors import CliError
from .output import progress


def add_parser(local_commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    invoke = local_commands.add_parser(
        "invoke",
        parents=parents,
        help="run a handler on a saved event in a separate process, as Lambda would, and "
        "print its response",
    )
    invoke.add_argument("--event", required=True, help="JSON event file ('-' for stdin)")
    invoke.add_argument("--handler-dir", help="your handler's directory (default: the sample)")
    invoke.add_argument(
        "--handler", help="module.function (or module:function) inside --handler-dir"
    )
    invoke.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds before the invocation times out (default: 60)",
    )
    invoke.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable for the function (repeatable)",
    )
    invoke.add_argument(
        "--function-name",
        default="local-function",
        help="the name the context reports (default: local-function)",
    )
    invoke.set_defaults(run=run)


def _read_json_file(path: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise CliError(f"{what}: cannot read {path}: {error.strerror}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{what}: {path} is not JSON ({error})") from error


def _bundled_code_dir() -> Path:
    try:
        return bundled_code_dir()
    except FileNotFoundError as error:
        raise CliError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    """Run a handler on a saved event in a worker process, as Lambda would; print the response."""
    from ..local.code_copy import copy_handler_code
    from ..local.invoker import FunctionConfig, FunctionRuntime
    from ..operations.targets import check_local_handler
    from ..streams.arns import placeholder_arn
    from ..streams.partial_batch import first_failed_index
    from ..streams.settings import PROCESSOR_MEMORY_MB

    event = _read_json_file(args.event, "--event")
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        # An item or a record saved by mistake would run as an empty batch and
        # look like a success.
        raise CliError(
            f"--event: {args.event} is not a stream event (an object with a Records list); "
            "cdk-streams generate-event writes one"
        )
    if (args.handler_dir is None) != (args.handler is None):
        raise CliError("--handler-dir and --handler go together (or leave both out)")
    environment = {}
    for pair in args.env:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--env takes KEY=VALUE, got {pair!r}")
        environment[key] = value
    with tempfile.TemporaryDirectory(prefix="cdk-streams-invoke-") as tmp:
        if args.handler_dir is None:
            # Said, not assumed: run from an app's directory, the user may expect
            # their own function.
            progress(f"no --handler-dir and --handler: running the bundled sample {SAMPLE_HANDLER}")
            code_dir, handler = _bundled_code_dir(), SAMPLE_HANDLER
        else:
            try:
                handler = parse_handler(args.handler).lambda_form
            except HandlerSpecError as error:
                raise CliError(f"--handler: {error}") from None
            source = Path(args.handler_dir).resolve()
            if not source.is_dir():
                raise CliError(f"--handler-dir {args.handler_dir} is not a directory")
            # The construct's check, so a typo is one line here as at synth, not a
            # Runtime.HandlerNotFound from the worker; and before any pip run.
            check_local_handler(source, args.handler)
            # As the local cloud runs a deployed function: the directory, the runtime,
            # and requirements.txt installed for this Python (cached).
            code_dir = copy_handler_code(source, Path(tmp) / "code", progress=progress)
        config = FunctionConfig(
            name=args.function_name,
            arn=placeholder_arn("lambda", f"function:{args.function_name}"),
            handler=handler,
            code_dir=code_dir,
            timeout=args.timeout,
            memory_size=PROCESSOR_MEMORY_MB,
            environment=environment,
        )
        with FunctionRuntime(config, log_sink=lambda name, line: progress(line)) as runtime:
            result = runtime.invoke(event)
    if not result.ok:
        print(json.dumps(result.error, indent=2))
        return 1
    print(json.dumps(result.payload, indent=2))
    # Lambda's rule: any reported failure fails the batch, even one that names no
    # record of the event, so whether it failed needs no sequence numbers.
    return 0 if first_failed_index([], result.payload) is None else 1
