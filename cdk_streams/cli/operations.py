"""What ``cdk-streams redrive`` and ``cdk-streams backfill`` share: the AWS and target
options, and the error policy (an expected error is one line and exit status 2; a
traceback only with ``--debug``; Ctrl-C and SIGTERM stop cleanly)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

#: Exit status of an expected error (a usage problem, a missing resource).
USAGE_ERROR = 2
#: Exit status after Ctrl-C or SIGTERM.
INTERRUPTED = 130


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url",
        help="an AWS endpoint, e.g. the local cloud's (default: AWS_ENDPOINT_URL, else AWS)",
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or boto3's config)")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", metavar="NAME", help="deliver to this deployed function")
    parser.add_argument(
        "--handler-dir", metavar="DIR", help="or to a local handler in this directory ..."
    )
    parser.add_argument(
        "--handler", metavar="SPEC", help="... named module.function or module:function"
    )


def make_target(args: argparse.Namespace, clients: Any, *, optional: bool = False) -> Any:
    """The target the options name: a deployed function or a local handler."""
    from ..operations.errors import OperationError
    from ..operations.targets import FunctionTarget, LocalHandlerTarget

    local = args.handler_dir is not None or args.handler is not None
    if args.function and local:
        raise OperationError("give either --function or --handler-dir with --handler, not both")
    if args.function:
        return FunctionTarget(clients("lambda"), args.function)
    if local:
        if args.handler_dir is None or args.handler is None:
            raise OperationError("--handler-dir and --handler go together")
        return LocalHandlerTarget(args.handler_dir, args.handler)
    if optional:
        return None
    raise OperationError(
        "say where the records go: --function NAME, or --handler-dir DIR --handler module.function"
    )


def _print(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def guarded(command: str, body: Callable[[], int], args: argparse.Namespace) -> int:
    """Run a command's body under the error policy."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..operations.errors import OperationError

    try:
        # main() turns SIGTERM into KeyboardInterrupt, as Ctrl-C.
        return body()
    except KeyboardInterrupt:
        _print(f"cdk-streams {command}: stopped")
        return INTERRUPTED
    except OperationError as error:
        if getattr(args, "debug", False):
            raise
        _print(f"cdk-streams {command}: {error}")
        return USAGE_ERROR
    except (BotoCoreError, ClientError) as error:
        if getattr(args, "debug", False):
            raise
        _print(
            f"cdk-streams {command}: AWS call failed: {error}; check --endpoint-url, --region "
            "and your credentials (--debug shows the traceback)"
        )
        return USAGE_ERROR
