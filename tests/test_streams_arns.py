"""Placeholder ARNs and the names ARNs end in (cdk_streams.streams.arns)."""

from __future__ import annotations

import pytest

from cdk_streams.streams.arns import placeholder_arn, resource_name


def test_a_placeholder_arn_is_in_the_documentation_account() -> None:
    assert placeholder_arn("lambda", "function:f") == (
        "arn:aws:lambda:us-east-1:123456789012:function:f"
    )
    assert placeholder_arn("sqs", "dlq") == "arn:aws:sqs:us-east-1:123456789012:dlq"


def test_a_placeholder_bucket_names_no_region_and_no_account() -> None:
    assert placeholder_arn("s3", "archive") == "arn:aws:s3:::archive"


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:lambda:us-east-1:1:function:f", "f"),
        ("arn:aws:lambda:us-east-1:1:function:f:live", "f"),
        ("arn:aws:dynamodb:us-east-1:1:table/T", "T"),
        ("arn:aws:dynamodb:us-east-1:1:table/T/stream/2026-01-01T00:00:00.000", "T"),
        ("arn:aws:kinesis:us-east-1:1:stream/changes", "changes"),
        ("arn:aws:sqs:us-east-1:1:dlq", "dlq"),
        ("arn:aws:sns:us-east-1:1:alerts", "alerts"),
        ("arn:aws:s3:::archive", "archive"),
        ("arn:aws:s3:::archive/failures/x.json", "archive"),
    ],
)
def test_the_name_an_arn_ends_in(arn: str, name: str) -> None:
    assert resource_name(arn) == name
