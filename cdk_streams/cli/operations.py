"""What ``cdk-streams redrive`` and ``cdk-streams backfill`` share: the AWS and target
options. Their errors follow the CLI's one policy, in :func:`cdk_streams.cli.main`."""

from __future__ import annotations

import argparse
from typing import Any


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
