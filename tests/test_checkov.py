"""checkov (a second infrastructure scanner): 0 failed checks on every template, by default.

Every template is synthesized once, written to one directory, and scanned by
ONE offline checkov run (its start-up costs seconds). checkov's pins clash with
ours, so it runs from the virtualenv ``make setup`` builds (``.venv-checkov``;
set ``CHECKOV=/path/to/checkov`` to use another).

A skip must carry its specific reason from :mod:`cdk_streams.acknowledgements`;
turning a hardening option on must remove its skip and make the check pass.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

os.environ.setdefault("CDK_VALIDATION", "false")

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from aws_cdk.aws_lambda_event_sources import DynamoEventSource, SqsDlq

from app import OrdersStack
from cdk_streams import StreamPipeline, StreamProcessor, StreamTable, acknowledgements
from tests.stacks import new_stack, user_function

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
#: Handler code of our own: the sample app scans the bundled sample, and the
#: code does not change what the scanners see.
CODE = {"handler_dir": ROOT / "tests" / "fixtures" / "kinesis_app" / "handler",
        "handler": "changes.handler"}  # fmt: skip

CKV = {
    reason.rule_id: reason
    for reason in vars(acknowledgements).values()
    if isinstance(reason, acknowledgements.Reason) and reason.scanner == "checkov"
}


def _table(stack: cdk.Stack) -> None:
    StreamTable(stack, "Table", partition_key=KEY)


def _processor(stack: cdk.Stack) -> None:
    table = StreamTable(stack, "Table", partition_key=KEY)
    StreamProcessor(stack, "Processor", table=table.table, **CODE)


def _pipeline(stack: cdk.Stack) -> None:
    StreamPipeline(stack, "Pipeline", partition_key=KEY, **CODE)


def _kinesis(stack: cdk.Stack) -> None:
    table = StreamTable(stack, "Table", partition_key=KEY, create_kinesis_stream=True)
    StreamProcessor(
        stack, "Processor", table=table.table, kinesis_stream=table.kinesis_stream, **CODE
    )


def _dashboard(stack: cdk.Stack) -> None:
    table = StreamTable(stack, "Table", partition_key=KEY)
    StreamProcessor(stack, "Processor", table=table.table, dashboard_enabled=True, **CODE)


def _customer_key(stack: cdk.Stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    table = StreamTable(stack, "Table", partition_key=KEY, encryption_key=key)
    StreamProcessor(stack, "Processor", table=table.table, **CODE)


def _vpc_and_reserved_concurrency(stack: cdk.Stack) -> None:
    """A stream-consumer function with both hardening options on, acknowledged
    the way the processor acknowledges its own (imported network: the function
    is what is scanned here, not a VPC)."""
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a"],
        private_subnet_ids=["subnet-0123456789abcdef0"],
    )
    function = user_function(
        stack,
        "Function",
        tracing=lambda_.Tracing.ACTIVE,
        vpc=vpc,
        security_groups=[ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-0123456789")],
        reserved_concurrent_executions=2,
    )
    acknowledgements.acknowledge_function(function, has_on_failure=True)


def _bare(stack: cdk.Stack) -> None:
    """What a user writes by hand with aws-cdk-lib alone: proves the scan bites."""
    table = dynamodb.Table(
        stack, "Table", partition_key=KEY, stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
    )
    function = user_function(stack, "Function")
    function.add_event_source(
        DynamoEventSource(
            table,
            starting_position=lambda_.StartingPosition.LATEST,
            on_failure=SqsDlq(sqs.Queue(stack, "OnFailure")),
        )
    )


#: template name -> what builds it (each in a stack of its own)
BUILDS = {
    "bare": _bare,
    "table": _table,
    "processor": _processor,
    "pipeline": _pipeline,
    "kinesis": _kinesis,
    "dashboard": _dashboard,
    "customer-key": _customer_key,
    "vpc-and-reserved-concurrency": _vpc_and_reserved_concurrency,
}
DEFAULTS = ["sample", "table", "processor", "pipeline", "kinesis", "dashboard"]


@pytest.fixture(scope="module")
def templates() -> dict[str, dict]:
    app = cdk.App()
    stacks: dict[str, cdk.Stack] = {"sample": OrdersStack(app, "Orders")}
    for name, build in BUILDS.items():
        stacks[name] = new_stack(app, name.title().replace("-", ""))
        build(stacks[name])
    return {name: Template.from_stack(stack).to_json() for name, stack in stacks.items()}


def _checkov(directory: Path) -> list[dict]:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov not found at {CHECKOV}: run `make setup` (it builds .venv-checkov)")
    # Offline: no policy download, no platform mapping, no update check.
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    run = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), "--framework", "cloudformation",
         "--skip-download", "--output", "json", "--soft-fail"],
        capture_output=True, text=True, env=env, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    return report if isinstance(report, list) else [report]


@pytest.fixture(scope="module")
def scan(templates, tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
    """template name -> {"failed"|"passed"|"skipped": checkov's check records}."""
    directory = tmp_path_factory.mktemp("templates")
    for name, template in templates.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template))
    results: dict[str, dict[str, list[dict]]] = {
        name: {"failed": [], "passed": [], "skipped": []} for name in templates
    }
    for report in _checkov(directory):
        assert report["check_type"] == "cloudformation"
        assert report["summary"]["parsing_errors"] == 0
        for outcome in ("failed", "passed", "skipped"):
            for check in report["results"][f"{outcome}_checks"]:
                name = Path(check["file_path"]).name.removesuffix(".template.json")
                results[name][outcome].append(check)
    return results


def _ids(checks: list[dict]) -> set[tuple[str, str]]:
    """(check id, resource type) pairs."""
    return {(c["check_id"], c["resource"].split(".")[0]) for c in checks}


@pytest.mark.parametrize("name", [*DEFAULTS, "customer-key", "vpc-and-reserved-concurrency"])
def test_no_failed_checks(scan, name):
    failed = [f"{c['check_id']} {c['resource']}" for c in scan[name]["failed"]]
    assert failed == []
    assert scan[name]["passed"], "checkov scanned nothing"


def test_a_bare_hand_written_stack_fails_six_checks(scan):
    assert _ids(scan["bare"]["failed"]) == {
        ("CKV_AWS_28", "AWS::DynamoDB::Table"),
        ("CKV_AWS_119", "AWS::DynamoDB::Table"),
        ("CKV_AWS_116", "AWS::Lambda::Function"),
        ("CKV_AWS_117", "AWS::Lambda::Function"),
        ("CKV_AWS_115", "AWS::Lambda::Function"),
        ("CKV_AWS_27", "AWS::SQS::Queue"),
    }
    assert scan["bare"]["skipped"] == []


@pytest.mark.parametrize("name", DEFAULTS)
def test_every_skip_carries_its_specific_reason(scan, name):
    for check in scan[name]["skipped"]:
        reason = CKV[check["check_id"]]
        assert check["check_result"]["suppress_comment"] == reason.reason
        assert len(reason.reason) > 150, reason


def test_no_two_checkov_reasons_are_alike():
    reasons = [reason.reason for reason in CKV.values()]
    assert len(CKV) == 5 and len(set(reasons)) == len(reasons)


def test_a_hardened_function_gets_no_empty_skip_list():
    stack = new_stack()
    function = user_function(stack, "Function", reserved_concurrent_executions=1)
    resource = function.node.default_child
    resource.vpc_config = lambda_.CfnFunction.VpcConfigProperty(subnet_ids=["subnet-1"])
    acknowledgements.acknowledge_function(function, has_on_failure=False)
    assert resource.get_metadata("checkov") is None


def test_the_sample_app_skips_exactly_these(scan):
    assert _ids(scan["sample"]["skipped"]) == {
        ("CKV_AWS_119", "AWS::DynamoDB::Table"),
        ("CKV_AWS_158", "AWS::Logs::LogGroup"),
        ("CKV_AWS_116", "AWS::Lambda::Function"),
        ("CKV_AWS_117", "AWS::Lambda::Function"),
        ("CKV_AWS_115", "AWS::Lambda::Function"),
    }


def test_a_table_alone_skips_only_its_key(scan):
    assert _ids(scan["table"]["skipped"]) == {("CKV_AWS_119", "AWS::DynamoDB::Table")}


@pytest.mark.parametrize("name", ["processor", "pipeline", "kinesis", "dashboard"])
def test_compositions_skip_the_same_five(scan, name):
    assert _ids(scan[name]["skipped"]) == _ids(scan["sample"]["skipped"])
    assert len(scan[name]["skipped"]) == 5


def test_the_on_failure_queue_passes_encryption_without_a_skip(scan):
    """Changed default, not a skip: the alias/aws/sqs KMS key satisfies CKV_AWS_27."""
    for name in ["sample", "processor", "pipeline", "kinesis", "dashboard"]:
        assert ("CKV_AWS_27", "AWS::SQS::Queue") in _ids(scan[name]["passed"]), name


def test_the_kinesis_stream_passes_encryption(scan):
    assert ("CKV_AWS_43", "AWS::Kinesis::Stream") in _ids(scan["kinesis"]["passed"])


def test_a_customer_managed_key_drops_the_key_skips_and_both_checks_pass(scan):
    hardened = scan["customer-key"]
    assert _ids(hardened["skipped"]) == {
        ("CKV_AWS_116", "AWS::Lambda::Function"),
        ("CKV_AWS_117", "AWS::Lambda::Function"),
        ("CKV_AWS_115", "AWS::Lambda::Function"),
    }
    assert {
        ("CKV_AWS_119", "AWS::DynamoDB::Table"),
        ("CKV_AWS_158", "AWS::Logs::LogGroup"),
    } <= _ids(hardened["passed"])


def test_a_vpc_and_reserved_concurrency_drop_their_skips_and_pass(scan):
    hardened = scan["vpc-and-reserved-concurrency"]
    assert _ids(hardened["skipped"]) == {("CKV_AWS_116", "AWS::Lambda::Function")}
    assert {
        ("CKV_AWS_117", "AWS::Lambda::Function"),
        ("CKV_AWS_115", "AWS::Lambda::Function"),
    } <= _ids(hardened["passed"])


def test_without_an_on_failure_destination_the_function_dlq_finding_is_not_skipped():
    """As with cdk-nag: dead_letter_queue_enabled=False hands CKV_AWS_116 back."""
    stack = new_stack()
    table = StreamTable(stack, "Table", partition_key=KEY)
    processor = StreamProcessor(
        stack, "Processor", table=table.table, dead_letter_queue_enabled=False, **CODE
    )
    skips = processor.function.node.default_child.get_metadata("checkov")["skip"]
    assert [skip["id"] for skip in skips] == ["CKV_AWS_117", "CKV_AWS_115"]


def test_nothing_is_skipped_on_a_function_or_queue_the_user_brings():
    stack = new_stack()
    table = StreamTable(stack, "Table", partition_key=KEY)
    function = user_function(stack, "Mine")
    queue = sqs.Queue(stack, "MyQueue")
    StreamProcessor(
        stack, "Processor", table=table.table, function=function, on_failure=SqsDlq(queue)
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    skipped = {
        logical_id: resource["Metadata"]["checkov"]
        for logical_id, resource in resources.items()
        if "checkov" in resource.get("Metadata", {})
    }
    assert list(skipped) == [stack.get_logical_id(table.table.node.default_child)]


def test_a_skip_the_user_already_added_is_kept():
    stack = new_stack()
    table = dynamodb.Table(stack, "Table", partition_key=KEY)
    resource = table.node.default_child
    mine = {"id": "CKV_AWS_28", "comment": "backups are taken by AWS Backup"}
    resource.add_metadata("checkov", {"skip": [mine]})
    acknowledgements.acknowledge_table(table)
    assert resource.get_metadata("checkov")["skip"] == [
        mine,
        {"id": "CKV_AWS_119", "comment": acknowledgements.TABLE_AWS_MANAGED_KEY.reason},
    ]


def test_a_construct_without_a_resource_is_refused_by_name():
    stack = new_stack()
    imported = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:us-east-1:123456789012:function:f"
    )
    with pytest.raises(TypeError, match=r"^Test/Imported has no CloudFormation resource"):
        acknowledgements.acknowledge_function(imported, has_on_failure=True)


def test_the_log_group_key_policy_lets_only_cloudwatch_logs_of_this_account_use_it(templates):
    resources = templates["customer-key"]["Resources"]
    (key,) = [r for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    (log_group,) = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert log_group["Properties"]["KmsKeyId"]["Fn::GetAtt"][1] == "Arn"
    # The function itself only decrypts what it reads from the stream.
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    kms_grants = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "kms:Decrypt" in s["Action"]
    ]
    assert [s["Action"] for s in kms_grants] == [["kms:Decrypt", "kms:DescribeKey"]]
    logs_statements = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    ]
    assert logs_statements == [
        {
            "Action": [
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":logs:us-east-1:123456789012:log-group:*",
                            ],
                        ]
                    }
                }
            },
            "Effect": "Allow",
            "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
            "Resource": "*",
        }
    ]


def test_an_imported_key_leaves_the_log_group_on_the_service_key():
    """Its policy cannot be changed from here, and a key that refuses
    CloudWatch Logs would fail the log group's creation."""
    stack = new_stack()
    key = kms.Key.from_key_arn(stack, "Key", "arn:aws:kms:us-east-1:123456789012:key/abc")
    table = dynamodb.Table.from_table_attributes(
        stack,
        "Table",
        table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/t",
        table_stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
        encryption_key=key,
    )
    processor = StreamProcessor(stack, "Processor", table=table, **CODE)
    assert processor.log_group is not None
    log_group = processor.log_group.node.default_child
    assert log_group.kms_key_id is None
    skips = log_group.get_metadata("checkov")["skip"]
    assert skips == [
        {"id": "CKV_AWS_158", "comment": acknowledgements.LOG_GROUP_SERVICE_ENCRYPTION.reason}
    ]
