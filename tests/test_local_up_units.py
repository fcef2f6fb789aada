"""What `local up` prints, from Lambda's mapping settings (no deploy)."""

from __future__ import annotations

from cdk_streams.local.up import environment_lines, mapping_settings


def test_mapping_settings_use_the_constructs_prop_names() -> None:
    mapping = {
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 1,
        "StartingPosition": "LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "FilterCriteria": {"Filters": [{"Pattern": "{}"}, {"Pattern": "{}"}]},
        "DestinationConfig": {
            "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}
        },
    }
    assert mapping_settings(mapping) == (
        "batch_size 10, max_batching_window 1 s, starting_position LATEST, retry_attempts 2, "
        "max_record_age -1 s, bisect_batch_on_error false, report_batch_item_failures true, "
        "filters 2, on_failure dlq"
    )
    assert mapping_settings({}) == ("report_batch_item_failures false, filters 0, on_failure none")


def test_environment_lines_point_the_aws_cli_and_boto3_at_the_local_cloud() -> None:
    assert environment_lines("http://localhost:4566", "us-east-1") == [
        "export AWS_ENDPOINT_URL=http://localhost:4566",
        "export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1",
        "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
    ]
