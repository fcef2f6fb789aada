"""``cdk-streams consume``: run a Lambda handler as a custom-application consumer of a
table's stream, with leases and checkpoints in DynamoDB."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .errors import CliError


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    consume = commands.add_parser(
        "consume",
        parents=parents,
        help="run a Lambda handler on a table's stream as a custom application: leases and "
        "checkpoints in a DynamoDB table, so several processes share the shards",
    )
    consume.add_argument("--table", required=True, help="the table whose stream to consume")
    consume.add_argument(
        "--handler",
        required=True,
        help="module:function taking (event, context), e.g. process_order_changes:handler "
        "(the bundled sample); looked up in the working directory, then on sys.path",
    )
    consume.add_argument(
        "--lease-table",
        help="the lease table, created when missing (default: <table>-leases); one per "
        "stream and application",
    )
    consume.add_argument("--endpoint-url", help="an AWS endpoint, e.g. a local emulator")
    consume.add_argument("--region", help="AWS region (default: boto3's configuration)")
    consume.add_argument(
        "--worker-id", help="this worker's name in the lease table (default: host:pid:random)"
    )
    consume.add_argument(
        "--starting-position",
        default="TRIM_HORIZON",
        choices=("TRIM_HORIZON", "LATEST"),
        help="where shards without a checkpoint start (default: TRIM_HORIZON)",
    )
    consume.add_argument(
        "--batch-size", type=int, default=100, help="records per batch, 1..1000 (default: 100)"
    )
    consume.add_argument(
        "--max-retries",
        type=int,
        default=3,
        help="retries of a failing batch before stopping with exit status 1; -1 retries "
        "forever (default: 3)",
    )
    consume.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run a Lambda handler as a custom-application consumer of a table's stream."""
    import logging

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from ..consumer import (
        Consumer,
        ConsumerError,
        DeliveryError,
        HandlerSpecError,
        LeaseTableError,
        ensure_lease_table,
        load_handler,
    )

    # A console script's sys.path starts at its own directory, not the working
    # directory; a handler module next to the user is what they mean.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        handler = load_handler(args.handler)
    except HandlerSpecError as error:
        raise CliError(f"--handler: {error}") from error
    if not 1 <= args.batch_size <= 1000:
        raise CliError(f"--batch-size must be 1..1000, got {args.batch_size}")
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("botocore", "urllib3"):  # "Found credentials ..." is not the user's business
        logging.getLogger(noisy).setLevel(logging.WARNING)
    session = boto3.session.Session(region_name=args.region)
    if args.endpoint_url and session.get_credentials() is None:
        # An emulator accepts any credentials; real AWS never sees these (endpoint given).
        session = boto3.session.Session(
            region_name=args.region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
    if session.region_name is None:
        raise CliError("no region: pass --region or set AWS_REGION")
    dynamodb = session.client("dynamodb", endpoint_url=args.endpoint_url)
    streams = session.client("dynamodbstreams", endpoint_url=args.endpoint_url)
    lease_table = args.lease_table or f"{args.table}-leases"
    try:
        if ensure_lease_table(dynamodb, lease_table):
            _progress(f"created lease table {lease_table}")
        consumer = Consumer(
            args.table,
            lease_table=lease_table,
            handler=handler,
            worker_id=args.worker_id,
            starting_position=args.starting_position,
            batch_size=args.batch_size,
            max_retries=args.max_retries,
            dynamodb=dynamodb,
            dynamodbstreams=streams,
        )
    except (ConsumerError, LeaseTableError) as error:
        raise CliError(str(error)) from error
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"cannot reach DynamoDB: {error}") from error
    _progress(
        f"consuming {consumer.stream_arn} as worker {consumer.worker_id} "
        f"(lease table {lease_table}); Ctrl-C or SIGTERM stops after the current batch"
    )
    try:
        stats = consumer.run()
    except DeliveryError as error:
        _progress(f"cdk-streams: stopped: {error}")
        _progress(f"consumer: {consumer.stats}")
        return 1
    _progress(f"consumer stopped, leases released: {stats}")
    return 0
