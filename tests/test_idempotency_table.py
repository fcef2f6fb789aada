"""StreamProcessor(idempotency=True) and metric_processing_lag(): synthesized resources."""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import aws_cdk as cdk
import pytest
import runtime_path  # noqa: F401
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from cdk_streams import StreamHandlerCode, StreamProcessor
from cdk_streams.validation import StreamsValidationError
from tests.stacks import new_stack, only, orders_table


@pytest.fixture(scope="module")
def built() -> tuple[cdk.Stack, StreamProcessor, Template]:
    stack = new_stack()
    table = orders_table(stack)
    processor = StreamProcessor(
        stack,
        "Processor",
        table=table.table,
        code=StreamHandlerCode.sample(),
        idempotency=True,
        environment={"STREAM_METRICS_NAMESPACE": "Shop/Orders"},
    )
    return stack, processor, Template.from_stack(stack)


def claims_table(template: Template) -> dict:
    tables = template.find_resources(
        "AWS::DynamoDB::Table",
        {"Properties": {"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}},
    )
    assert len(tables) == 1, sorted(tables)
    return next(iter(tables.values()))


def test_the_claims_table_has_ttl_on_demand_billing_and_pitr(built):
    _, processor, template = built
    properties = claims_table(template)["Properties"]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert claims_table(template)["DeletionPolicy"] == "Delete"
    assert processor.idempotency_table is not None
    assert processor.idempotency_table.node.path == "Test/Processor/IdempotencyTable"


def test_the_function_gets_the_table_name(built):
    stack, processor, template = built
    assert processor.idempotency_table is not None
    table_id = stack.get_logical_id(processor.idempotency_table.table.node.default_child)
    variables = only(template, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert variables["IDEMPOTENCY_TABLE_NAME"] == {"Ref": table_id}


def test_the_function_may_only_put_get_and_delete_items_of_that_table(built):
    stack, processor, template = built
    assert processor.idempotency_table is not None
    table_id = stack.get_logical_id(processor.idempotency_table.table.node.default_child)
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if table_id in str(statement["Resource"])
    ]
    assert statements == [
        {
            "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
            "Effect": "Allow",
            "Resource": [{"Fn::GetAtt": [table_id, "Arn"]}],
        }
    ]


def test_the_claims_table_is_nag_clean(built):
    stack, processor, _ = built
    assert processor.idempotency_table is not None
    prefix = processor.idempotency_table.node.path
    found = [
        (violation.rule_name, resource.construct_path)
        for pack in (AwsSolutionsChecks, ServerlessChecks)
        for violation in pack().validate_scope(stack).violations
        for resource in violation.violating_resources
        if resource.construct_path.startswith(prefix)
    ]
    assert found == []


@pytest.fixture(scope="module")
def plain() -> tuple[cdk.Stack, StreamProcessor]:
    stack = new_stack()
    return stack, StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )


def test_no_table_by_default(plain):
    stack, processor = plain
    assert processor.idempotency_table is None
    variables = only(Template.from_stack(stack), "AWS::Lambda::Function")["Properties"].get(
        "Environment", {"Variables": {}}
    )["Variables"]
    assert "IDEMPOTENCY_TABLE_NAME" not in variables


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"idempotency": "yes"}, "Test/Processor: idempotency must be True or False, got 'yes'"),
        (
            {"idempotency": True, "function": "given"},
            "Test/Processor: idempotency must be False with function=, got True",
        ),
    ],
)
def test_bad_idempotency_prop_fails_at_synth(kwargs, message):
    stack = new_stack()
    table = orders_table(stack).table
    if kwargs.get("function") == "given":
        kwargs["function"] = lambda_.Function(
            stack,
            "Mine",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(e, c):\n    pass\n"),
        )
    with pytest.raises(StreamsValidationError, match=message):
        StreamProcessor(stack, "Processor", table=table, **kwargs)


def test_processing_lag_metric_matches_the_runtime(built):
    stack, processor, _ = built
    metric = processor.metric_processing_lag()
    assert isinstance(metric, cloudwatch.Metric)
    assert metric.namespace == "Shop/Orders"  # from the function's environment
    assert metric.metric_name == "ProcessingLag"
    assert metric.statistic == "Maximum"
    assert metric.period.to_seconds() == 60
    assert stack.resolve(metric.dimensions["FunctionName"]) == stack.resolve(
        processor.function.function_name
    )
    # Usable in an alarm.
    alarm = metric.create_alarm(stack, "LagAlarm", threshold=60_000, evaluation_periods=1)
    assert alarm.node.path == "Test/LagAlarm"


def test_processing_lag_default_namespace_and_props(plain):
    _, processor = plain
    metric = processor.metric_processing_lag(
        period=cdk.Duration.minutes(5), statistic="Average", label="lag"
    )
    assert metric.namespace == "CdkStreams"
    assert metric.period.to_seconds() == 300
    assert metric.statistic == "Average"
    assert metric.label == "lag"  # any MetricOptions keyword, as the other metric_*()
