"""The one filter grammar (cdk_streams.streams.filter_grammar, .filter_fields): what Lambda
accepts and refuses, and what it delivers, as exact cases; synth validation and the local
matcher both go through it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamHandlerCode, StreamProcessor, StreamsValidationError
from cdk_streams.streams.filter_fields import check_fields
from cdk_streams.streams.filter_grammar import (
    MAX_FILTERS,
    MAX_PATTERN_CHARS,
    FilterPatternError,
    RecordFilter,
    compile_pattern,
)
from cdk_streams.validation import check_filters
from tests.stacks import new_stack, only, orders_table, processor_error


def ddb_record(new_image: dict[str, Any], event_name: str = "INSERT") -> dict[str, Any]:
    """A DynamoDB stream record as the function receives it."""
    return {
        "eventID": "e-1",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1764086101.0,
            "Keys": {"pk": new_image["pk"]},
            "NewImage": new_image,
            "SequenceNumber": "4200000000000000000001",
            "SizeBytes": 57,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2026-01-01",
    }


def matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    return compile_pattern(json.dumps(pattern)).matches(record)


@pytest.fixture(scope="module")
def synth_scope():
    """A construct scope for synth validation, shared by the module."""
    return new_stack()


# -- the AWS facts, each in synth validation and in the matcher -------------------------

MIXED_NUMERIC = {
    "dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}}}
}
ITEM_42 = ddb_record({"pk": {"S": "a"}, "n": {"N": "42"}})
ITEM_101 = ddb_record({"pk": {"S": "b"}, "n": {"N": "101"}})


@pytest.fixture(scope="module")
def mixed_numeric_template() -> dict[str, Any]:
    stack = new_stack()
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        filters=[{"pattern": json.dumps(MIXED_NUMERIC)}],
    )
    return only(Template.from_stack(stack), "AWS::Lambda::EventSourceMapping")


def test_a_numeric_rule_mixed_with_anything_but_on_an_image_number_is_accepted_at_synth(
    mixed_numeric_template: dict[str, Any],
) -> None:
    # AWS accepted this pattern and delivered the item whose n is "42".
    patterns = mixed_numeric_template["Properties"]["FilterCriteria"]["Filters"]
    assert [json.loads(f["Pattern"]) for f in patterns] == [MIXED_NUMERIC]


def test_a_numeric_rule_mixed_with_anything_but_delivers_what_aws_delivered() -> None:
    # numeric never matches the string "42"; anything-but "101" does. "101" matches neither.
    record_filter = RecordFilter([json.dumps(MIXED_NUMERIC)])
    assert record_filter.matches(ITEM_42)
    assert not record_filter.matches(ITEM_101)


def test_only_numeric_rules_on_an_image_number_are_refused_at_synth(synth_scope) -> None:
    pattern = {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 100]}]}}}}
    with pytest.raises(StreamsValidationError) as error:
        check_filters(synth_scope, [{"pattern": json.dumps(pattern)}])
    assert str(error.value) == (
        "Test: filters[0].pattern.dynamodb.NewImage.n.N must be a list with a rule that can "
        "match a string: stream records carry N values as strings, and numeric rules and "
        "number values only match JSON numbers, so these rules would drop every record "
        '(match the exact string instead, such as ["42"]), got [{"numeric": [">", 100]}]'
    )
    # The matcher agrees that it would drop every record.
    assert not matches(pattern, ITEM_42) and not matches(pattern, ITEM_101)


def test_number_values_on_an_image_number_are_refused_at_synth(synth_scope) -> None:
    # CDK's FilterRule.is_equal(42) writes {"numeric": ["=", 42]}; a bare 42 is as deaf.
    for rules in ([42], [{"numeric": ["=", 42]}, 101]):
        pattern = {"dynamodb": {"Keys": {"n": {"N": rules}}}}
        with pytest.raises(StreamsValidationError) as error:
            check_filters(synth_scope, [{"pattern": json.dumps(pattern)}])
        assert str(error.value).startswith(
            "Test: filters[0].pattern.dynamodb.Keys.n.N must be a list with a rule that can "
            "match a string"
        )
        assert not matches(pattern, {"dynamodb": {"Keys": {"n": {"N": "42"}}}})
    check_filters(synth_scope, [{"pattern": '{"dynamodb":{"Keys":{"n":{"N":[42,"42"]}}}}'}])


REFUSED_RULES = [
    ({"prefix": 123}, "a string for prefix", "123"),
    (
        {"numeric": 10},
        'numeric a list such as ["=", 5], [">", 0], ["<=", 5] or [">", 0, "<=", 5]',
        "10",
    ),
    (
        {"EXISTS": True},
        "one of Lambda's filter operators (anything-but, equals-ignore-case, exists, numeric, "
        "prefix, suffix), spelt so",
        '"EXISTS"',
    ),
    ({"anything-but": {"prefix": ""}}, "a non-empty string for anything-but prefix", '""'),
    (
        {"numeric": [">", 0, ">", 0]},
        'numeric a list such as ["=", 5], [">", 0], ["<=", 5] or [">", 0, "<=", 5] '
        "(one bound of each kind, lower first)",
        '[">", 0, ">", 0]',
    ),
]


@pytest.mark.parametrize(("rule", "allowed", "got"), REFUSED_RULES)
def test_rule_shapes_aws_refuses_fail_in_the_matcher_with_the_place(rule, allowed, got) -> None:
    with pytest.raises(FilterPatternError) as error:
        compile_pattern(json.dumps({"dynamodb": {"NewImage": {"s": {"S": ["x", rule]}}}}))
    assert error.value.where == "pattern.dynamodb.NewImage.s.S[1]"
    assert (error.value.allowed, error.value.got) == (allowed, got)
    assert str(error.value) == f"pattern.dynamodb.NewImage.s.S[1] must be {allowed}, got {got}"


@pytest.mark.parametrize(("rule", "allowed", "got"), REFUSED_RULES)
def test_rule_shapes_aws_refuses_fail_at_synth(synth_scope, rule, allowed, got) -> None:
    pattern = json.dumps({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [rule]}}}})
    with pytest.raises(StreamsValidationError) as error:
        check_filters(synth_scope, [{"pattern": '{"eventName":["REMOVE"]}'}, {"pattern": pattern}])
    assert str(error.value) == (
        f"Test: filters[1].pattern.dynamodb.Keys.pk.S[0] must be {allowed}, got {got}"
    )


def test_a_refused_rule_fails_the_processor_before_jsii() -> None:
    message = processor_error({"filters": [{"pattern": '{"eventName":[{"EXISTS":true}]}'}]})
    assert message.startswith(
        "Test/Processor: filters[0].pattern.eventName[0] must be one of Lambda's filter operators"
    )
    assert message.endswith('got "EXISTS"')


def test_exists_true_does_not_match_an_empty_list() -> None:
    record = {"resources": [], "tags": ["a"]}
    assert not matches({"resources": [{"exists": True}]}, record)
    assert matches({"resources": [{"exists": False}]}, record)
    assert matches({"tags": [{"exists": True}]}, record)


def test_exists_looks_at_leaves_so_an_attribute_object_is_absent() -> None:
    # AWS delivered a record whose presentKey is {"S": "presentValue"} to exists: false.
    record = ddb_record({"pk": {"S": "a"}, "presentKey": {"S": "presentValue"}})
    assert matches({"dynamodb": {"NewImage": {"presentKey": [{"exists": False}]}}}, record)
    assert not matches({"dynamodb": {"NewImage": {"presentKey": [{"exists": True}]}}}, record)
    assert matches({"dynamodb": {"NewImage": {"presentKey": {"S": [{"exists": True}]}}}}, record)


# -- operators: what each matches (Lambda's documented set) -----------------------------

EVENT = {
    "state": "running",
    "count": 3,
    "ratio": 301.8,
    "zero": 0,
    "flag": False,
    "nothing": None,
    "empty": "",
    "file": "photo.PNG",
    "ids": [1, 2, 3],
    "names": ["ann", "bob"],
    "orders": [{"id": "o1", "total": 5}, {"id": "o2", "total": 50}],
    "nested": {"level": {"deep": "yes"}},
    "dotted.key": "dot",
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"state": ["running"]}, True),
        ({"state": ["stopped", "running"]}, True),  # OR within a list
        ({"state": ["Running"]}, False),  # exact, case-sensitive
        ({"count": [3]}, True),
        ({"count": [3.0]}, True),  # numbers compare as numbers
        ({"count": ["3"]}, False),  # a string is not a number
        ({"flag": [False]}, True),
        ({"flag": [0]}, False),
        ({"nothing": [None]}, True),
        ({"missing": [None]}, False),  # absent is not null
        ({"empty": [""]}, True),
        ({"state": [{"prefix": "run"}]}, True),
        ({"state": [{"prefix": ""}]}, True),
        ({"count": [{"prefix": "3"}]}, False),  # prefix sees strings only
        ({"file": [{"suffix": ".PNG"}]}, True),
        ({"file": [{"suffix": ".png"}]}, False),
        ({"file": [{"equals-ignore-case": "PHOTO.png"}]}, True),
        ({"empty": [{"equals-ignore-case": ""}]}, True),
        ({"count": [{"numeric": [">", 0, "<=", 3]}]}, True),
        ({"count": [{"numeric": [">", 3]}]}, False),
        ({"ratio": [{"numeric": ["=", 301.8]}]}, True),
        ({"zero": [{"numeric": ["<", 1]}]}, True),
        ({"nothing": [{"numeric": ["<", 1]}]}, False),  # null is not a number
        ({"state": [{"anything-but": "stopped"}]}, True),
        ({"state": [{"anything-but": ["stopped", "running"]}]}, False),
        ({"count": [{"anything-but": [1, 2]}]}, True),
        ({"count": [{"anything-but": 3}]}, False),
        ({"nothing": [{"anything-but": "x"}]}, True),  # a present null is anything but "x"
        ({"missing": [{"anything-but": "x"}]}, False),  # an absent field is not
        ({"count": [{"anything-but": {"prefix": "3"}}]}, True),  # a number has no prefix
        ({"state": [{"anything-but": {"prefix": "run"}}]}, False),
        ({"state": [{"anything-but": {"prefix": ["x", "y"]}}]}, True),
        ({"file": [{"anything-but": {"suffix": [".PNG", ".jpg"]}}]}, False),
        ({"state": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}, False),
        ({"state": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}, True),
        ({"state": [{"exists": True}, {"prefix": "IGNORED"}]}, True),
        ({"ids": [2]}, True),  # a list offers each element
        ({"ids": [{"numeric": [">", 2]}]}, True),
        ({"names": [{"anything-but": "ann"}]}, True),  # "bob" is not "ann"
        ({"nested": {"level": {"deep": ["yes"]}}}, True),
        ({"nested.level.deep": ["yes"]}, True),  # keys join with dots, as in EventBridge
        ({"dotted": {"key": ["dot"]}}, True),
        ({"nested": {"level": [{"exists": True}]}}, False),  # an object is not a leaf
        ({"orders": {"id": ["o2"], "total": [{"numeric": [">", 10]}]}}, True),
        # Fields inside one list must match in the same element.
        ({"orders": {"id": ["o1"], "total": [{"numeric": [">", 10]}]}}, False),
        ({"$or": [{"state": ["stopped"]}, {"count": [3]}]}, True),
        ({"$or": [{"state": ["stopped"]}, {"count": [4]}]}, False),
        ({"state": ["running"], "$or": [{"flag": [True]}, {"missing": [{"exists": False}]}]}, True),
        ({"nested": {"$or": [{"level": {"deep": ["no"]}}, {"other": ["x"]}]}}, False),
    ],
)
def test_operator_semantics(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_dynamodb_facts_recorded_on_aws() -> None:
    # A prefix on a key's S value; an image filter needs the type level; epoch seconds are
    # a JSON number, so numeric works on ApproximateCreationDateTime.
    us = ddb_record({"pk": {"S": "us-1-x"}, "status": {"S": "SHIPPED"}})
    eu = ddb_record({"pk": {"S": "eu-1"}, "status": {"S": "PLACED"}}, event_name="MODIFY")
    cases = [
        ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "us-1"}]}}}}, [True, False]),
        ({"dynamodb": {"NewImage": {"status": {"S": ["SHIPPED"]}}}}, [True, False]),
        ({"dynamodb": {"NewImage": {"status": ["SHIPPED"]}}}, [False, False]),
        ({"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}}, [True, True]),
        ({"eventName": ["INSERT"], "eventSource": ["aws:dynamodb"]}, [True, False]),
        (
            {"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["SHIPPED"]}]}}}},
            [False, True],
        ),
    ]
    for pattern, expected in cases:
        assert [matches(pattern, us), matches(pattern, eu)] == expected, pattern


def test_kinesis_and_sqs_records_use_the_same_grammar() -> None:
    # Lambda filters a Kinesis record on its kinesis fields with data parsed as JSON, and
    # an SQS message on its body parsed as JSON: two mappings on one stream each take
    # their own records.
    first = {"partitionKey": "k", "data": {"event_type": "function_1", "message": "foo"}}
    second = {"partitionKey": "k", "data": {"event_type": "function_2", "message": "bar"}}
    one = RecordFilter(['{"data": {"event_type": ["function_1"]}}'])
    two = RecordFilter(['{"data": {"event_type": ["function_2"]}}'])
    assert [one.matches(first), one.matches(second)] == [True, False]
    assert [two.matches(first), two.matches(second)] == [False, True]
    body = RecordFilter(['{"body": {"my-number": [{"numeric": [">=", 100, "<", 200]}]}}'])
    assert [body.matches({"body": {"my-number": n}}) for n in (99, 100, 199.5, 200)] == [
        False,
        True,
        True,
        False,
    ]
    assert not body.matches({"body": "plain-string"})


def test_record_filter_ors_its_patterns_and_passes_everything_without_any() -> None:
    criteria = {
        "Filters": [
            {"Pattern": json.dumps({"eventName": ["REMOVE"]})},
            {"Pattern": json.dumps({"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}})},
        ]
    }
    record_filter = RecordFilter.from_filter_criteria(criteria)
    assert [record_filter.matches(ITEM_42), record_filter.matches(ITEM_101)] == [True, False]
    assert RecordFilter.from_filter_criteria(None).matches(ITEM_101)
    assert not RecordFilter() and record_filter


# -- shapes Lambda refuses: each error says what and where ------------------------------


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("single-string", "pattern must be valid JSON, got 'single-string' (Expecting value"),
        ("null", "pattern must be a JSON object, got null"),
        ('["INSERT"]', 'pattern must be a JSON object, got ["INSERT"]'),
        ("{}", "pattern must be a non-empty object, got {}"),
        ('{"a": NaN}', "pattern must be valid JSON, got '{\"a\": NaN}' (NaN is not JSON)"),
        (
            '{"eventSource": "aws:sqs"}',
            "pattern.eventSource must be an object or a list of rules "
            '(for an exact match write ["aws:sqs"]), got "aws:sqs"',
        ),
        ('{"a": null}', "pattern.a must be an object or a list of rules, got null"),
        ('{"eventSource": []}', "pattern.eventSource must be a non-empty list of rules, got []"),
        ('{"a": {"b": {}}}', "pattern.a.b must be a non-empty object, got {}"),
        (
            '{"a": [["x"]]}',
            "pattern.a[0] must be a string, number, true, false, null or an object with one "
            'operator, got ["x"]',
        ),
        (
            '{"a": [{"prefix": "x", "suffix": "y"}]}',
            "pattern.a[0] must be a string, number, true, false, null or an object with one "
            'operator, got {"prefix": "x", "suffix": "y"}',
        ),
        ('{"a": [{"prefix": ["x"]}]}', 'pattern.a[0] must be a string for prefix, got ["x"]'),
        ('{"a": [{"suffix": 1}]}', "pattern.a[0] must be a string for suffix, got 1"),
        (
            '{"a": [{"equals-ignore-case": {"prefix": "x"}}]}',
            'pattern.a[0] must be a string for equals-ignore-case, got {"prefix": "x"}',
        ),
        (
            '{"a": [{"wildcard": "x*"}]}',
            "pattern.a[0] must be one of Lambda's filter operators (anything-but, "
            "equals-ignore-case, exists, numeric, prefix, suffix); wildcard is an EventBridge "
            'operator that Lambda\'s filter syntax does not include, got "wildcard"',
        ),
        (
            '{"a": [{"cidr": "10.0.0.0/24"}]}',
            "pattern.a[0] must be one of Lambda's filter operators (anything-but, "
            "equals-ignore-case, exists, numeric, prefix, suffix); cidr is an EventBridge "
            'operator that Lambda\'s filter syntax does not include, got "cidr"',
        ),
        ('{"a": [{"exists": "yes"}]}', 'pattern.a[0] must be true or false for exists, got "yes"'),
        (
            '{"a": [{"numeric": [">"]}]}',
            'pattern.a[0] must be a JSON number after numeric ">", got nothing',
        ),
        (
            '{"a": [{"numeric": [">", "1"]}]}',
            'pattern.a[0] must be a JSON number after numeric ">", got "1"',
        ),
        (
            '{"a": [{"numeric": ["~", 1]}]}',
            'pattern.a[0] must be a numeric operator, one of "=", "<", "<=", ">", ">=", got "~"',
        ),
        (
            '{"a": [{"numeric": ["<", 10, ">", 0]}]}',
            'pattern.a[0] must be numeric a list such as ["=", 5], [">", 0], ["<=", 5] or '
            '[">", 0, "<=", 5] (one bound of each kind, lower first), got ["<", 10, ">", 0]',
        ),
        (
            '{"a": [{"numeric": ["=", 1, "<", 5]}]}',
            'pattern.a[0] must be numeric a list such as ["=", 5], [">", 0], ["<=", 5] or '
            '[">", 0, "<=", 5] (one bound of each kind, lower first), got ["=", 1, "<", 5]',
        ),
        (
            '{"a": [{"numeric": [">", 5, "<", 5]}]}',
            "pattern.a[0] must be a numeric range whose lower bound is below its upper bound, "
            'got [">", 5, "<", 5]',
        ),
        (
            '{"a": [{"anything-but": null}]}',
            "pattern.a[0] must be strings or numbers for anything-but, got null",
        ),
        (
            '{"a": [{"anything-but": ["x", null]}]}',
            'pattern.a[0] must be strings or numbers for anything-but, got ["x", null]',
        ),
        (
            '{"a": [{"anything-but": []}]}',
            "pattern.a[0] must be a non-empty list for anything-but, got []",
        ),
        (
            '{"a": [{"anything-but": {"suffix": ""}}]}',
            'pattern.a[0] must be a non-empty string for anything-but suffix, got ""',
        ),
        (
            '{"a": [{"anything-but": {"equals-ignore-case": 123}}]}',
            "pattern.a[0] must be strings for anything-but equals-ignore-case, got 123",
        ),
        (
            '{"a": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]}',
            'pattern.a[0] must be strings for anything-but prefix, got {"equals-ignore-case": "x"}',
        ),
        (
            '{"a": [{"anything-but": {"wildcard": "x"}}]}',
            'pattern.a[0] must be anything-but with one of "prefix", "suffix", '
            '"equals-ignore-case", got "wildcard"',
        ),
        (
            '{"$or": [{"a": ["b"]}]}',
            'pattern.$or must be a list of at least two pattern objects, got [{"a": ["b"]}]',
        ),
        (
            '{"$or": [{"a": ["b"]}, {"c": [{"prefix": 1}]}]}',
            "pattern.$or[1].c[0] must be a string for prefix, got 1",
        ),
        (
            json.dumps({"a": ["x" * MAX_PATTERN_CHARS]}),
            f"pattern must be at most {MAX_PATTERN_CHARS} characters, got 4107 characters",
        ),
    ],
)
def test_refused_shapes_name_what_and_where(pattern: str, message: str) -> None:
    with pytest.raises(FilterPatternError) as error:
        compile_pattern(pattern)
    assert str(error.value).startswith(message)


def test_a_pattern_of_exactly_the_length_limit_is_accepted() -> None:
    head = '{"a":["'
    text = head + "x" * (MAX_PATTERN_CHARS - len(head) - 3) + '"]}'
    assert len(text) == MAX_PATTERN_CHARS
    assert compile_pattern(text).matches({"a": "x" * (MAX_PATTERN_CHARS - len(head) - 3)})


def test_limits_are_lambdas() -> None:
    assert (MAX_PATTERN_CHARS, MAX_FILTERS) == (4096, 5)


# -- fields a record has (synth only: Lambda accepts these and drops every record) --------


@pytest.mark.parametrize(
    ("pattern", "source", "message"),
    [
        (
            {"event_name": ["INSERT"]},
            "dynamodb",
            "pattern must be limited to the fields Lambda filters on (awsRegion, dynamodb, "
            "eventID, eventName, eventSource, eventSourceARN, eventVersion, userIdentity), "
            "got event_name",
        ),
        (
            {"dynamodb": {"newImage": {"a": {"S": ["x"]}}}},
            "dynamodb",
            "pattern.dynamodb must be limited to the fields of a change "
            "(ApproximateCreationDateTime, Keys, NewImage, OldImage, SequenceNumber, SizeBytes, "
            "StreamViewType), got newImage",
        ),
        (
            {"dynamodb": [{"exists": True}]},
            "dynamodb",
            "pattern.dynamodb must be an object naming the change's fields (Lambda refuses rules "
            'on the whole change), got [{"exists": true}]',
        ),
        (
            {"$or": [{"eventName": ["INSERT"]}, {"eventname": ["MODIFY"]}]},
            "dynamodb",
            "pattern.$or[1].eventname must be limited to the fields Lambda filters on",
        ),
        (
            {"dynamodb.NewImage.n.NS": [{"numeric": ["<", 0]}]},
            "dynamodb",
            "pattern.dynamodb.NewImage.n.NS must be a list with a rule that can match a string",
        ),
        (
            {"eventName": ["INSERT"]},
            "kinesis",
            "pattern must be limited to the fields Lambda filters on (approximateArrivalTimestamp, "
            "data, kinesisSchemaVersion, partitionKey, sequenceNumber), got eventName",
        ),
        (
            {"data": {"event_name": ["INSERT"]}},
            "kinesis",
            "pattern.data must be limited to the fields Lambda filters on",
        ),
        (
            {"data": ["INSERT"]},
            "kinesis",
            "pattern.data must be an object naming the change's fields",
        ),
        (
            {
                "data": {
                    "dynamodb": {"OldImage": {"m": {"M": {"n": {"N": [{"numeric": [">", 1]}]}}}}}
                }
            },
            "kinesis",
            "pattern.data.dynamodb.OldImage.m.M.n.N must be a list with a rule that can match a string",
        ),
    ],
)
def test_fields_a_record_lacks_are_refused(pattern, source, message) -> None:
    with pytest.raises(FilterPatternError) as error:
        check_fields(compile_pattern(json.dumps(pattern)), source)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            {"dynamodb": {"NewImage": {"status": ["SHIPPED"]}}},
            "pattern.dynamodb.NewImage.status must be an object naming the attribute's type, "
            'such as {"S": [...]}: an attribute\'s value is an object such as {"S": "x"}, which '
            'rules never match, so these rules would drop every record, got ["SHIPPED"]',
        ),
        (
            {"dynamodb": {"OldImage": {"status": [{"exists": True}]}}},
            "pattern.dynamodb.OldImage.status must be an object naming the attribute's type",
        ),
        (
            {"dynamodb": {"Keys": [{"exists": True}]}},
            "pattern.dynamodb.Keys must be an object naming attributes (rules never match the "
            'image, an object), got [{"exists": true}]',
        ),
        (
            {"dynamodb": {"NewImage": {"tags": {"L": [{"exists": True}]}}}},
            "pattern.dynamodb.NewImage.tags.L must be an object reaching a typed value inside "
            'the L, such as {"L": {"S": [...]}}: its elements are objects, which rules never '
            'match, so these rules would drop every record, got [{"exists": true}]',
        ),
        (
            {"dynamodb": {"NewImage": {"address": {"M": ["x"]}}}},
            "pattern.dynamodb.NewImage.address.M must be an object reaching a typed value "
            'inside the M, such as {"M": {"S": [...]}}',
        ),
    ],
)
def test_rules_on_objects_in_an_image_are_refused_at_synth(synth_scope, pattern, message):
    # AWS delivers nothing to these: the value at each place is an object, not a leaf.
    with pytest.raises(StreamsValidationError) as error:
        check_filters(synth_scope, [{"pattern": json.dumps(pattern)}])
    assert str(error.value).startswith(f"Test: filters[0].{message}")
    record = ddb_record({"pk": {"S": "a"}, "status": {"S": "SHIPPED"}})
    record["dynamodb"]["OldImage"] = {"status": {"S": "PAID"}}
    record["dynamodb"]["NewImage"]["tags"] = {"L": [{"S": "red"}]}
    record["dynamodb"]["NewImage"]["address"] = {"M": {"city": {"S": "Lyon"}}}
    assert not matches(pattern, record)


def test_typed_paths_into_l_and_m_values_match_and_pass_synth(synth_scope) -> None:
    record = ddb_record({"pk": {"S": "a"}, "tags": {"L": [{"S": "red"}, {"S": "blue"}]}})
    record["dynamodb"]["NewImage"]["address"] = {"M": {"city": {"S": "Lyon"}}}
    patterns = [
        {"dynamodb": {"NewImage": {"tags": {"L": {"S": ["blue"]}}}}},
        {"dynamodb": {"NewImage": {"address": {"M": {"city": {"S": ["Lyon"]}}}}}},
        {"dynamodb": {"NewImage": {"gone": [{"exists": False}]}}},
    ]
    check_filters(synth_scope, [{"pattern": json.dumps(p)} for p in patterns])
    assert [matches(p, record) for p in patterns] == [True, True, True]


@pytest.mark.parametrize(
    ("pattern", "source"),
    [
        ({"dynamodb.NewImage.status.S": ["SHIPPED"]}, "dynamodb"),
        (
            {
                "$or": [
                    {"eventName": ["INSERT"]},
                    {"dynamodb": {"SizeBytes": [{"numeric": ["<", 9]}]}},
                ]
            },
            "dynamodb",
        ),
        ({"dynamodb": {"NewImage": {"n": {"N": ["42", {"numeric": [">", 1]}]}}}}, "dynamodb"),
        (
            {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 1]}, {"exists": False}]}}}},
            "dynamodb",
        ),
        ({"partitionKey": ["k"], "data": {"eventName": ["REMOVE"], "tableName": ["t"]}}, "kinesis"),
    ],
)
def test_fields_a_record_has_pass(pattern, source) -> None:
    check_fields(compile_pattern(json.dumps(pattern)), source)


def test_synth_takes_cdk_filter_rules_and_checks_kinesis_fields(synth_scope) -> None:
    check_filters(
        synth_scope,
        [
            lambda_.FilterCriteria.filter(
                {"data": {"eventName": lambda_.FilterRule.is_equal("INSERT")}}
            )
        ],
        source="kinesis",
    )
    with pytest.raises(StreamsValidationError) as error:
        check_filters(
            synth_scope,
            [lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.is_equal("INSERT")})],
            source="kinesis",
        )
    assert str(error.value).startswith(
        "Test: filters[0].pattern must be limited to the fields Lambda filters on"
    )


def test_the_grammar_imports_neither_cdk_nor_moto() -> None:
    code = (
        "import sys\n"
        "import cdk_streams.streams.filter_grammar, cdk_streams.streams.filter_fields\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'aws_cdk', 'constructs', 'jsii', 'moto', 'boto3'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
