"""The ``cdk-streams`` command line.

cdk-streams summary [--app-dir .]
cdk-streams local demo [--app-dir .]
cdk-streams local invoke --event FILE [--handler-dir DIR --handler module.function]
cdk-streams generate-event insert|modify|remove --item JSON [--old JSON] [--keys orderId]
cdk-streams consume --table NAME --handler module:function [--lease-table NAME] ...
cdk-streams plan --writes-per-second N [--app-dir . | --batch-size N ...] [--json] [--plot FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from .handler_code import RUNTIME_PACKAGE, SAMPLE_HANDLER, bundled_code_dir
from .summary import summarize_assembly


class CliError(Exception):
    """A usage problem: printed as ``cdk-streams: <message>``, exit status 2."""


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _synth_summary(args: argparse.Namespace) -> int:
    """Synthesize the app with the real CDK CLI and print what it would deploy."""
    app_dir = Path(args.app_dir).resolve()
    npx = shutil.which("npx")
    if npx is None:
        raise CliError("npx not found; run `make demo`, which installs Node")
    with tempfile.TemporaryDirectory(prefix="cdk-streams-synth-") as out:
        print(f"synthesizing {app_dir / 'app.py'} with the CDK CLI ...", flush=True)
        subprocess.run(
            [npx, "--no-install", "cdk", "synth", "--quiet", "--output", out],
            cwd=app_dir,
            check=True,
            env={**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"},
        )
        for line in summarize_assembly(out):
            print(line)
    return 0


def _local_demo(args: argparse.Namespace) -> int:
    """Deploy the sample app into the local cloud, stream a day of orders, report."""
    from .local.demo import run_demo

    app_dir = Path(args.app_dir).resolve()
    if not (app_dir / "cdk.json").is_file():
        raise CliError(f"--app-dir {app_dir} has no cdk.json")
    started = time.monotonic()
    result = run_demo(app_dir, out=lambda line: print(line, flush=True), progress=_progress)
    _progress(f"demo finished in {time.monotonic() - started:.1f} s; emulator stopped")
    return 0 if result.lost == 0 else 1


def _bundled_code_dir() -> Path:
    try:
        return bundled_code_dir()
    except FileNotFoundError as error:
        raise CliError(str(error)) from None


def _read_json_file(path: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise CliError(f"{what}: cannot read {path}: {error.strerror}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{what}: {path} is not JSON ({error})") from error


def _local_invoke(args: argparse.Namespace) -> int:
    """Run a handler on a saved event in a worker process, as Lambda would; print the response."""
    from .local.invoker import FunctionConfig, FunctionRuntime

    event = _read_json_file(args.event, "--event")
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
            code_dir, handler = _bundled_code_dir(), SAMPLE_HANDLER
        else:
            source = Path(args.handler_dir).resolve()
            if not source.is_dir():
                raise CliError(f"--handler-dir {args.handler_dir} is not a directory")
            # Assemble the code as the construct's bundler does: the directory,
            # plus the bundled runtime unless the directory vendors its own.
            code_dir = Path(tmp) / "code"
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv")
            shutil.copytree(source, code_dir, ignore=ignore)
            if not (code_dir / RUNTIME_PACKAGE).exists():
                shutil.copytree(
                    _bundled_code_dir() / RUNTIME_PACKAGE, code_dir / RUNTIME_PACKAGE, ignore=ignore
                )
            handler = args.handler
        config = FunctionConfig(
            name=args.function_name,
            arn=f"arn:aws:lambda:us-east-1:123456789012:function:{args.function_name}",
            handler=handler,
            code_dir=code_dir,
            timeout=args.timeout,
            memory_size=256,
            environment=environment,
        )
        with FunctionRuntime(
            config, log_sink=lambda name, line: print(line, file=sys.stderr, flush=True)
        ) as runtime:
            result = runtime.invoke(event)
    if result.ok:
        print(json.dumps(result.payload, indent=2))
        return 0
    print(json.dumps(result.error, indent=2))
    return 1


def _parse_item(text: str | None, what: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        item = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise CliError(f"{what}: not JSON ({error}): {text!r}") from error
    if not isinstance(item, dict):
        raise CliError(f"{what}: must be a JSON object, got {text!r}")
    return item


def _generate_event(args: argparse.Namespace) -> int:
    """Print a realistic Lambda DynamoDB stream event for one change."""
    from .testing import StreamEventFactory

    item = _parse_item(args.item, "--item")
    old = _parse_item(args.old, "--old")
    assert item is not None
    keys = tuple(k.strip() for k in args.keys.split(",") if k.strip())
    missing = [k for k in keys if k not in item]
    if missing:
        raise CliError(f"--item lacks the key attribute(s) {', '.join(missing)}: {args.item}")
    if args.ttl and args.change != "remove":
        raise CliError("--ttl only applies to remove")
    try:
        factory = StreamEventFactory(
            key_names=keys, table_name=args.table, view_type=args.view_type, region=args.region
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    if args.change == "insert":
        record = factory.insert(item)
    elif args.change == "modify":
        if old is None:
            raise CliError("modify needs --old (the item before the change)")
        record = factory.modify(old, item)
    else:
        record = factory.remove(item, ttl=args.ttl)
    print(json.dumps(factory.event(record), indent=2))
    return 0


def _consume(args: argparse.Namespace) -> int:
    """Run a Lambda handler as a custom-application consumer of a table's stream."""
    import logging

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from .consumer import (
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdk-streams",
        description="DynamoDB Streams change data capture with the AWS CDK.",
        epilog="`make demo` runs `cdk-streams local demo`: no AWS account, no Docker, no network.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summary = commands.add_parser(
        "summary", help="synthesize a CDK app and summarize its tables, functions and mappings"
    )
    summary.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")
    summary.set_defaults(run=_synth_summary)

    local = commands.add_parser(
        "local", help="run the pipeline locally: an embedded AWS emulator, no AWS, no Docker"
    )
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    demo = local_commands.add_parser(
        "demo",
        help="deploy the sample app into the local cloud with the CDK CLI and stream a day of "
        "orders through it (what `make demo` runs)",
    )
    demo.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")
    demo.set_defaults(run=_local_demo)

    invoke = local_commands.add_parser(
        "invoke",
        help="run a handler on a saved event in a separate process, as Lambda would, and "
        "print its response",
    )
    invoke.add_argument("--event", required=True, help="JSON event file ('-' for stdin)")
    invoke.add_argument("--handler-dir", help="your handler's directory (default: the sample)")
    invoke.add_argument("--handler", help="module.function inside --handler-dir")
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
    invoke.set_defaults(run=_local_invoke)

    generate = commands.add_parser(
        "generate-event", help="print a realistic Lambda DynamoDB stream event for one change"
    )
    generate.add_argument("change", choices=("insert", "modify", "remove"))
    generate.add_argument(
        "--item",
        required=True,
        help='the item as plain JSON, e.g. \'{"orderId": "o-1", "total": 12.5}\' '
        "(for remove: the deleted item)",
    )
    generate.add_argument("--old", help="modify: the item before the change, as plain JSON")
    generate.add_argument(
        "--keys", default="orderId", help="key attribute names, comma-separated (default: orderId)"
    )
    generate.add_argument(
        "--view-type",
        default="NEW_AND_OLD_IMAGES",
        choices=("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"),
        help="the stream's view type (default: NEW_AND_OLD_IMAGES)",
    )
    generate.add_argument("--ttl", action="store_true", help="remove: a TTL expiry")
    generate.add_argument("--table", default="Orders", help="table name (default: Orders)")
    generate.add_argument("--region", default="us-east-1", help="region (default: us-east-1)")
    generate.set_defaults(run=_generate_event)

    consume = commands.add_parser(
        "consume",
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
    consume.set_defaults(run=_consume)

    from . import cli_plan

    cli_plan.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as error:
        print(f"cdk-streams: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
