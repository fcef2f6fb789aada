"""``cdk-streams redrive``: replay the batches a stream mapping skipped.

    cdk-streams redrive --from QUEUE_URL|s3://BUCKET/PREFIX
        (--function NAME | --handler-dir DIR --handler module.function)
        [--dry-run] [--archive DIR] [--batch-size N] [--endpoint-url URL] [--region R]

A thin layer over :class:`cdk_streams.operations.redrive.Redrive`. The listing
and each range's outcome are progress (stderr, once each, as they happen); the
archived files and the report are the result (stdout). Exit status:
0 when everything was replayed (or nothing was left), 1 when records still fail
or are lost, 2 on a usage error or a failed AWS call, 130 when interrupted (the
CLI's error policy, in :mod:`cdk_streams.cli`).
"""

from __future__ import annotations

import argparse
from typing import Any

from .operations import add_aws_arguments, add_target_arguments, aws_clients, parse_target
from .output import out, progress


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``redrive`` command to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "redrive",
        parents=parents,
        help="replay the batches a stream mapping skipped, from its on-failure queue or S3 "
        "objects, to the fixed function or a local handler",
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SOURCE",
        help="the on-failure SQS queue URL (or ARN; an SNS-fed queue too) or "
        "s3://BUCKET/PREFIX of an S3 on-failure destination",
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the batches, records and the oldest record's age; deliver and remove nothing",
    )
    parser.add_argument(
        "--archive",
        metavar="DIR",
        help="write the records still in the stream of a partly expired range to DIR",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="records per invocation (default: the mapping's, else 100)",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..operations.on_failure_source import parse_source
    from ..operations.redrive import Redrive
    from ..operations.targets import check_batch_size

    if args.batch_size is not None:
        check_batch_size(args.batch_size)
    open_source = parse_source(args.source)
    make_target = parse_target(args, optional=args.dry_run)
    clients = aws_clients(args)
    target = make_target(clients)
    report = Redrive(
        open_source(clients),
        target,
        clients,
        batch_size=args.batch_size,
        dry_run=args.dry_run,
        archive_dir=args.archive,
        progress=progress,
    ).run()
    for path in report.archived:
        out(f"  archived {path}")
    out(str(report))
    return 0 if report.clean or args.dry_run else 1
