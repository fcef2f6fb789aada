"""A mapping's settings in the construct's vocabulary (cdk_streams.streams.settings),
read from Lambda's API and from a CloudFormation template."""

from __future__ import annotations

import pytest

from cdk_streams.streams.records import DYNAMODB, KINESIS
from cdk_streams.streams.settings import (
    API_NAMES,
    MappingConfig,
    filter_patterns,
    on_failure_destination,
    reports_batch_item_failures,
)

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:dlq"
PATTERN = '{"eventName": ["INSERT"]}'

SETTINGS = {
    "StartingPosition": "LATEST",
    "BatchSize": 10,
    "MaximumBatchingWindowInSeconds": 5,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 10,
    "MaximumRecordAgeInSeconds": 3600,
    "ParallelizationFactor": 2,
    "TumblingWindowInSeconds": 60,
    "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
    "FilterCriteria": {"Filters": [{"Pattern": PATTERN}]},
}

EXPECTED = MappingConfig(
    uuid="u",
    function_arn=FUNCTION,
    event_source_arn=STREAM,
    starting_position="LATEST",
    batch_size=10,
    max_batching_window=5.0,
    retry_attempts=10,
    max_record_age=3600.0,
    bisect_batch_on_error=True,
    report_batch_item_failures=True,
    parallelization_factor=2,
    tumbling_window=60.0,
    filters=(PATTERN,),
    on_failure=QUEUE,
    enabled=True,
)


def test_from_the_lambda_api() -> None:
    config = MappingConfig.from_api(
        {
            "UUID": "u",
            "FunctionArn": FUNCTION,
            "EventSourceArn": STREAM,
            "State": "Enabled",
            **SETTINGS,
        }
    )
    assert config == EXPECTED
    assert (config.function_name, config.table_name, config.shape) == ("f", "T", DYNAMODB)


def test_from_cloudformation_properties() -> None:
    config = MappingConfig.from_cloudformation(
        {"Enabled": True, **SETTINGS}, uuid="u", function_arn=FUNCTION, event_source_arn=STREAM
    )
    assert config == EXPECTED


def test_lambdas_defaults_when_settings_are_left_out() -> None:
    config = MappingConfig.from_api(
        {"UUID": "u", "FunctionArn": FUNCTION, "EventSourceArn": STREAM}
    )
    assert config == MappingConfig(uuid="u", function_arn=FUNCTION, event_source_arn=STREAM)
    assert (config.batch_size, config.max_batching_window, config.starting_position) == (
        100,
        0.0,
        "TRIM_HORIZON",
    )
    assert (config.retry_attempts, config.max_record_age, config.tumbling_window) == (
        -1,
        None,
        None,
    )
    assert not config.report_batch_item_failures and not config.bisect_batch_on_error
    assert (config.filters, config.on_failure, config.enabled) == ((), None, True)


def test_minus_one_record_age_means_no_limit() -> None:
    config = MappingConfig.from_api(
        {
            "UUID": "u",
            "FunctionArn": FUNCTION,
            "EventSourceArn": STREAM,
            "MaximumRecordAgeInSeconds": -1,
            "MaximumRetryAttempts": -1,
        }
    )
    assert (config.max_record_age, config.retry_attempts) == (None, -1)


@pytest.mark.parametrize(
    ("state", "enabled"),
    [
        ("Enabled", True),
        ("Creating", True),
        ("Enabling", True),
        ("Disabled", False),
        ("Disabling", False),
    ],
)
def test_state_decides_enabled(state: str, enabled: bool) -> None:
    config = MappingConfig.from_api(
        {"UUID": "u", "FunctionArn": FUNCTION, "EventSourceArn": STREAM, "State": state}
    )
    assert config.enabled is enabled


def test_a_kinesis_source_has_the_kinesis_shape() -> None:
    config = MappingConfig(
        uuid="u", function_arn=FUNCTION, event_source_arn="arn:aws:kinesis:us-east-1:1:stream/s"
    )
    assert (config.shape, config.table_name) == (KINESIS, "s")


def test_every_setting_has_one_api_name() -> None:
    from dataclasses import fields

    assert [f.name for f in fields(MappingConfig)] == list(API_NAMES)
    assert API_NAMES["retry_attempts"] == "MaximumRetryAttempts"
    assert len(set(API_NAMES.values())) == len(API_NAMES)


def test_filter_patterns_skip_filters_without_a_pattern() -> None:
    assert filter_patterns(None) == ()
    assert filter_patterns({"Filters": [{"Pattern": PATTERN}, {}]}) == (PATTERN,)


def test_on_failure_and_partial_batch_fields_read_as_lambda_writes_them() -> None:
    assert on_failure_destination(SETTINGS["DestinationConfig"]) == QUEUE
    assert on_failure_destination(None) is None
    assert on_failure_destination({"OnFailure": {}}) is None
    assert reports_batch_item_failures(["ReportBatchItemFailures"])
    assert not reports_batch_item_failures(None)


def test_the_limits_load_without_the_filter_grammar() -> None:
    # `cdk-streams plan` builds its help from them, so every command imports this module.
    import subprocess
    import sys

    code = (
        "import sys; import cdk_streams.streams.settings; "
        "print(sorted(m for m in sys.modules if m.startswith(('cdk_streams.', 'stream_runtime'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == (
        "['cdk_streams.streams', 'cdk_streams.streams.arns', 'cdk_streams.streams.settings']"
    )
