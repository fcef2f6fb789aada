"""The filter builder compiles to Lambda FilterCriteria; synth validation refuses
patterns Lambda would accept but that could never match."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamHandlerCode, StreamProcessor, StreamsValidationError
from cdk_streams.filters import (
    FilterError,
    Pattern,
    event_name,
    filter_criteria,
    key,
    new_image,
    old_image,
    size_bytes,
)
from cdk_streams.streams.filter_grammar import RecordFilter
from cdk_streams.testing import StreamEventFactory
from tests.stacks import new_stack, only, orders_table


def compiled(*conditions) -> dict:
    return json.loads(Pattern(*conditions).to_json())


def test_and_within_a_pattern_merges_paths():
    assert compiled(
        event_name("MODIFY"),
        new_image("status").equals("SHIPPED"),
        new_image("items").is_one_of(1, 2, 3),
        old_image("status").is_one_of("PLACED", "PAID"),
        key("orderId").begins_with("ord-"),
        size_bytes().between(100, 500),
    ) == {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "SizeBytes": [{"numeric": [">=", 100, "<=", 500]}],
            "NewImage": {
                "status": {"S": ["SHIPPED"]},
                "items": {"N": ["1", "2", "3"]},
            },
            "OldImage": {"status": {"S": ["PLACED", "PAID"]}},
            "Keys": {"orderId": {"S": [{"prefix": "ord-"}]}},
        },
    }


@pytest.mark.parametrize(
    ("condition", "leaf"),
    [
        (new_image("n").equals(5), {"N": ["5"]}),
        (new_image("n").equals(2.5), {"N": ["2.5"]}),
        (new_image("n").equals(Decimal("1.50")), {"N": ["1.5"]}),
        (new_image("n").equals(Decimal("1E+2")), {"N": ["100"]}),
        (new_image("n").equals(0.1), {"N": ["0.1"]}),
        (new_image("n").equals(Decimal("-0.0")), {"N": ["0"]}),
        (new_image("n").equals(True), {"BOOL": [True]}),
        (new_image("n").exists(), {"S": [{"exists": True}]}),
        (new_image("n").not_exists("N"), {"N": [{"exists": False}]}),
    ],
)
def test_each_condition(condition, leaf):
    assert compiled(condition) == {"dynamodb": {"NewImage": {"n": leaf}}}


@pytest.mark.parametrize(
    ("condition", "rule"),
    [
        (size_bytes().greater_than(0), [">", 0]),
        (size_bytes().at_least(1), [">=", 1]),
        (size_bytes().less_than(10), ["<", 10]),
        (size_bytes().at_most(10), ["<=", 10]),
        (size_bytes().between(1, 2.5), [">=", 1, "<=", 2.5]),
    ],
)
def test_numeric_ranges_on_json_number_fields(condition, rule):
    assert compiled(condition) == {"dynamodb": {"SizeBytes": [{"numeric": rule}]}}


@pytest.mark.parametrize("method", ["between", "greater_than", "at_least", "less_than", "at_most"])
def test_numeric_ranges_on_image_attributes_are_refused_with_the_reason(method):
    args = (1, 2) if method == "between" else (1,)
    with pytest.raises(FilterError) as error:
        getattr(new_image("total"), method)(*args)
    assert str(error.value) == (
        f"total: {method}() cannot filter an image attribute: stream records carry N values as "
        "strings and Lambda's numeric matching only matches JSON numbers, so the filter would "
        "drop every record. Use is_one_of() with exact values, or check the range in the handler"
    )


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
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        filters=filters,
        code=StreamHandlerCode.sample(),
    )
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
        (lambda: size_bytes().between(5, 1), "SizeBytes: between needs low <= high, got 5 and 1"),
        (lambda: size_bytes().greater_than("5"), "numeric conditions need a number, got '5'"),
        (
            lambda: size_bytes().greater_than(float("inf")),
            "numeric conditions need a finite number, got inf",
        ),
        (
            lambda: new_image("a").equals(float("nan")),
            "numeric conditions need a finite number, got nan",
        ),
        (
            lambda: new_image("a").exists("STRING"),
            "type must be one of B, BOOL, BS, L, M, N, NS, NULL, S, SS, got 'STRING'",
        ),
        (lambda: Pattern(), "Pattern needs at least one condition, got none"),
        (lambda: Pattern("eventName"), "Pattern takes conditions, got 'eventName'"),
        (
            lambda: Pattern(new_image("a").equals("x"), new_image("a").begins_with("y")),
            "two conditions on dynamodb.NewImage.a.S in one Pattern would be ORed by Lambda; "
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
            "pattern 0 must be at most 4096 characters, got 5439 characters",
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
            "filters[0].pattern.dynamodb must be limited to the fields of a change "
            "(ApproximateCreationDateTime, Keys, NewImage, OldImage, SequenceNumber, SizeBytes, "
            "StreamViewType), got newImage",
        ),
        (
            {"pattern": '{"eventName":"INSERT"}'},
            "filters[0].pattern.eventName must be an object or a list of rules "
            '(for an exact match write ["INSERT"]), got "INSERT"',
        ),
        (
            {"pattern": '{"dynamodb":{"NewImage":{}}}'},
            "filters[0].pattern.dynamodb.NewImage must be a non-empty object, got {}",
        ),
        (
            {"pattern": '{"eventName":[]}'},
            "filters[0].pattern.eventName must be a non-empty list of rules, got []",
        ),
        (
            {"pattern": '{"dynamodb":{"NewImage":{"total":{"N":[{"numeric":[">",100]}]}}}}'},
            "filters[0].pattern.dynamodb.NewImage.total.N must be a list with a rule that can "
            "match a string: stream records carry N values as strings, and numeric rules and "
            "number values only match JSON numbers, so these rules would drop every record "
            '(match the exact string instead, such as ["42"]), got [{"numeric": [">", 100]}]',
        ),
    ],
)
def test_synth_refuses_fields_lambda_cannot_match(pattern, message):
    stack = new_stack()
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            filters=[pattern],
            code=StreamHandlerCode.sample(),
        )
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
        stack,
        "Processor",
        table=orders_table(stack).table,
        filters=[pattern],
        code=StreamHandlerCode.sample(),
    )
    assert processor.event_source_mapping is not None


# -- the local runner applies the exact same patterns ----------------------------------

FACTORY = StreamEventFactory(key_names=("orderId",))


def delivered(filters: list[dict], records: list[dict]) -> list[str]:
    """Event names of the records the local runner's filter lets through, in order."""
    record_filter = RecordFilter(f["pattern"] for f in filters)
    return [
        f"{r['eventName']}:{r['dynamodb']['Keys']['orderId']['S']}"
        for r in records
        if record_filter.matches(r)
    ]


ORDERS = [
    FACTORY.insert({"orderId": "eu-1", "status": "PLACED", "items": 2}),
    FACTORY.insert({"orderId": "us-1", "status": "DRAFT", "items": 1}),
    FACTORY.modify(
        {"orderId": "eu-1", "status": "PLACED", "items": 2},
        {"orderId": "eu-1", "status": "SHIPPED", "items": 2, "shippedAt": "2026-11-24"},
    ),
    FACTORY.modify(
        {"orderId": "us-1", "status": "DRAFT", "items": 1},
        {"orderId": "us-1", "status": "PLACED", "items": Decimal("3.0")},
    ),
    FACTORY.remove({"orderId": "us-1", "status": "PLACED", "items": 3}),
]


def test_builder_patterns_drop_records_in_the_local_runner():
    filters = filter_criteria(
        Pattern(event_name("INSERT"), new_image("status").equals("PLACED")),
        Pattern(
            event_name("MODIFY"),
            old_image("shippedAt").not_exists(),
            new_image("shippedAt").exists(),
        ),
    )
    assert delivered(filters, ORDERS) == ["INSERT:eu-1", "MODIFY:eu-1"]


def test_number_equality_matches_the_canonical_string_in_the_local_runner():
    filters = filter_criteria(Pattern(new_image("items").is_one_of(3)))
    # Filters compare strings. DynamoDB trims zeros before a number reaches the
    # stream ("3.0" is stored as "3"), and the builder writes that canonical form.
    # The factory, like boto3, keeps "3.0" as given: a non-canonical string
    # does not match, which is why the builder never writes one.
    assert delivered(filters, ORDERS) == []
    canonical = FACTORY.modify({"orderId": "x", "items": 1}, {"orderId": "x", "items": 3})
    assert delivered(filters, [canonical]) == ["MODIFY:x"]


def test_key_prefix_and_event_names_in_the_local_runner():
    filters = filter_criteria(
        Pattern(key("orderId").begins_with("us-"), event_name("MODIFY", "REMOVE"))
    )
    assert delivered(filters, ORDERS) == ["MODIFY:us-1", "REMOVE:us-1"]


def test_size_range_in_the_local_runner():
    sizes = sorted(r["dynamodb"]["SizeBytes"] for r in ORDERS)
    filters = filter_criteria(Pattern(size_bytes().at_least(sizes[-1])))
    assert len(delivered(filters, ORDERS)) == sizes.count(sizes[-1])


def test_a_numeric_rule_on_an_image_number_never_matches_in_the_local_runner():
    # What the builder refuses to write, and synth refuses to accept: it would
    # silently drop every record, as it does on AWS.
    hand_written = [{"pattern": '{"dynamodb":{"NewImage":{"items":{"N":[{"numeric":[">",0]}]}}}}'}]
    assert delivered(hand_written, ORDERS) == []


@pytest.mark.parametrize(
    ("condition", "leaf"),
    [
        (new_image("f").ends_with(".png"), {"S": [{"suffix": ".png"}]}),
        (new_image("f").equals_ignore_case("Done"), {"S": [{"equals-ignore-case": "Done"}]}),
        (new_image("f").is_none_of("A", "B"), {"S": [{"anything-but": ["A", "B"]}]}),
        (new_image("f").is_none_of(1.50, 2), {"N": [{"anything-but": ["1.5", "2"]}]}),
    ],
)
def test_string_and_negative_conditions(condition, leaf):
    assert compiled(condition) == {"dynamodb": {"NewImage": {"f": leaf}}}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: new_image("f").ends_with(""), "f: ends_with needs a non-empty string, got ''"),
        (
            lambda: new_image("f").equals_ignore_case(1),
            "f: equals_ignore_case needs a string, got 1",
        ),
        (lambda: new_image("f").is_none_of(), "f: is_none_of needs at least one value, got none"),
        (
            lambda: new_image("f").is_none_of("a", 1),
            "f: is_none_of values must be all strings or all numbers, got ['N', 'S']",
        ),
        (
            lambda: new_image("f").is_none_of(True),
            "f: is_none_of values must be all strings or all numbers, got ['BOOL']",
        ),
    ],
)
def test_string_and_negative_condition_errors(build, message):
    with pytest.raises(FilterError) as error:
        build()
    assert str(error.value) == message


def test_negative_and_suffix_conditions_in_the_local_runner():
    filters = filter_criteria(
        Pattern(new_image("status").is_none_of("PLACED", "DRAFT")),
        Pattern(key("orderId").ends_with("-1"), event_name("REMOVE")),
    )
    # Only the MODIFY to SHIPPED has a status other than PLACED or DRAFT; the REMOVE has
    # no new image, so is_none_of cannot match it, but the second pattern does.
    assert delivered(filters, ORDERS) == ["MODIFY:eu-1", "REMOVE:us-1"]


def test_the_module_doc_example_builds():
    import cdk_streams.filters as module

    example = module.__doc__.split("::\n")[1].split("\nDynamoDB values")[0]
    code = "\n".join(line[4:] for line in example.splitlines() if "StreamProcessor" not in line)
    namespace: dict = {}
    exec(code, namespace)
    assert [json.loads(f["pattern"])["eventName"] for f in namespace["filters"]] == [
        ["INSERT"],
        ["MODIFY"],
    ]
