"""Lambda's event-filter pattern matching on DynamoDB stream records (cdk_streams.local.filters)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk_streams.local.filters import FilterPatternError, RecordFilter, compile_pattern

RECORD: dict[str, Any] = {
    "eventID": "1",
    "eventName": "MODIFY",
    "eventSource": "aws:dynamodb",
    "awsRegion": "us-east-1",
    "dynamodb": {
        "ApproximateCreationDateTime": 1700000000.0,
        "Keys": {"orderId": {"S": "o-1"}},
        "NewImage": {
            "orderId": {"S": "o-1"},
            "status": {"S": "SHIPPED"},
            "total": {"N": "42.5"},
            "poison": {"BOOL": True},
            "tags": {"SS": ["red", "blue"]},
            "address": {"M": {"city": {"S": "Lyon"}}},
        },
        "OldImage": {"orderId": {"S": "o-1"}, "status": {"S": "PAID"}},
        "SequenceNumber": "111",
        "SizeBytes": 120,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
}


def matches(pattern: dict[str, Any]) -> bool:
    return compile_pattern(json.dumps(pattern)).matches(RECORD)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["MODIFY"]}, True),
        ({"eventName": ["INSERT", "MODIFY"]}, True),  # OR within a list
        ({"eventName": ["INSERT"]}, False),
        ({"dynamodb": {"NewImage": {"status": {"S": ["SHIPPED"]}}}}, True),  # nested keys
        ({"dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}}, False),
        ({"eventName": ["MODIFY"], "dynamodb": {"OldImage": {"status": {"S": ["NEW"]}}}}, False),
        ({"dynamodb": {"NewImage": {"poison": {"BOOL": [True]}}}}, True),
        ({"dynamodb": {"NewImage": {"poison": {"BOOL": [False]}}}}, False),
        ({"dynamodb": {"NewImage": {"orderId": {"S": [{"prefix": "o-"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"orderId": {"S": [{"prefix": "x-"}]}}}}, False),
        ({"dynamodb": {"NewImage": {"orderId": {"S": [{"suffix": "-1"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"equals-ignore-case": "shipped"}]}}}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": [">", 100, "<=", 120]}]}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": [">", 120]}]}}, False),
        ({"dynamodb": {"SizeBytes": [{"numeric": ["=", 120]}]}}, True),
        # N values are strings in a stream record: numeric does not match them, as in Lambda.
        ({"dynamodb": {"NewImage": {"total": {"N": [{"numeric": [">", 1]}]}}}}, False),
        ({"dynamodb": {"NewImage": {"total": {"N": ["42.5"]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"exists": True}]}}}}, True),
        ({"dynamodb": {"NewImage": {"missing": {"S": [{"exists": True}]}}}}, False),
        ({"dynamodb": {"NewImage": {"missing": {"S": [{"exists": False}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"exists": False}]}}}}, False),
        ({"dynamodb": {"NewImage": {"status": [{"exists": True}]}}}, False),  # leaves only
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["PAID"]}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": "SHIPPED"}]}}}}, False),
        (
            {"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": {"prefix": "SH"}}]}}}},
            False,
        ),
        ({"dynamodb": {"NewImage": {"missing": {"S": [{"anything-but": ["x"]}]}}}}, False),
        ({"dynamodb": {"NewImage": {"tags": {"SS": ["blue"]}}}}, True),  # any list element
        ({"dynamodb": {"NewImage": {"address": {"M": {"city": {"S": ["Lyon"]}}}}}}, True),
        ({"$or": [{"eventName": ["INSERT"]}, {"dynamodb": {"SizeBytes": [120]}}]}, True),
        ({"$or": [{"eventName": ["INSERT"]}, {"eventName": ["REMOVE"]}]}, False),
        ({"eventName": [None]}, False),
        ({"userIdentity": [None]}, False),  # missing is not null
    ],
)
def test_pattern_matching(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern) is expected


def test_record_filter_passes_when_any_filter_matches() -> None:
    criteria = {
        "Filters": [
            {"Pattern": json.dumps({"eventName": ["INSERT"]})},
            {"Pattern": json.dumps({"eventName": ["MODIFY"]})},
        ]
    }
    assert RecordFilter.from_filter_criteria(criteria).matches(RECORD)
    assert not RecordFilter([{"eventName": ["REMOVE"]}]).matches(RECORD)
    assert RecordFilter.from_filter_criteria(None).matches(RECORD)  # no criteria: all pass
    assert not RecordFilter()  # falsy when it filters nothing


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{not json", "pattern: not valid JSON"),
        ('["MODIFY"]', "pattern: must be a JSON object"),
        (
            '{"eventName": "MODIFY"}',
            "pattern.eventName: must be an object or a list of matchers, "
            'got "MODIFY"; write ["MODIFY"] for an exact match',
        ),
        ('{"eventName": []}', "pattern.eventName: a matcher list must not be empty"),
        ('{"a": [{"wildcard": "x*"}]}', 'pattern.a[0]: unknown operator "wildcard"'),
        ('{"a": [{"prefix": 1}]}', "pattern.a[0]: prefix takes a string, got 1"),
        ('{"a": [{"numeric": [">"]}]}', "pattern.a[0]: numeric takes [operator, number, ...]"),
        (
            '{"a": [{"numeric": ["~", 1]}]}',
            'numeric operator must be one of =, <, <=, >, >=, got "~"',
        ),
        ('{"a": [{"numeric": [">", "1"]}]}', 'numeric > needs a number, got "1"'),
        ('{"a": [{"exists": "yes"}]}', 'exists takes true or false, got "yes"'),
        ('{"a": [{"anything-but": {"wildcard": "x"}}]}', "anything-but takes prefix, suffix"),
        ('{"a": [{"anything-but": [{"x": 1}]}]}', "anything-but takes strings or numbers"),
        ('{"$or": [{"a": ["b"]}]}', "pattern.$or: $or takes a list of at least two patterns"),
        ('{"a": [{"prefix": "x", "suffix": "y"}]}', "each matcher must be a value or an object"),
        (json.dumps({"a": ["x" * 5000]}), "pattern: at most 4096 characters, got 5011"),
    ],
)
def test_invalid_patterns_are_refused_with_the_reason(pattern: str, message: str) -> None:
    with pytest.raises(FilterPatternError) as error:
        compile_pattern(pattern)
    assert message in str(error.value)
