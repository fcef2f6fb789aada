"""The ``cdk-streams`` command line.

cdk-streams summary [--app-dir .]
cdk-streams local up [--app-dir .] [-c key=value ...] [--watch] [--port N]
cdk-streams local demo [--app-dir .] [--verbose]
cdk-streams local invoke --event FILE [--handler-dir DIR --handler module.function]
cdk-streams generate-event insert|modify|remove --item JSON [--old JSON] [--keys orderId]
cdk-streams consume --table NAME --handler module.function [--on-failure stop|skip|URL] ...
cdk-streams redrive --from QUEUE_URL|s3://BUCKET/PREFIX (--function NAME | --handler ...)
cdk-streams backfill --table NAME (--function NAME | --handler ...) [--resume]
cdk-streams plan --writes-per-second N [--app-dir . | --batch-size N ...] [--json] [--plot FILE]

Each command lives in its own module and returns its exit status or raises;
this one holds the error policy, once. Every error is one line on stderr that
names the command, ``cdk-streams <command>: <message>`` (``cdk-streams local up:
...``), with no traceback unless ``--debug`` is given (then the traceback comes
first):

- an expected error (see :func:`errors.expected_message`: a usage problem, a
  missing extra, and for a command with ``--endpoint-url``, a failed AWS call,
  ``AWS call failed: <error>; check --endpoint-url, --region and your
  credentials``) says what to do; exit status 2;
- an unexpected one (a bug) is ``unexpected <type>: <message> (run again with
  --debug for the traceback)``; exit status 1;
- Ctrl-C and SIGTERM stop any command cleanly (its ``finally`` blocks and
  context managers run, so no temporary directory or process is left):
  ``interrupted; stopped cleanly``, exit status 130.

A command line that cannot be parsed (an unknown flag, a missing argument) is an
expected error too, pointing to the command's ``--help``
(:class:`errors.UsageErrorParser`).
``consume`` keeps its own exit statuses once it reaches AWS (0 on Ctrl-C, 1, 3
and 4; see :func:`consume.run`) and prints their lines itself, in the same form;
its usage errors follow this policy.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from . import (
    backfill,
    consume,
    generate_event,
    local_demo,
    local_invoke,
    local_up,
    plan,
    redrive,
    summary,
)
from .errors import CliError, UsageErrorParser, error_line, expected_message, one_line

__all__ = ["CliError", "build_parser", "main"]

#: Exit status of a command stopped by Ctrl-C or SIGTERM before it finished (128 + SIGINT).
INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    # --debug is accepted before or after the command name.
    debug = UsageErrorParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an error",
    )
    parser = UsageErrorParser(
        prog="cdk-streams",
        description="DynamoDB Streams change data capture with the AWS CDK.",
        epilog="`cdk-streams local up` runs your app locally: no AWS account, no Docker.",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents: list[argparse.ArgumentParser] = [debug]
    summary.add_parser(commands, parents)
    local = commands.add_parser(
        "local",
        parents=[debug],
        help="run your app locally: an embedded AWS emulator, no AWS, no Docker",
    )
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    local_up.add_parser(local_commands, parents)
    local_demo.add_parser(local_commands, parents)
    local_invoke.add_parser(local_commands, parents)
    generate_event.add_parser(commands, parents)
    consume.add_parser(commands, parents)
    redrive.add_parser(commands, parents)
    backfill.add_parser(commands, parents)
    plan.add_parser(commands, parents)
    return parser


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, so both stop the same way.

    SIGINT too: a process started in the background by a non-interactive shell
    (``make test &``, a CI runner) inherits SIGINT ignored, and Python then never
    raises KeyboardInterrupt, so ``kill -INT`` would not stop ``local up``.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, interrupt),
            signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        }
    except ValueError:  # not the main thread: the caller handles signals
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def command_words(args: argparse.Namespace) -> str:
    """The command as typed, e.g. ``redrive`` or ``local up``."""
    words = [args.command]
    if args.command == "local":
        words.append(args.local_command)
    return " ".join(words)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    command = command_words(args)
    try:
        with _signals_as_interrupt():
            status: int = args.run(args)
            return status
    except KeyboardInterrupt:
        error_line(command, "interrupted; stopped cleanly")
        return INTERRUPTED
    except Exception as error:
        if debug:
            traceback.print_exc()
        # Every command with --endpoint-url reaches AWS through it (add_aws_arguments,
        # consume): there a failed AWS call is the user's set-up, not a bug.
        message = expected_message(error, talks_to_aws=hasattr(args, "endpoint_url"))
        if message is not None:
            error_line(command, message)
            return 2
        error_line(
            command,
            f"unexpected {type(error).__name__}: {one_line(error)}"
            + ("" if debug else " (run again with --debug for the traceback)"),
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
