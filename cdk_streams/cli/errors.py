"""The CLI's error policy, written once: which errors are the user's to fix
(one line, exit status 2), what that line says, and how a long message becomes
one line. :func:`cdk_streams.cli.main` prints it."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

from ..colour_codes import strip_colour


class CliError(Exception):
    """A usage problem: printed as ``cdk-streams <command>: <message>``, exit status 2."""


#: Errors that mean "fix your input or set-up", by the module that defines them.
#: Looked up only in modules already imported: an error cannot come from a
#: module that was never loaded, and the CLI must not import moto or jsii to ask.
_EXPECTED = (
    ("cdk_streams.cli.errors", "CliError"),
    ("cdk_streams.handler_spec", "HandlerSpecError"),
    ("cdk_streams.validation", "StreamsValidationError"),
    ("cdk_streams.local.deployment", "LocalCloudError"),
    ("cdk_streams.local.assembly", "AssemblyError"),
    ("cdk_streams.local.moto_patch", "MotoPatchError"),
    ("cdk_streams.local.invoker", "InvokerError"),
    ("cdk_streams.local.runner", "RunnerError"),
    ("cdk_streams.consumer", "ConsumerError"),
    ("cdk_streams.consumer", "LeaseTableError"),
    ("cdk_streams.consumer", "HandlerSpecError"),
    ("cdk_streams.cdk_cli", "CdkCliError"),
    ("cdk_streams.optional", "MissingExtraError"),
    ("cdk_streams.operations.errors", "OperationError"),
)

#: Modules of the ``local`` extra: missing means "install the extra".
_LOCAL_EXTRA = ("moto", "werkzeug", "flask", "boto3", "botocore")


def is_expected(error: BaseException) -> bool:
    """Whether ``error`` is one the user fixes (rather than a bug)."""
    for module_name, name in _EXPECTED:
        module = sys.modules.get(module_name)
        kind = getattr(module, name, None) if module is not None else None
        if isinstance(kind, type) and isinstance(error, kind):
            return True
    return False


def aws_failure(error: BaseException) -> str | None:
    """The one line for a failed AWS call (botocore's ``BotoCoreError`` or
    ``ClientError``), or None if ``error`` is not one."""
    # Looked up, not imported: the CLI must not load boto3 to start, and a
    # botocore error cannot come from a process that never loaded botocore.
    exceptions = sys.modules.get("botocore.exceptions")
    kinds = tuple(
        kind
        for kind in (
            getattr(exceptions, "BotoCoreError", None),
            getattr(exceptions, "ClientError", None),
        )
        if isinstance(kind, type)
    )
    if not kinds or not isinstance(error, kinds):
        return None
    return (
        f"AWS call failed: {one_line(error)}; check --endpoint-url, --region and your credentials"
    )


def expected_message(error: BaseException, *, talks_to_aws: bool) -> str | None:
    """The one line for an error the user fixes, or None for a bug.

    ``talks_to_aws``: the command reaches AWS through ``--endpoint-url`` and
    ``--region``, so a failed AWS call means those or the credentials are wrong.
    Elsewhere (the local cloud's own calls) it is a bug.
    """
    if is_expected(error):
        return one_line(error)
    if talks_to_aws:
        aws = aws_failure(error)
        if aws is not None:
            return aws
    return missing_extra(error)


def missing_extra(error: BaseException) -> str | None:
    """The one line for a missing optional dependency, or None if it is not one."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        top = error.name.split(".")[0]
        if top in _LOCAL_EXTRA:
            return (
                f"this command needs the local extra (missing module {top}): "
                "pip install 'cdk-streams[local]'"
            )
    return None


def error_line(command: str, message: str) -> None:
    """Print an error's one line, naming the command: ``cdk-streams <command>: <message>``
    (``cdk-streams: <message>`` when no command was recognised)."""
    program = f"cdk-streams {command}".rstrip()
    print(f"{program}: {message}", file=sys.stderr, flush=True)


class UsageErrorParser(argparse.ArgumentParser):
    """argparse under the error policy: a command line it cannot parse is one error
    line naming the command, pointing to its ``--help``; exit status 2. ``--help``
    itself still prints the whole help.

    Subcommands' parsers are of the class of the parser they are added to, so
    giving it to the top-level parser covers every command.
    """

    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        parsed, extra = super().parse_known_args(args, namespace)
        # Otherwise a subcommand's parser hands what it does not know up to the
        # top-level one, whose error would name no command.
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra

    def error(self, message: str) -> NoReturn:
        error_line(
            self.prog.removeprefix("cdk-streams").strip(),
            f"{message} (see {self.prog} --help)",
        )
        self.exit(2)


#: The last line of a Python traceback: ``package.module.SomeError: what went wrong``.
_EXCEPTION = re.compile(r"^(?:[A-Za-z_]\w*\.)*(?P<name>[A-Za-z_]\w*(?:Error|Exception)): \S")
#: What the CDK CLI adds after a failed app's own output; it says only that the app failed.
_CLI_EPILOGUE = re.compile(r": Subprocess exited with error \d+$")


def one_line(error: BaseException) -> str:
    """The message as one line: its first line, plus the most telling line of any
    detail (for a failed CDK CLI step, the app's own error; see :func:`_telling_line`)."""
    # Some messages already start with the program's name; the error line says it once.
    text = strip_colour(str(error)).removeprefix("cdk-streams: ")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0].rstrip(':')}: {_telling_line(lines[1:])} (--debug shows the whole output)"


def _telling_line(lines: list[str]) -> str:
    """The line of a failed step's output that says why: the last Python exception
    (without its module path), else the last line that is not the CDK CLI's
    ``Subprocess exited with error N``, else the last line."""
    for line in reversed(lines):
        found = _EXCEPTION.match(line)
        if found:
            return line[found.start("name") :]
    return next((line for line in reversed(lines) if not _CLI_EPILOGUE.search(line)), lines[-1])
