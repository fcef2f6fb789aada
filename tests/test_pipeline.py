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


def only_in(template: dict, kind: str) -> dict:
    found = [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]
    assert len(found) == 1, found
    return found[0]
