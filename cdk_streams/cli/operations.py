"""What ``cdk-streams redrive`` and ``cdk-streams backfill`` share: the AWS and target
options. Their errors follow the CLI's one policy, in :func:`cdk_streams.cli.main`.

Each command checks all its options first, then looks for the region
(:func:`aws_clients`), then makes what needs AWS: without a region, a mistyped
option is still the error reported."""

from __future__ import annotations

import argparse
from collections.abc import Callable
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


def aws_clients(args: argparse.Namespace) -> Any:
    """The clients ``--endpoint-url`` and ``--region`` name. A missing region is
    reported here, so call it after every check that needs no AWS: a mistyped
    option is the error to report, not the region."""
    from ..operations.aws import AwsClients

    return AwsClients(endpoint_url=args.endpoint_url, region=args.region)


def parse_target(args: argparse.Namespace, *, optional: bool = False) -> Callable[[Any], Any]:
    """Check the target options without AWS; return what makes the target from the
    clients (:func:`aws_clients`): a deployed function, a local handler, or None
    when ``optional`` and none is named.

    A local handler is loaded here, as it needs no AWS: a wrong directory or
    name is found before the region.
    """
    from ..operations.errors import OperationError
    from ..operations.targets import FunctionTarget, LocalHandlerTarget

    local = args.handler_dir is not None or args.handler is not None
    if args.function and local:
        raise OperationError("give either --function or --handler-dir with --handler, not both")
    if args.function:
        function = args.function
        return lambda clients: FunctionTarget(clients("lambda"), function)
    if local:
        if args.handler_dir is None or args.handler is None:
            raise OperationError("--handler-dir and --handler go together")
        target = LocalHandlerTarget(args.handler_dir, args.handler)
        return lambda clients: target
    if optional:
        return lambda clients: None
    raise OperationError(
        "say where the records go: --function NAME, or --handler-dir DIR --handler module.function"
    )
