"""StreamPipeline builds the seed's whole picture in one call; the summary of a
synthesized template describes it."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamHandlerCode, StreamPipeline
from cdk_streams.summary import summarize_template
from tests.stacks import new_stack


@pytest.fixture(scope="module")
def pipeline():
    stack = new_stack()
    construct = StreamPipeline(
        stack,
        "Orders",
        partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
        view_type=dynamodb.StreamViewType.NEW_IMAGE,
        table_props={"time_to_live_attribute": "expiresAt"},
        starting_position=lambda_.StartingPosition.LATEST,
        max_batching_window=Duration.seconds(5),
        code=StreamHandlerCode.sample(),
    )
    return construct, Template.from_stack(stack).to_json()


def test_returns_both_parts_with_stable_ids(pipeline):
    construct, _ = pipeline
    assert construct.table is construct.stream_table.table
    assert construct.stream_table.node.path == "Test/Orders/Table"
    assert construct.processor.node.path == "Test/Orders/Processor"
    assert construct.processor.dead_letter_queue is not None


def test_table_and_processor_props_reach_their_resources(pipeline):
    _, template = pipeline
    table = only_in(template, "AWS::DynamoDB::Table")
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    mapping = only_in(template, "AWS::Lambda::EventSourceMapping")
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["EventSourceArn"]["Fn::GetAtt"][0].startswith("OrdersTable")


def test_summary_lists_table_function_and_mapping(pipeline):
    _, template = pipeline
    lines = summarize_template("Test", template)
    assert lines[0] == "Test:"
    text = "\n".join(lines)
    assert "keys orderId (hash); stream NEW_IMAGE" in text
    assert "process_order_changes.handler, 256 MB, timeout 60 s" in text
    mapping_line = next(line for line in lines if line.strip().startswith("mapping"))
    for part in (
        "from OrdersTable",
        "start LATEST",
        "batch 100",
        "window 5 s",
        "retries 10",
        "max age 3600 s",
        "bisect on",
        "partial batch on",
        "on failure -> OrdersProcessorDeadLetterQueue",
    ):
        assert part in mapping_line
    assert "tumbling window" not in mapping_line


def test_summary_names_a_kinesis_source_and_a_tumbling_window():
    from cdk_streams import StreamProcessor, StreamTable

    stack = new_stack()
    table = StreamTable(
        stack,
        "Orders",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        create_kinesis_stream=True,
    )
    StreamProcessor(
        stack,
        "Counts",
        table=table.table,
        kinesis_stream=table.kinesis_stream,
        code=StreamHandlerCode.sample(),
        tumbling_window=Duration.minutes(1),
    )
    lines = summarize_template("Test", Template.from_stack(stack).to_json())
    table_line = next(line for line in lines if line.strip().startswith("table"))
    kinesis_line = next(line for line in lines if line.strip().startswith("kinesis"))
    kinesis_id = kinesis_line.split()[-1]
    assert table_line.endswith(f"; changes to Kinesis {kinesis_id}")
    mapping_line = next(line for line in lines if line.strip().startswith("mapping"))
    assert f": from {kinesis_id}, start " in mapping_line
    assert mapping_line.endswith(", tumbling window 60 s")


def only_in(template: dict, kind: str) -> dict:
    found = [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]
    assert len(found) == 1, found
    return found[0]
