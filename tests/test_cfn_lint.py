"""cfn-lint 1.x finds no errors in any template the constructs synthesize.

Three templates, linted in three regions with experimental rules on: the
sample app, every construct with default props, and a stack of prop variants.
The warnings we keep are listed in ``KEPT_WARNINGS`` with the reason; the test
fails on any other warning, and on a kept one that no longer occurs (so the
list cannot go stale).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("CDK_VALIDATION", "false")

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from aws_cdk.aws_cloudwatch_actions import SnsAction
from aws_cdk.aws_lambda_event_sources import SnsDlq, SqsDlq

from app import OrdersStack
from cdk_streams import (
    AlarmThresholds,
    StreamDashboard,
    StreamHandlerCode,
    StreamPipeline,
    StreamProcessor,
    StreamTable,
)
from tests.stacks import new_stack, user_function

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)

#: rule id -> why it stays. Each names something aws-cdk-lib writes, not us.
KEPT_WARNINGS = {
    "W3005": (
        "aws-cdk-lib's lambda.Function always adds DependsOn on its role (and on the "
        "role's DefaultPolicy, which the GetAtt does not imply). The role half is "
        "redundant but harmless; removing it would take an escape hatch on every "
        "function for no change in deploy order."
    ),
}


def _defaults(stack: cdk.Stack) -> None:
    table = StreamTable(stack, "Table", partition_key=KEY)
    StreamProcessor(stack, "Processor", table=table.table, code=StreamHandlerCode.sample())
    StreamPipeline(stack, "Pipeline", partition_key=KEY, code=StreamHandlerCode.sample())


def _variants(stack: cdk.Stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    keyed = StreamTable(
        stack,
        "Keyed",
        partition_key=KEY,
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.NUMBER),
        view_type=dynamodb.StreamViewType.KEYS_ONLY,
        encryption_key=key,
        billing_mode=dynamodb.BillingMode.PROVISIONED,
        read_capacity=5,
        write_capacity=5,
        time_to_live_attribute="expiresAt",
    )
    throwaway = StreamTable(
        stack,
        "Throwaway",
        partition_key=KEY,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        point_in_time_recovery=False,
    )
    topic = sns.Topic(stack, "Alerts", enforce_ssl=True)
    with_topic = StreamProcessor(
        stack,
        "WithTopic",
        table=keyed.table,
        on_failure=SnsDlq(topic),
        alarm_topic=topic,
        alarm_actions=[SnsAction(sns.Topic(stack, "Pager", enforce_ssl=True))],
        alarm_thresholds=AlarmThresholds(iterator_age=cdk.Duration.minutes(5), errors=3),
        max_record_age=None,
        retry_attempts=-1,
        parallelization_factor=10,
        tumbling_window=cdk.Duration.seconds(60),
        filters=[
            lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.is_equal("INSERT")})
        ],
        code=StreamHandlerCode.sample(),
    )
    StreamProcessor(
        stack,
        "NoQueueNoAlarms",
        table=throwaway.table,
        dead_letter_queue_enabled=False,
        alarms_enabled=False,
        tracing=lambda_.Tracing.DISABLED,
        memory_size=10_240,
        timeout=cdk.Duration.seconds(900),
        starting_position=lambda_.StartingPosition.LATEST,
        code=StreamHandlerCode.sample(),
    )
    function = user_function(stack, "UserFunction")
    StreamProcessor(
        stack,
        "OwnFunction",
        table=throwaway.table,
        function=function,
        on_failure=SqsDlq(sqs.Queue(stack, "OwnQueue", enforce_ssl=True)),
        dashboard_enabled=True,
        batch_size=10_000,
        max_batching_window=cdk.Duration.seconds(300),
    )
    StreamDashboard(stack, "Dashboard", processor=with_topic, dashboard_name="orders-cdc")
    # Imported: a new Vpc would bring CDK's placeholder AZs (cfn-lint W3010).
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        isolated_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    )
    StreamProcessor(
        stack,
        "Settings",
        table=keyed.table,
        code=StreamHandlerCode.sample(),
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=lambda_.Architecture.X86_64,
        layers=[
            lambda_.LayerVersion.from_layer_version_arn(
                stack, "Layer", "arn:aws:lambda:us-east-1:123456789012:layer:tools:3"
            )
        ],
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        reserved_concurrent_executions=4,
        function_name="orders-settings",
        description="every function setting",
        on_failure=sqs.Queue(stack, "PlainQueue", enforce_ssl=True),
        event_count_metrics=False,
    )


def _lint(template: dict) -> list:
    # Imported here: cfn-lint costs 0.4 s to import, in every pytest worker that
    # collects this module, and only the one that runs it needs it.
    from cfnlint.api import ManualArgs, lint

    return lint(
        json.dumps(template),
        regions=REGIONS,
        config=ManualArgs(include_experimental=True),
    )


@pytest.fixture(scope="module")
def matches() -> dict[str, list]:
    app = cdk.App()
    stacks = {"sample app": OrdersStack(app, "Orders")}
    for name, build in (("defaults", _defaults), ("variants", _variants)):
        stacks[name] = new_stack(app, name.capitalize())
        build(stacks[name])
    return {name: _lint(Template.from_stack(stack).to_json()) for name, stack in stacks.items()}


@pytest.mark.parametrize("name", ["sample app", "defaults", "variants"])
def test_no_errors(matches, name):
    errors = [f"{m.rule.id} {m.message} at {m.path}" for m in matches[name] if m.rule.id[0] == "E"]
    assert errors == []


@pytest.mark.parametrize("name", ["sample app", "defaults", "variants"])
def test_only_the_kept_warnings(matches, name):
    warnings = {m.rule.id for m in matches[name] if m.rule.id[0] == "W"}
    assert warnings == set(KEPT_WARNINGS), [
        f"{m.rule.id} {m.message}" for m in matches[name] if m.rule.id not in KEPT_WARNINGS
    ]


def test_the_kept_warning_is_only_the_role_dependency(matches):
    # One per Lambda function (deduplicated across the regions): the sample app has
    # one, the defaults a processor and a pipeline, the variants four processors.
    assert {name: len(found) for name, found in matches.items()} == {
        "sample app": 1,
        "defaults": 2,
        "variants": 4,
    }
    for found in matches.values():
        for match in found:
            assert match.rule.id == "W3005"
            assert "ServiceRole" in match.message and "DependsOn" in match.path
