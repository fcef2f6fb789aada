"""The local cloud's bootstrap: the CLI's own template, created directly, or `cdk bootstrap`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cdk_streams.local import LocalCloud, LocalCloudError
from cdk_streams.local.bootstrap import (
    CLI_DEFAULT_PARAMETERS,
    TEMPLATE_PATH,
    TOOLKIT_STACK,
    bootstrap,
    cli_template,
)
from cdk_streams.local.cdk_driver import CdkDriver
from cdk_streams.local.cloud import ACCOUNT

REPO = Path(__file__).resolve().parents[1]
PROJECT_CLI = (str(REPO / "node_modules" / ".bin" / "cdk"),)

pytestmark = pytest.mark.slow


def fake_cli(root: Path, *, name: str = "aws-cdk", template: str | None = "Resources: {}") -> str:
    """A package laid out as npm installs aws-cdk, with .bin/cdk linking to bin/cdk."""
    package = root / "node_modules" / name
    (package / "bin").mkdir(parents=True)
    (package / "bin" / "cdk").write_text("#!/bin/sh\n")
    (package / "package.json").write_text(json.dumps({"name": name}))
    if template is not None:
        (package / TEMPLATE_PATH).parent.mkdir(parents=True)
        (package / TEMPLATE_PATH).write_text(template)
    link = root / "node_modules" / ".bin" / "cdk"
    link.parent.mkdir()
    link.symlink_to(package / "bin" / "cdk")
    return str(link)


def toolkit_stack(cloud: LocalCloud) -> dict[str, Any]:
    cfn = cloud.client("cloudformation")
    stack = cfn.describe_stacks(StackName=TOOLKIT_STACK)["Stacks"][0]
    resources = cfn.list_stack_resources(StackName=TOOLKIT_STACK)["StackResourceSummaries"]
    return {
        "status": stack["StackStatus"],
        "parameters": {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]},
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]},
        "resources": sorted((r["LogicalResourceId"], r["ResourceType"]) for r in resources),
        "version": cloud.client("ssm").get_parameter(Name="/cdk-bootstrap/hnb659fds/version")[
            "Parameter"
        ]["Value"],
    }


def test_the_stack_from_the_template_is_the_one_cdk_bootstrap_creates() -> None:
    with LocalCloud() as cloud:
        command, env = cloud._cdk_command(REPO, dict(cloud.environment()))
        assert tuple(command) == PROJECT_CLI
        driver = CdkDriver(command, env, timeout=300, progress=lambda line: None)
        assert cloud._workdir is not None
        driver.bootstrap(f"aws://{ACCOUNT}/{cloud.region}", cwd=cloud._workdir)
        by_cli = toolkit_stack(cloud)
    with LocalCloud() as cloud:

        def must_not_run() -> None:
            raise AssertionError("cdk bootstrap ran although the CLI has its template")

        how = bootstrap(cloud.client("cloudformation"), PROJECT_CLI, must_not_run)
        by_template = toolkit_stack(cloud)
    assert how == "template"
    assert by_template == by_cli
    assert by_cli["status"] == "CREATE_COMPLETE"
    assert by_cli["outputs"]["BucketName"] == f"cdk-hnb659fds-assets-{ACCOUNT}-us-east-1"
    assert by_cli["parameters"]["FileAssetsBucketKmsKeyId"] == "AWS_MANAGED_KEY"
    assert ("StagingBucket", "AWS::S3::Bucket") in by_cli["resources"]
    # Every parameter the CLI passes is in the table, and nothing else.
    assert set(by_cli["parameters"]) == set(CLI_DEFAULT_PARAMETERS)


def test_the_template_is_found_through_the_bin_link() -> None:
    template = cli_template(PROJECT_CLI)
    assert template is not None and "CdkBootstrapVersion" in template


def test_a_cli_without_the_template_has_none(tmp_path: Path) -> None:
    assert cli_template(()) is None
    assert cli_template((fake_cli(tmp_path / "a", template=None),)) is None
    assert cli_template((fake_cli(tmp_path / "b", name="cdk-wrapper"),)) is None
    (tmp_path / "c").mkdir()
    script = tmp_path / "c" / "cdk"
    script.write_text('#!/bin/sh\nexec npx cdk "$@"\n')
    assert cli_template((str(script),)) is None
    assert cli_template((fake_cli(tmp_path / "d"),)) == "Resources: {}"


class FakeCloudFormation:
    def __init__(
        self,
        *,
        fail: ClientError | None = None,
        status: str = "CREATE_COMPLETE",
        declared: Iterable[str] = CLI_DEFAULT_PARAMETERS,
    ):
        self.created: list[dict[str, Any]] = []
        self.fail = fail
        self.status = status
        self.declared = list(declared)

    def get_template_summary(self, TemplateBody: str) -> dict[str, Any]:
        return {"Parameters": [{"ParameterKey": key} for key in self.declared]}

    def create_stack(self, **request: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.created.append(request)

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackStatus": self.status, "StackStatusReason": "Bucket exists"}]}


def test_without_the_template_cdk_bootstrap_runs(tmp_path: Path) -> None:
    ran: list[str] = []
    cfn = FakeCloudFormation()
    how = bootstrap(cfn, (fake_cli(tmp_path, template=None),), lambda: ran.append("cli"))
    assert (how, ran, cfn.created) == ("cdk bootstrap", ["cli"], [])


def test_the_stack_gets_the_template_and_the_cli_parameters(tmp_path: Path) -> None:
    cfn = FakeCloudFormation()
    how = bootstrap(cfn, (fake_cli(tmp_path),), lambda: pytest.fail("cdk bootstrap ran"))
    assert how == "template"
    [request] = cfn.created
    assert request["StackName"] == "CDKToolkit"
    assert request["TemplateBody"] == "Resources: {}"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in request["Parameters"]} == (
        CLI_DEFAULT_PARAMETERS
    )


def test_an_older_template_gets_only_the_parameters_it_declares(tmp_path: Path) -> None:
    # An older CLI's template, before DenyExternalId and the permissions-boundary options.
    older = [
        key for key in CLI_DEFAULT_PARAMETERS if "Boundary" not in key and key != "DenyExternalId"
    ]
    cfn = FakeCloudFormation(declared=older)
    bootstrap(cfn, (fake_cli(tmp_path),), lambda: pytest.fail("cdk bootstrap ran"))
    [request] = cfn.created
    assert [p["ParameterKey"] for p in request["Parameters"]] == older
    assert "DenyExternalId" not in older and "Qualifier" in older


def test_a_refused_template_is_a_clear_error(tmp_path: Path) -> None:
    refused = ClientError(
        {"Error": {"Code": "ValidationError", "Message": "Template format error"}}, "CreateStack"
    )
    with pytest.raises(LocalCloudError) as error:
        bootstrap(FakeCloudFormation(fail=refused), (fake_cli(tmp_path),), lambda: None)
    assert str(error.value) == (
        "bootstrap: creating the CDKToolkit stack from the CDK CLI's template failed: "
        "An error occurred (ValidationError) when calling the CreateStack operation: "
        "Template format error"
    )


def test_a_stack_that_rolled_back_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalCloudError) as error:
        bootstrap(
            FakeCloudFormation(status="ROLLBACK_COMPLETE"), (fake_cli(tmp_path),), lambda: None
        )
    assert str(error.value) == (
        "bootstrap: the CDKToolkit stack ended ROLLBACK_COMPLETE: Bucket exists"
    )
