"""The CLI's error policy, written once: which errors are the user's to fix
(one line, exit status 2) and how a long message becomes that one line."""

from __future__ import annotations

import sys


class CliError(Exception):
    """A usage problem: printed as ``cdk-streams: <message>``, exit status 2."""


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


def one_line(error: BaseException) -> str:
    """The message as one line: its first line, plus the last line of any detail
    (for a failed CDK CLI step, usually the app's own error)."""
    # Some messages already name the command; it is said once.
    text = str(error).removeprefix("cdk-streams: ")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0].rstrip(':')}: {lines[-1]} (--debug shows the whole output)"
