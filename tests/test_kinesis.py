"""Kinesis Data Streams for DynamoDB: the table streams to Kinesis, a processor
consumes it with the same props and validation."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from cdk_streams import StreamHandlerCode, StreamProcessor, StreamsValidationError
from cdk_streams.filters import Pattern, event_name, filter_criteria, new_image
from tests.stacks import new_stack, only, orders_table


@pytest.fixture(scope="module")
def kinesis_pipeline():
    stack = new_stack()
    table = orders_table(stack, create_kinesis_stream=True)
    processor = StreamProcessor(
        stack,
        "Processor",
        table=table.table,
        kinesis_stream=table.kinesis_stream,
        filters=filter_criteria(
            Pattern(event_name("INSERT"), new_image("status").equals("PLACED")), source="kinesis"
        ),
        code=StreamHandlerCode.sample(),
    )
    return stack, table, processor, Template.from_stack(stack).to_json()


def _resources(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_new_kinesis_stream_is_on_demand_encrypted_and_kept_7_days(kinesis_pipeline):
    stack, table, _, template = kinesis_pipeline
    (stream,) = _resources(template, "AWS::Kinesis::Stream")
    props = stream["Properties"]
    assert props["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert props["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert props["RetentionPeriodHours"] == 168
    stream_id = stack.get_logical_id(table.kinesis_stream.node.default_child)
    (dynamo,) = _resources(template, "AWS::DynamoDB::Table")
    assert dynamo["Properties"]["KinesisStreamSpecification"] == {
        "StreamArn": {"Fn::GetAtt": [stream_id, "Arn"]}
    }
    # The DynamoDB stream stays on: other consumers may still use it.
    assert dynamo["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_processor_maps_the_kinesis_stream_with_the_same_safe_defaults(kinesis_pipeline):
    stack, table, processor, template = kinesis_pipeline
    (mapping,) = _resources(template, "AWS::Lambda::EventSourceMapping")
    props = mapping["Properties"]
    stream_id = stack.get_logical_id(table.kinesis_stream.node.default_child)
    assert props["EventSourceArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 10
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert json.loads(props["FilterCriteria"]["Filters"][0]["Pattern"]) == {
        "data": {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["PLACED"]}}}}
    }
    assert processor.kinesis_stream is table.kinesis_stream


def test_processor_reads_kinesis_not_the_dynamodb_stream(kinesis_pipeline):
    _, _, _, template = kinesis_pipeline
    (policy,) = [
        p
        for p in _resources(template, "AWS::IAM::Policy")
        if any(
            "kinesis:GetRecords" in s["Action"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    actions = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream"} <= actions
    assert not {"dynamodb:GetRecords", "dynamodb:GetShardIterator"} & actions


def test_kinesis_pipeline_is_nag_clean(kinesis_pipeline):
    stack, _, _, _ = kinesis_pipeline
    found = {}
    for pack in (AwsSolutionsChecks, ServerlessChecks):
        for violation in pack().validate_scope(stack).violations:
            found[violation.rule_name] = [r.construct_path for r in violation.violating_resources]
    assert found == {}


def test_existing_kinesis_stream():
    stack = new_stack()
    stream = kinesis.Stream(stack, "Changes")
    table = orders_table(stack, kinesis_stream=stream)
    assert table.kinesis_stream is stream
    only(Template.from_stack(stack), "AWS::Kinesis::Stream")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"create_kinesis_stream": "yes"},
            "create_kinesis_stream must be True or False, got 'yes'",
        ),
    ],
)
def test_table_kinesis_errors(props, message):
    with pytest.raises(StreamsValidationError) as error:
        orders_table(new_stack(), **props)
    assert str(error.value) == f"Test/Orders: {message}"


def test_both_kinesis_props_is_an_error():
    stack = new_stack()
    stream = kinesis.Stream(stack, "Changes")
    with pytest.raises(StreamsValidationError) as error:
        orders_table(stack, kinesis_stream=stream, create_kinesis_stream=True)
    assert str(error.value) == (
        "Test/Orders: kinesis_stream must be unset with create_kinesis_stream=True, got Test/Changes"
    )


def test_kinesis_processor_validates_the_same_ranges_and_kinesis_filter_fields():
    stack = new_stack()
    table = orders_table(stack, create_kinesis_stream=True)
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(
            stack,
            "P1",
            table=table.table,
            kinesis_stream=table.kinesis_stream,
            batch_size=0,
            code=StreamHandlerCode.sample(),
        )
    assert str(error.value) == "Test/P1: batch_size must be 1..10000, got 0"
    # A DynamoDB-stream pattern on a Kinesis source never matches: the change is under data.
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(
            stack,
            "P2",
            table=table.table,
            kinesis_stream=table.kinesis_stream,
            filters=filter_criteria(Pattern(event_name("INSERT"))),
            code=StreamHandlerCode.sample(),
        )
    assert str(error.value) == (
        "Test/P2: filters[0].pattern must be limited to the fields Lambda filters on "
        "(approximateArrivalTimestamp, data, kinesisSchemaVersion, partitionKey, sequenceNumber), "
        "got eventName"
    )
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(
            stack,
            "P3",
            table=table.table,
            kinesis_stream=table.kinesis_stream,
            filters=[
                lambda_.FilterCriteria.filter(
                    {"data": {"event_name": lambda_.FilterRule.is_equal("INSERT")}}
                )
            ],
            code=StreamHandlerCode.sample(),
        )
    assert "Test/P3: filters[0].pattern.data must be limited to the fields" in str(error.value)
    assert str(error.value).endswith("got event_name")


def test_filter_builder_source_must_be_known():
    from cdk_streams.filters import FilterError

    with pytest.raises(FilterError) as error:
        filter_criteria(Pattern(event_name("INSERT")), source="sqs")
    assert str(error.value) == "source must be 'dynamodb' or 'kinesis', got 'sqs'"
