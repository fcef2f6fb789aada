"""cdk-nag 3 (AwsSolutions and Serverless packs): clean by default, scoped acknowledgements.

What a user must acknowledge after turning a default off is spelled out in
``TURNED_OFF`` below; that table is part of docs/production.md.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("CDK_VALIDATION", "false")

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from aws_cdk.aws_lambda_event_sources import DynamoEventSource, SqsDlq
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from app import OrdersStack
from cdk_streams import StreamHandlerCode, StreamPipeline, StreamProcessor, acknowledgements
from tests.stacks import new_stack, orders_table, user_function

PACKS = (AwsSolutionsChecks, ServerlessChecks)
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


def findings(scope: cdk.Stack) -> dict[str, list[str]]:
    """Unacknowledged rule id -> construct paths, over both packs."""
    found: dict[str, list[str]] = {}
    for pack in PACKS:
        for violation in pack().validate_scope(scope).violations:
            paths = [r.construct_path for r in violation.violating_resources]
            found.setdefault(violation.rule_name, []).extend(paths)
    return found


def bare_stack(app: cdk.App) -> cdk.Stack:
    """What a user writes by hand with aws-cdk-lib alone."""
    stack = cdk.Stack(app, "Bare")
    table = dynamodb.Table(
        stack, "Table", partition_key=KEY, stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
    )
    function = user_function(stack, "Function", runtime=lambda_.Runtime.PYTHON_3_12)
    queue = sqs.Queue(stack, "OnFailure")
    function.add_event_source(
        DynamoEventSource(
            table, starting_position=lambda_.StartingPosition.LATEST, on_failure=SqsDlq(queue)
        )
    )
    return stack


@pytest.fixture(scope="module")
def app() -> cdk.App:
    return cdk.App()


@pytest.fixture(scope="module")
def orders(app: cdk.App) -> OrdersStack:
    return OrdersStack(app, "Orders")


def test_a_bare_hand_written_stack_has_12_distinct_findings(app):
    found = findings(bare_stack(app))
    assert sorted(found) == [
        "AwsSolutions-DDB3",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-L1",
        "AwsSolutions-SQS3",
        "AwsSolutions-SQS4",
        "Serverless-LambdaDLQ",
        "Serverless-LambdaDefaultMemorySize",
        "Serverless-LambdaDefaultTimeout",
        "Serverless-LambdaLatestVersion",
        "Serverless-LambdaTracing",
        "Serverless-SQSRedrivePolicy",
    ]


def test_the_sample_app_has_no_unacknowledged_findings(orders):
    assert findings(orders) == {}


def _table_only(stack):
    orders_table(stack)


def _processor(stack):
    StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )


def _pipeline(stack):
    StreamPipeline(stack, "Pipeline", partition_key=KEY, code=StreamHandlerCode.sample())


def _processor_with_dashboard(stack):
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        dashboard_enabled=True,
        code=StreamHandlerCode.sample(),
    )


def _processor_on_customer_managed_key(stack):
    """The log group then shares the table's key: its policy admits CloudWatch Logs."""
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack, encryption_key=key).table,
        handler_dir=Path(__file__).parent / "fixtures" / "kinesis_app" / "handler",
        handler="changes.handler",
    )


@pytest.mark.parametrize(
    "build",
    [
        _table_only,
        _processor,
        _pipeline,
        _processor_with_dashboard,
        _processor_on_customer_managed_key,
    ],
    ids=[
        "StreamTable",
        "StreamProcessor",
        "StreamPipeline",
        "StreamProcessor+dashboard",
        "StreamProcessor+customer-managed key",
    ],
)
def test_every_construct_with_default_props_is_clean(build):
    stack = new_stack()
    build(stack)
    assert findings(stack) == {}


def test_a_real_synth_with_both_packs_registered_passes():
    """The way users run cdk-nag 3: unacknowledged findings would raise ValidationFailed."""
    app = cdk.App()
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    OrdersStack(app, "Orders")
    StreamPipeline(
        new_stack(app, "Pipeline"), "Pipeline", partition_key=KEY, code=StreamHandlerCode.sample()
    )
    assembly = app.synth()
    assert {stack.stack_name for stack in assembly.stacks} == {"Orders", "Pipeline"}


def test_an_unacknowledged_finding_fails_a_real_synth():
    """The other half of the test above: the plugin is really checking."""
    app = cdk.App()
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = new_stack(app)
    orders_table(stack, point_in_time_recovery=False)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def _user_function(stack):
    return user_function(
        stack,
        "UserFunction",
        memory_size=256,
        timeout=cdk.Duration.seconds(30),
        tracing=lambda_.Tracing.ACTIVE,
    )


#: Turning a default off hands its finding back to the user, who must
#: acknowledge it themselves (or turn the default back on).
TURNED_OFF = {
    "point_in_time_recovery=False": (
        lambda stack: orders_table(stack, point_in_time_recovery=False),
        {"AwsSolutions-DDB3": ["Test/Orders/Table/Resource"]},
    ),
    "dead_letter_queue_enabled=False": (
        lambda stack: StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            dead_letter_queue_enabled=False,
            code=StreamHandlerCode.sample(),
        ),
        {
            "Serverless-LambdaDLQ": ["Test/Processor/Function/Resource"],
            "Serverless-LambdaEventSourceMappingDestination": [
                "Test/Processor/EventSourceMapping/Resource"
            ],
        },
    ),
    "tracing=DISABLED": (
        lambda stack: StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            tracing=lambda_.Tracing.DISABLED,
            code=StreamHandlerCode.sample(),
        ),
        {"Serverless-LambdaTracing": ["Test/Processor/Function/Resource"]},
    ),
    # A pinned runtime that is not the newest is a choice cdk-nag flags.
    "runtime=PYTHON_3_12": (
        lambda stack: StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            code=StreamHandlerCode.sample(),
            runtime=lambda_.Runtime.PYTHON_3_12,
        ),
        {
            "AwsSolutions-L1": ["Test/Processor/Function/Resource"],
            "Serverless-LambdaLatestVersion": ["Test/Processor/Function/Resource"],
        },
    ),
    # In a VPC the role needs the network-interface permissions of AWS's
    # managed VPC policy, which AwsSolutions-IAM4 reports.
    "vpc=<a VPC>": (
        lambda stack: StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            code=StreamHandlerCode.sample(),
            vpc=ec2.Vpc.from_vpc_attributes(
                stack,
                "Vpc",
                vpc_id="vpc-0123456789abcdef0",
                availability_zones=["us-east-1a"],
                isolated_subnet_ids=["subnet-0123456789abcdef0"],
            ),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ),
        {
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaVPCAccessExecutionRole]": ["Test/Processor/ServiceRole/Resource"],
        },
    ),
    # The other function settings change nothing cdk-nag looks at.
    "architecture, concurrency, name, description": (
        lambda stack: StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            code=StreamHandlerCode.sample(),
            architecture=lambda_.Architecture.X86_64,
            reserved_concurrent_executions=2,
            function_name="orders-cdc",
            description="Orders change data capture",
        ),
        {},
    ),
    # The user's function and role are theirs to judge: the processor does not
    # acknowledge anything on them, not even the ListStreams grant it adds.
    "function=<your own Function>": (
        lambda stack: StreamProcessor(
            stack, "Processor", table=orders_table(stack).table, function=_user_function(stack)
        ),
        {
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]": ["Test/UserFunction/ServiceRole/Resource"],
            "AwsSolutions-IAM5[Resource::*]": [
                "Test/UserFunction/ServiceRole/DefaultPolicy/Resource"
            ],
            "Serverless-LambdaDLQ": ["Test/UserFunction/Resource"],
        },
    ),
}


@pytest.mark.parametrize("case", sorted(TURNED_OFF))
def test_turning_a_default_off_brings_back_exactly_its_finding(case):
    build, expected = TURNED_OFF[case]
    stack = new_stack()
    build(stack)
    assert findings(stack) == expected


def _acknowledged(construct) -> dict[str, str]:
    ids: dict[str, str] = {}
    for entry in construct.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            ids.update(entry.data)
    return ids


@pytest.fixture(scope="module")
def processor() -> StreamProcessor:
    stack = new_stack()
    return StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )


def test_acknowledgements_sit_on_the_exact_resources_with_their_reasons(processor):
    assert processor.role is not None and processor.dead_letter_queue is not None
    policy = processor.role.node.find_child("DefaultPolicy").node.default_child
    where = {
        construct.node.path: _acknowledged(construct)
        for construct in processor.node.find_all()
        if _acknowledged(construct)
    }
    assert where == {
        policy.node.path: {
            "Annotation::AwsSolutions-IAM5[Resource::*]": acknowledgements.ROLE_POLICY_WILDCARD.reason
        },
        processor.function.node.default_child.node.path: {
            "Annotation::Serverless-LambdaDLQ": (
                acknowledgements.STREAM_FUNCTION_HAS_ON_FAILURE_DESTINATION.reason
            )
        },
        processor.dead_letter_queue.node.default_child.node.path: {
            f"Annotation::{item.rule_id}": item.reason
            for item in acknowledgements.ON_FAILURE_QUEUE_HAS_NO_DLQ
        },
    }
    # Nothing on the stack or the construct as a whole: a user's own
    # resources beside ours are still checked.
    assert _acknowledged(processor) == {}
    assert _acknowledged(cdk.Stack.of(processor)) == {}


def test_every_reason_is_specific():
    reasons = [
        acknowledgements.ROLE_POLICY_WILDCARD,
        acknowledgements.STREAM_FUNCTION_HAS_ON_FAILURE_DESTINATION,
    ]
    reasons += list(acknowledgements.ON_FAILURE_QUEUE_HAS_NO_DLQ)
    for item in reasons:
        assert len(item.reason) > 80, item
        assert "-" in item.rule_id


# -- secure defaults in the synthesized template ------------------------------


@pytest.fixture(scope="module")
def orders_template(orders) -> dict:
    return Template.from_stack(orders).to_json()


def _statements(template: dict):
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        document = props.get("PolicyDocument") or props.get("AssumeRolePolicyDocument")
        if document:
            yield from document["Statement"]
        for policy in props.get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_actions_are_allowed_anywhere(orders_template):
    allowed = [
        action
        for statement in _statements(orders_template)
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    ]
    assert allowed
    assert [a for a in allowed if "*" in a] == []
    # The one wildcard is the queue policy's TLS-only deny: wider is safer there.
    denied = [
        action
        for statement in _statements(orders_template)
        if statement["Effect"] == "Deny"
        for action in _as_list(statement["Action"])
    ]
    assert denied == ["sqs:*"]


def test_only_list_streams_and_xray_are_granted_on_star(orders_template):
    """The premise of the one IAM5 acknowledgement (acknowledgements.ROLE_POLICY_WILDCARD)."""
    on_star = {
        action
        for statement in _statements(orders_template)
        if statement.get("Resource") == "*" and statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }
    assert on_star == {"dynamodb:ListStreams", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_the_role_has_no_managed_policy_and_writes_only_its_own_logs(orders_template):
    roles = [r for r in orders_template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 1 and "ManagedPolicyArns" not in roles[0]["Properties"]
    logs = [s for s in _statements(orders_template) if "logs:PutLogEvents" in _as_list(s["Action"])]
    assert len(logs) == 1
    assert logs[0]["Resource"]["Fn::GetAtt"][1] == "Arn"
    assert logs[0]["Resource"]["Fn::GetAtt"][0].startswith("ProcessOrderChangesLogGroup")


def test_nothing_is_public(orders_template):
    types = {r["Type"] for r in orders_template["Resources"].values()}
    assert not types & {"AWS::Lambda::Url", "AWS::Lambda::Permission"}
    for statement in _statements(orders_template):
        if statement.get("Principal") in ("*", {"AWS": "*"}):
            # Only the TLS-only deny on the on-failure queue names everyone.
            assert statement["Effect"] == "Deny"
            assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_data_at_rest_is_encrypted_and_kept(orders_template):
    resources = orders_template["Resources"].values()
    (table,) = [r for r in resources if r["Type"] == "AWS::DynamoDB::Table"]
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    assert table["DeletionPolicy"] == "Retain"
    (queue,) = [r for r in resources if r["Type"] == "AWS::SQS::Queue"]
    assert queue["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"
    (log_group,) = [r for r in resources if r["Type"] == "AWS::Logs::LogGroup"]
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_the_role_is_assumed_by_lambda_only(orders, orders_template):
    assert isinstance(orders.processor.role, iam.Role)
    Template.from_json(orders_template).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                    }
                ],
                "Version": "2012-10-17",
            }
        },
    )
