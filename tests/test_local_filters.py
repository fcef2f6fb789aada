"""The local cloud filters records with the one filter grammar (cdk_streams.streams.filter_grammar),
built from the mapping's FilterCriteria as Lambda's API returns it."""

from __future__ import annotations

import json
from typing import Any

import pytest

import cdk_streams.local
from cdk_streams.streams import filter_grammar
from cdk_streams.streams.filter_grammar import FilterPatternError, RecordFilter, compile_pattern
from cdk_streams.streams.settings import MappingConfig

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


def mapping(*patterns: dict[str, Any]) -> MappingConfig:
    return MappingConfig.from_api(
        {
            "UUID": "u-1",
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "EventSourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/1",
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]},
        }
    )


def test_the_local_package_exports_the_grammar_itself() -> None:
    assert cdk_streams.local.RecordFilter is filter_grammar.RecordFilter
    assert cdk_streams.local.FilterPatternError is filter_grammar.FilterPatternError
    assert cdk_streams.local.compile_pattern is filter_grammar.compile_pattern


def test_a_mapping_with_mixed_numeric_rules_delivers_what_aws_delivered() -> None:
    config = mapping(
        {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}}}}
    )
    item = json.loads(json.dumps(RECORD))
    item["dynamodb"]["NewImage"]["n"] = {"N": "42"}
    assert RecordFilter(config.filters).matches(item)
    item["dynamodb"]["NewImage"]["n"] = {"N": "101"}
    assert not RecordFilter(config.filters).matches(item)


def test_a_mapping_with_exists_on_an_empty_list_drops_the_record() -> None:
    config = mapping({"dynamodb": {"NewImage": {"tags": {"SS": [{"exists": True}]}}}})
    item = json.loads(json.dumps(RECORD))
    assert RecordFilter(config.filters).matches(item)
    item["dynamodb"]["NewImage"]["tags"] = {"SS": []}
    assert not RecordFilter(config.filters).matches(item)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"prefix": 123}, "pattern.eventName[0] must be a string for prefix, got 123"),
        ({"EXISTS": True}, "pattern.eventName[0] must be one of Lambda's filter operators"),
        (
            {"anything-but": {"prefix": ""}},
            'pattern.eventName[0] must be a non-empty string for anything-but prefix, got ""',
        ),
    ],
)
def test_a_mapping_with_a_pattern_aws_refuses_fails_to_load(rule, message) -> None:
    # Lambda refuses such a mapping at CreateEventSourceMapping; the local cloud does not
    # quietly run it with a filter of its own invention.
    with pytest.raises(FilterPatternError) as error:
        mapping({"eventName": [rule]})
    assert str(error.value).startswith(message)
