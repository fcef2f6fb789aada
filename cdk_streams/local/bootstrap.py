"""Bootstrapping the local cloud: the CDK CLI's own bootstrap stack, created directly.

``cdk bootstrap aws://ACCOUNT/REGION`` deploys one CloudFormation template, which
ships inside the CLI's npm package (``lib/api/bootstrap/bootstrap-template.yaml``),
with the parameters in :data:`CLI_DEFAULT_PARAMETERS`. Creating that stack from
that file through the local cloud's CloudFormation gives the same ``CDKToolkit``
stack (same parameters, outputs and resources; a test compares the two) for
about 0.06 CPU seconds, where running the CLI for it costs about 1. Every local
deploy needs it, and it runs beside the synth, so on a small machine it takes
CPU time from the synth.

The template is read from the CLI that would run, so it always matches that
CLI's version. A CLI whose package does not hold the file there (a wrapper
script on ``PATH``, a future layout) is bootstrapped with ``cdk bootstrap``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .deployment import LocalCloudError

#: The stack ``cdk bootstrap`` creates (``--toolkit-stack-name``'s default).
TOOLKIT_STACK = "CDKToolkit"

#: The template's place inside the ``aws-cdk`` package.
TEMPLATE_PATH = Path("lib", "api", "bootstrap", "bootstrap-template.yaml")

#: What ``cdk bootstrap`` passes when given no options (read back from the stack
#: the pinned CLI creates; ``tests/test_local_bootstrap.py`` checks they agree),
#: of which each template gets those it declares.
#: Unlike the template's own defaults, the CLI asks for an AWS-managed key on
#: the assets bucket rather than a new customer-managed one.
CLI_DEFAULT_PARAMETERS: dict[str, str] = {
    "TrustedAccounts": "",
    "TrustedAccountsForLookup": "",
    "CloudFormationExecutionPolicies": "",
    "FileAssetsBucketName": "",
    "FileAssetsBucketKmsKeyId": "AWS_MANAGED_KEY",
    "ContainerAssetsRepositoryName": "",
    "Qualifier": "hnb659fds",
    "PublicAccessBlockConfiguration": "true",
    "InputPermissionsBoundary": "",
    "UseExamplePermissionsBoundary": "false",
    "ApplyPermissionsBoundaryToAllRoles": "false",
    "BootstrapVariant": "AWS CDK: Default Resources",
    "DenyExternalId": "true",
}


def cli_template(command: Sequence[str]) -> str | None:
    """The bootstrap template of the CLI that ``command`` runs, or None.

    :param command: the CLI command, e.g. ``("/app/node_modules/.bin/cdk",)``;
        its last element is the ``cdk`` script (``.bin/cdk`` links to the
        package's ``bin/cdk``).
    """
    if not command:
        return None
    package = Path(command[-1]).resolve().parent.parent
    try:
        manifest = json.loads((package / "package.json").read_text())
        if manifest.get("name") != "aws-cdk":
            return None
        return (package / TEMPLATE_PATH).read_text()
    except (OSError, ValueError):
        return None


def bootstrap(
    cloudformation: Any, command: Sequence[str], run_cli_bootstrap: Callable[[], None]
) -> str:
    """Create the ``CDKToolkit`` stack, from the CLI's template when it has one.

    :param cloudformation: a boto3 CloudFormation client of the local cloud.
    :param command: the CDK CLI command (see :func:`cli_template`).
    :param run_cli_bootstrap: runs ``cdk bootstrap``; called when the CLI's
        package holds no template.
    :returns: ``"template"`` or ``"cdk bootstrap"``: how it was done.
    :raises LocalCloudError: the stack could not be created.
    """
    template = cli_template(command)
    if template is None:
        run_cli_bootstrap()
        return "cdk bootstrap"
    try:
        # An older CLI's template declares fewer parameters, and that CLI passes
        # only those: so does this.
        summary = cloudformation.get_template_summary(TemplateBody=template)
        declared = {parameter["ParameterKey"] for parameter in summary.get("Parameters", ())}
        cloudformation.create_stack(
            StackName=TOOLKIT_STACK,
            TemplateBody=template,
            Parameters=[
                {"ParameterKey": key, "ParameterValue": value}
                for key, value in CLI_DEFAULT_PARAMETERS.items()
                if key in declared
            ],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName=TOOLKIT_STACK)["Stacks"][0]
    except (BotoCoreError, ClientError) as error:
        raise LocalCloudError(
            f"bootstrap: creating the {TOOLKIT_STACK} stack from the CDK CLI's template "
            f"failed: {error}"
        ) from None
    if stack["StackStatus"] != "CREATE_COMPLETE":
        reason = stack.get("StackStatusReason") or "no reason given"
        raise LocalCloudError(
            f"bootstrap: the {TOOLKIT_STACK} stack ended {stack['StackStatus']}: {reason}"
        )
    return "template"
