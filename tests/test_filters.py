"""The filter builder compiles to Lambda FilterCriteria; synth validation refuses
patterns Lambda would accept but that could never match."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamProcessor, StreamsValidationError
from cdk_streams.filters import (
    FilterError,
    Pattern,
    event_name,
    filter_criteria,
    key,
    new_image,
    old_image,
)
from tests.stacks import new_stack, only, orders_table


def compiled(*conditions) -> dict:
    return json.loads(Pattern(*conditions).to_json())


def test_and_within_a_pattern_merges_paths():
    assert compiled(
        event_name("MODIFY"),
        new_image("status").equals("SHIPPED"),
        new_image("total").between(100, 500),
        old_image("status").is_one_of("PLACED", "PAID"),
        key("orderId").begins_with("ord-"),
    ) == {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "NewImage": {
                "status": {"S": ["SHIPPED"]},
                "total": {"N": [{"numeric": [">=", 100, "<=", 500]}]},
            },
            "OldImage": {"status": {"S": ["PLACED", "PAID"]}},
            "Keys": {"orderId": {"S": [{"prefix": "ord-"}]}},
        },
    }


@pytest.mark.parametrize(
    ("condition", "leaf"),
    [
        (new_image("n").equals(5), {"N": [{"numeric": ["=", 5]}]}),
        (new_image("n").equals(2.5), {"N": [{"numeric": ["=", 2.5]}]}),
        (new_image("n").greater_than(0), {"N": [{"numeric": [">", 0]}]}),
        (new_image("n").at_least(1), {"N": [{"numeric": [">=", 1]}]}),
        (new_image("n").less_than(10), {"N": [{"numeric": ["<", 10]}]}),
        (new_image("n").at_most(10), {"N": [{"numeric": ["<=", 10]}]}),
        (new_image("n").equals(True), {"BOOL": [True]}),
        (new_image("n").exists(), {"S": [{"exists": True}]}),
        (new_image("n").not_exists("N"), {"N": [{"exists": False}]}),
    ],
)
def test_each_condition(condition, leaf):
    assert compiled(condition) == {"dynamodb": {"NewImage": {"n": leaf}}}


def test_or_across_patterns_is_a_list_of_filters_for_the_processor():
    filters = filter_criteria(
        Pattern(event_name("INSERT")),
        Pattern(event_name("MODIFY"), new_image("status").equals("SHIPPED")),
    )
    assert filters == [
        {"pattern": '{"eventName":["INSERT"]}'},
        {
            "pattern": '{"dynamodb":{"NewImage":{"status":{"S":["SHIPPED"]}}},"eventName":["MODIFY"]}'
        },
    ]
    stack = new_stack()
    StreamProcessor(stack, "Processor", table=orders_table(stack).table, filters=filters)
    mapping = only(Template.from_stack(stack), "AWS::Lambda::EventSourceMapping")
    assert mapping["Properties"]["FilterCriteria"] == {
        "Filters": [{"Pattern": f["pattern"]} for f in filters]
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: event_name("UPSERT"),
            "event_name must be one or more of INSERT, MODIFY, REMOVE, got ['UPSERT']",
        ),
        (lambda: event_name(), "event_name must be one or more of INSERT, MODIFY, REMOVE, got []"),
        (lambda: new_image(""), "attribute name must be a non-empty string, got ''"),
        (lambda: new_image("a").is_one_of(), "a: is_one_of needs at least one value, got none"),
        (
            lambda: new_image("a").is_one_of("x", 1),
            "a: is_one_of values must share one type, got ['N', 'S']",
        ),
        (
            lambda: new_image("a").equals(None),
            "filter values must be str, a number or bool, got None",
        ),
        (lambda: new_image("a").begins_with(""), "a: begins_with needs a non-empty string, got ''"),
        (lambda: new_image("a").between(5, 1), "a: between needs low <= high, got 5 and 1"),
        (lambda: new_image("a").greater_than("5"), "numeric conditions need a number, got '5'"),
        (
            lambda: new_image("a").greater_than(float("inf")),
            "numeric conditions need a finite number, got inf",
        ),
        (
            lambda: new_image("a").exists("STRING"),
            "type must be one of S, N, B, BOOL, NULL, SS, NS, BS, L, M, got 'STRING'",
        ),
        (lambda: Pattern(), "Pattern needs at least one condition, got none"),
        (lambda: Pattern("eventName"), "Pattern takes conditions, got 'eventName'"),
        (
            lambda: Pattern(new_image("a").greater_than(1), new_image("a").less_than(5)),
            "two conditions on dynamodb.NewImage.a.N in one Pattern would be ORed by Lambda; "
            "use is_one_of() or between(), or put them in separate Patterns",
        ),
        (lambda: filter_criteria(), "filter_criteria takes 1..5 patterns, got 0"),
        (
            lambda: filter_criteria(*[Pattern(event_name("INSERT"))] * 6),
            "filter_criteria takes 1..5 patterns, got 6",
        ),
        (
            lambda: filter_criteria(
                Pattern(new_image("a").is_one_of(*[f"v{i:05}" for i in range(600)]))
            ),
            "pattern 0 must be at most 4096 characters, got 5439",
        ),
    ],
)
def test_builder_errors(build, message):
    with pytest.raises(FilterError) as error:
        build()
    assert str(error.value) == message
    assert isinstance(error.value, StreamsValidationError)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            # aws-cdk's own Python docs example writes event_name (aws-cdk #23214,
            # #33744): Lambda accepts it and then drops every record.
            lambda_.FilterCriteria.filter({"event_name": lambda_.FilterRule.is_equal("INSERT")}),
            "filters[0].pattern must be limited to the fields Lambda filters on (awsRegion, dynamodb, "
            "eventID, eventName, eventSource, eventSourceARN, eventVersion, userIdentity), got event_name",
        ),
        (
            {"pattern": '{"dynamodb":{"newImage":{"a":{"S":["x"]}}}}'},
            "filters[0].pattern.dynamodb must be limited to the fields Lambda filters on "
            "(ApproximateCreationDateTime, Keys, NewImage, OldImage, SequenceNumber, SizeBytes, "
            "StreamViewType), got newImage",
        ),
        (
            {"pattern": '{"eventName":"INSERT"}'},
            'filters[0].pattern.eventName must be a non-empty list of match rules, got "INSERT"',
        ),
        (
            {"pattern": '{"dynamodb":{"NewImage":{}}}'},
            "filters[0].pattern.dynamodb.NewImage must be a non-empty object or a list of rules, got {}",
        ),
        (
            {"pattern": '{"eventName":[]}'},
            "filters[0].pattern.eventName must be a non-empty list of match rules, got []",
        ),
    ],
)
def test_synth_refuses_fields_lambda_cannot_match(pattern, message):
    stack = new_stack()
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(stack, "Processor", table=orders_table(stack).table, filters=[pattern])
    assert str(error.value) == f"Test/Processor: {message}"


def test_cdk_filter_rules_with_the_right_field_names_pass():
    stack = new_stack()
    pattern = lambda_.FilterCriteria.filter(
        {
            "eventName": lambda_.FilterRule.is_equal("INSERT"),
            "dynamodb": {"NewImage": {"status": {"S": lambda_.FilterRule.is_equal("PLACED")}}},
        }
    )
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, filters=[pattern]
    )
    assert processor.event_source_mapping is not None
