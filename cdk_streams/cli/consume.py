"""``cdk-streams consume``: run a Lambda handler as a custom-application consumer of a
table's stream, with leases and checkpoints in DynamoDB."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from .errors import CliError, error_line
from .output import progress

#: ``--lease-duration`` bounds. Renewals come every third of the lease, so below
#: 3 s one slow DynamoDB call (its retries take seconds) loses a lease; above
#: 300 s, the shards of a crashed worker sit unread for over 5 minutes.
MIN_LEASE_SECONDS = 3.0
MAX_LEASE_SECONDS = 300.0


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    consume = commands.add_parser(
        "consume",
        parents=parents,
        help="run a Lambda handler on a table's stream as a custom application: leases and "
        "checkpoints in a DynamoDB table, so several processes share the shards",
        description="Exit statuses: 0 stopped on request; 1 a batch failed for good; "
        "2 usage error; 3 AWS unreachable for --give-up-after seconds; 4 unexpected error; "
        "130 a second Ctrl-C or SIGTERM. See docs/consumer.md.",
    )
    consume.add_argument("--table", required=True, help="the table whose stream to consume")
    consume.add_argument(
        "--handler",
        required=True,
        help="module.function taking (event, context), as in Lambda (module:function works "
        "too), e.g. process_order_changes.handler (the bundled sample)",
    )
    consume.add_argument(
        "--handler-dir",
        help="directory holding the handler's module (default: the working directory, "
        "then sys.path)",
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
        help="retries of a failing batch before --on-failure applies; -1 retries forever "
        "(default: 3)",
    )
    consume.add_argument(
        "--on-failure",
        default="stop",
        metavar="stop|skip|QUEUE_URL",
        help="a record still failing after the retries: stop (exit status 1, checkpoint "
        "before it; the default), skip it (logged with its keys and sequence number), or "
        "send it to this SQS queue; skip and a queue go on with the next record",
    )
    consume.add_argument(
        "--callback-timeout",
        type=float,
        help="seconds one handler call may take; past it the consumer stops with exit "
        "status 1 (default: no limit)",
    )
    consume.add_argument(
        "--lease-duration",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds a shard's lease lasts without renewal, "
        f"{MIN_LEASE_SECONDS:g}..{MAX_LEASE_SECONDS:g}: after a crash, other workers take "
        "the shards over once it runs out; renewed every third of it (default: 10)",
    )
    consume.add_argument(
        "--give-up-after",
        type=float,
        default=60.0,
        help="seconds AWS may stay unreachable (throttling, 5xx, refused connections) "
        "before the consumer exits with status 3 (default: 60)",
    )
    consume.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run a Lambda handler as a custom-application consumer of a table's stream.

    Exit statuses, one meaning each: 0 stopped on request (Ctrl-C, SIGTERM);
    1 a batch failed for good (after its retries, with ``--on-failure stop``,
    or a callback past ``--callback-timeout``); 2 usage error (bad option,
    handler, table, stream or lease table); 3 AWS could not be reached for
    ``--give-up-after`` seconds (at start or while running); 4 an unexpected
    error (an AWS call refused while running, e.g. access denied or a deleted
    table; a bug); 130 a second Ctrl-C or SIGTERM ended the process at once.
    """
    import json as json_module
    import logging

    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from ..boto_sessions import command_session
    from ..consumer import (
        AwsRetry,
        AwsUnreachableError,
        CallbackTimeoutError,
        Consumer,
        ConsumerError,
        DeliveryError,
        DeliveryFailure,
        HandlerSpecError,
        LeaseTableError,
        ensure_lease_table,
        load_handler,
        raise_on_failure,
        stream_arn_for_table,
    )

    log = logging.getLogger("cdk_streams.consumer")
    handler_dir: Path | None = None
    if args.handler_dir is not None:
        handler_dir = Path(args.handler_dir).resolve()
        if not handler_dir.is_dir():
            raise CliError(f"--handler-dir: {args.handler_dir} is not a directory")
        sys.path.insert(0, str(handler_dir))
    elif os.getcwd() not in sys.path:
        # A console script's sys.path starts at its own directory, not the working
        # directory; a handler module next to the user is what they mean.
        sys.path.insert(0, os.getcwd())
    try:
        handler = load_handler(args.handler, handler_dir=handler_dir)
    except HandlerSpecError as error:
        raise CliError(f"--handler: {error}") from error
    from ..streams.dynamodb_reader import MAX_LIMIT

    if not 1 <= args.batch_size <= MAX_LIMIT:
        raise CliError(f"--batch-size must be 1..{MAX_LIMIT}, got {args.batch_size}")
    if not MIN_LEASE_SECONDS <= args.lease_duration <= MAX_LEASE_SECONDS:
        raise CliError(
            f"--lease-duration must be {MIN_LEASE_SECONDS:g}..{MAX_LEASE_SECONDS:g} seconds, "
            f"got {args.lease_duration:g}"
        )
    if args.give_up_after < 0:
        raise CliError(f"--give-up-after must be 0 or more seconds, got {args.give_up_after}")
    if args.callback_timeout is not None and args.callback_timeout <= 0:
        raise CliError(f"--callback-timeout must be positive seconds, got {args.callback_timeout}")
    target = args.on_failure
    if target not in ("stop", "skip") and not target.startswith(("https://", "http://")):
        raise CliError(
            f"--on-failure must be stop, skip or an SQS queue URL (https://sqs...), got {target!r}"
        )
    debug = bool(getattr(args, "debug", False))
    logging.basicConfig(
        level=logging.DEBUG if debug else os.environ.get("LOG_LEVEL", "INFO").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("botocore", "urllib3", "boto3"):  # "Found credentials ..." is not the user's
        logging.getLogger(noisy).setLevel(logging.WARNING)
    session = command_session(endpoint_url=args.endpoint_url, region=args.region)
    if session.region_name is None:
        raise CliError("no region: pass --region or set AWS_REGION")
    # botocore gives up on a refused connection within a second; the consumer's
    # own retry decides how long an outage may last.
    config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard"})
    dynamodb = session.client("dynamodb", endpoint_url=args.endpoint_url, config=config)
    streams = session.client("dynamodbstreams", endpoint_url=args.endpoint_url, config=config)
    retry = AwsRetry(give_up_after=args.give_up_after)

    def describe(failure: DeliveryFailure) -> list[str]:
        lines = []
        for record in failure.records:
            change = record.get("dynamodb", {})
            keys = json_module.dumps(change.get("Keys", {}), sort_keys=True)
            lines.append(f"keys {keys} sequence number {change.get('SequenceNumber')}")
        return lines

    on_failure: Any = raise_on_failure
    if target == "skip":

        def on_failure(failure: DeliveryFailure) -> None:
            for line in describe(failure):
                log.warning("skipped record of shard %s: %s", failure.shard_id, line)

    elif target != "stop":
        sqs = session.client("sqs", endpoint_url=args.endpoint_url, config=config)

        def on_failure(failure: DeliveryFailure) -> None:
            for record, line in zip(failure.records, describe(failure), strict=True):
                body = {
                    "shardId": failure.shard_id,
                    "attempts": failure.attempts,
                    "error": None if failure.error is None else repr(failure.error),
                    "record": record,
                }
                retry.call(
                    "SendMessage",
                    sqs.send_message,
                    QueueUrl=target,
                    MessageBody=json_module.dumps(body, default=str),
                )
                log.warning("sent record of shard %s to %s: %s", failure.shard_id, target, line)

    lease_table = args.lease_table or f"{args.table}-leases"
    consumer: Consumer | None = None
    try:
        try:
            # The table and its stream first: a typo must not leave a lease table behind.
            stream_arn = retry.call("DescribeTable", stream_arn_for_table, dynamodb, args.table)
            if retry.call("CreateTable", ensure_lease_table, dynamodb, lease_table):
                progress(f"created lease table {lease_table}")
            consumer = Consumer(
                args.table,
                stream_arn=stream_arn,
                lease_table=lease_table,
                handler=handler,
                worker_id=args.worker_id,
                starting_position=args.starting_position,
                batch_size=args.batch_size,
                max_retries=args.max_retries,
                on_failure=on_failure,
                failure_scope="batch" if target == "stop" else "record",
                callback_timeout=args.callback_timeout,
                give_up_after=args.give_up_after,
                lease_duration=args.lease_duration,
                dynamodb=dynamodb,
                dynamodbstreams=streams,
            )
        except (ConsumerError, LeaseTableError) as error:
            raise CliError(str(error)) from error
        except (ClientError, BotoCoreError) as error:
            # Refused at start (credentials, permissions): the set-up needs fixing.
            # (Transient errors were retried, and end as AwsUnreachableError.)
            raise CliError(f"AWS refused the start: {error}") from error
        except KeyboardInterrupt:
            error_line("consume", "stopped before the consumer started")
            return 0
        progress(
            f"consuming {consumer.stream_arn} as worker {consumer.worker_id} "
            f"(lease table {lease_table}); Ctrl-C or SIGTERM stops after the current batch, "
            "a second one at once"
        )
        stats = consumer.run()
    except (DeliveryError, CallbackTimeoutError) as error:
        error_line("consume", f"stopped: {error}")
        if consumer is not None:
            progress(f"consumer: {consumer.stats}")
        return 1
    # These statuses are consume's own (a supervisor restarts on 3, maybe on 4), so
    # it prints these lines itself rather than leave them to main(), where they
    # would be 2 or 1; --debug adds the traceback without changing the status.
    except AwsUnreachableError as error:
        if debug:
            traceback.print_exc()
        error_line("consume", f"cannot reach AWS: {error}")
        return 3
    except CliError:
        raise
    except Exception as error:
        if debug:
            traceback.print_exc()
        error_line(
            "consume",
            f"stopped by an unexpected error: {type(error).__name__}: {error}"
            + ("" if debug else " (--debug shows the traceback)"),
        )
        return 4
    progress(f"consumer stopped, leases released: {stats}")
    return 0
