"""``cdk-streams backfill``: deliver a table's existing items to a stream consumer.

    cdk-streams backfill --table NAME
        (--function NAME | --handler-dir DIR --handler module.function)
        [--segments N] [--concurrency N] [--batch-size N] [--resume] [--checkpoint FILE]
        [--retry-attempts N] [--fail-fast] [--from-export s3://BUCKET/PREFIX]
        [--endpoint-url URL] [--region R]

A thin layer over :class:`cdk_streams.operations.backfill.Backfill`. Create the
mapping first, then backfill; the handler must be idempotent on the item's
keys. Exit status: 0 when every item succeeded, 1 when some failed, 2 on a
usage error or a failed AWS call, 130 when interrupted (resume with ``--resume``;
the CLI's error policy, in :mod:`cdk_streams.cli`).
"""

from __future__ import annotations

import argparse
from typing import Any

from .operations import add_aws_arguments, add_target_arguments, aws_clients, parse_target
from .output import out, progress


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``backfill`` command to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "backfill",
        parents=parents,
        help="scan a table and deliver every item as a stream INSERT record (marked "
        "cdkStreamsBackfill) to a function or a local handler, with checkpoints",
    )
    parser.add_argument("--table", required=True, help="the table to scan")
    add_target_arguments(parser)
    parser.add_argument(
        "--from-export",
        metavar="S3_URL",
        help="read a DynamoDB export (DynamoDB JSON) at s3://BUCKET/PREFIX instead of "
        "scanning the table: no read capacity used",
    )
    parser.add_argument(
        "--segments", type=int, help="parallel scan segments (default: one per GB, at least 1)"
    )
    parser.add_argument(
        "--concurrency", type=int, help="segments worked on at once (default: min(segments, 8))"
    )
    parser.add_argument(
        "--batch-size", type=int, default=100, help="items per invocation (default: 100)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint of a stopped run"
    )
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="the checkpoint file (default: .cdk-streams/backfill-<table>.json)",
    )
    parser.add_argument(
        "--retry-attempts",
        type=int,
        default=2,
        help="retries of a failing item before it is reported (default: 2)",
    )
    parser.add_argument(
        "--fail-fast", action="store_true", help="stop everything at the first failed item"
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..operations.backfill import Backfill, check_settings

    check_settings(
        segments=args.segments,
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        retry_attempts=args.retry_attempts,
        from_export=args.from_export,
    )
    make_target = parse_target(args)
    clients = aws_clients(args)
    backfill = Backfill(
        clients,
        args.table,
        make_target(clients),
        segments=args.segments,
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        checkpoint=args.checkpoint,
        resume=args.resume,
        retry_attempts=args.retry_attempts,
        fail_fast=args.fail_fast,
        progress=progress,
        from_export=args.from_export,
    )
    try:
        report = backfill.run()
    except KeyboardInterrupt:
        # run() let the batches in flight finish, so the checkpoint holds them; the
        # user needs to know where it is before main() reports the interruption.
        progress(
            f"backfill {args.table}: resume with --resume (checkpoint {backfill.checkpoint_path})"
        )
        raise
    for failure in report.failed:
        out(f"  failed item {failure['keys']}: {failure['error']}")
    out(str(report))
    return 0 if not report.failed and not report.stopped else 1
