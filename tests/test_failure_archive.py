"""StreamProcessor(failure_destination="s3"): the FailureArchive bucket, its grant and alarm."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from cdk_streams import StreamHandlerCode, StreamProcessor
from tests.stacks import new_stack, only, orders_table, processor_error


@pytest.fixture(scope="module")
def archived() -> tuple[cdk.Stack, Template]:
    stack = new_stack()
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        failure_destination="s3",
    )
    return stack, Template.from_stack(stack)


def test_bucket_is_encrypted_tls_only_private_and_expires(archived) -> None:
    _, template = archived
    bucket = only(template, "AWS::S3::Bucket")
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["LifecycleConfiguration"]["Rules"] == [
        {
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            "ExpirationInDays": 30,
            "Id": "ExpireSkippedBatches",
            "Status": "Enabled",
        }
    ]
    policy = only(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_mapping_sends_failures_to_the_bucket_with_event_count_metrics(archived) -> None:
    _, template = archived
    mapping = only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    bucket_id = next(iter(template.find_resources("AWS::S3::Bucket")))
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [bucket_id, "Arn"]}}
    }
    assert mapping["MetricsConfig"] == {"Metrics": ["EventCount"]}
    assert template.find_resources("AWS::SQS::Queue") == {}


def test_function_may_only_put_objects_and_list_the_bucket(archived) -> None:
    _, template = archived
    bucket_id = next(iter(template.find_resources("AWS::S3::Bucket")))
    statements = only(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"]["Statement"]
    s3 = [s for s in statements if any(str(a).startswith("s3:") for a in [s["Action"]])]
    assert s3 == [
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]},
        },
        {
            "Action": "s3:ListBucket",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
        },
    ]


def test_alarm_fires_on_any_archived_record(archived) -> None:
    stack, template = archived
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "OnFailureDestinationDeliveredEventCount",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "Dimensions": [{"Name": "EventSourceMappingUUID", "Value": Match.any_value()}],
        },
    )
    processor = stack.node.find_child("Processor")
    assert "OnFailureArchived" in processor.alarms.alarms
    assert processor.dead_letter_queue is None and processor.failure_archive is not None


def test_nag_clean(archived) -> None:
    stack, _ = archived
    for pack in (AwsSolutionsChecks, ServerlessChecks):
        assert [v.rule_name for v in pack().validate_scope(stack).violations] == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"failure_destination": "sns"},
            "Test/Processor: failure_destination must be one of sqs, s3, got 'sns'",
        ),
        (
            {"failure_destination": "s3", "dead_letter_queue_enabled": False},
            "Test/Processor: failure_destination='s3' creates the on-failure destination, so it "
            "must not be combined with dead_letter_queue_enabled=False; got both",
        ),
    ],
)
def test_bad_props_fail_at_synth(props: dict, message: str) -> None:
    _refused(props, message)


def test_s3_with_a_given_on_failure_is_refused() -> None:
    from aws_cdk import aws_sqs as sqs
    from aws_cdk.aws_lambda_event_sources import SqsDlq

    def props(stack: cdk.Stack) -> dict:
        return {"failure_destination": "s3", "on_failure": SqsDlq(sqs.Queue(stack, "Q"))}

    _refused(
        props,
        "Test/Processor: failure_destination='s3' creates the on-failure destination, so it "
        "must not be combined with on_failure; got both",
    )


def _refused(props, message: str) -> None:
    assert processor_error(props) == message


def test_alarm_tells_the_topic_and_the_dashboard_still_builds() -> None:
    from aws_cdk import aws_sns as sns

    stack = new_stack()
    topic = sns.Topic(stack, "Topic")
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        failure_destination="s3",
        alarm_topic=topic,
        dashboard_enabled=True,
    )
    template = Template.from_stack(stack)
    topic_ref = {"Ref": stack.resolve(stack.get_logical_id(topic.node.default_child))}
    (alarm,) = [
        r["Properties"]
        for r in template.find_resources("AWS::CloudWatch::Alarm").values()
        if r["Properties"]["MetricName"] == "OnFailureDestinationDeliveredEventCount"
    ]
    assert alarm["AlarmActions"] == [topic_ref] and alarm["OKActions"] == [topic_ref]
    assert len(template.find_resources("AWS::CloudWatch::Dashboard")) == 1
