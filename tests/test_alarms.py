"""StreamProcessor's alarms: on by default, stable ids, documented thresholds, clear errors."""

from __future__ import annotations

import json
import os

os.environ.setdefault("CDK_VALIDATION", "false")

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from aws_cdk.aws_cloudwatch_actions import SnsAction

from cdk_streams import (
    ALARM_NAMES,
    AlarmThresholds,
    StreamAlarms,
    StreamHandlerCode,
    StreamProcessor,
    StreamsValidationError,
)
from tests.stacks import imported_function, new_stack, orders_table, processor_error

ALARM = "AWS::CloudWatch::Alarm"


#: The alarms of a processor with an on-failure queue (the default).
QUEUE_ALARM_NAMES = tuple(name for name in ALARM_NAMES if name != "OnFailureArchived")


def build(**props) -> tuple[StreamProcessor, cdk.Stack]:
    stack = new_stack()
    if "function" not in props:
        props = {"code": StreamHandlerCode.sample(), **props}
    processor = StreamProcessor(stack, "Processor", table=orders_table(stack).table, **props)
    return processor, stack


@pytest.fixture(scope="module")
def defaults() -> tuple[StreamProcessor, Template]:
    processor, stack = build()
    return processor, Template.from_stack(stack)


def _function_dimension() -> list:
    return [
        {"Name": "FunctionName", "Value": {"Ref": Match.string_like_regexp("^ProcessorFunction")}}
    ]


def _queue_dimension() -> list:
    return [
        {
            "Name": "QueueName",
            "Value": {
                "Fn::GetAtt": [Match.string_like_regexp("^ProcessorDeadLetterQueue"), "QueueName"]
            },
        }
    ]


def test_eight_alarms_with_stable_ids(defaults):
    processor, template = defaults
    template.resource_count_is(ALARM, 8)
    assert processor.alarms is not None
    # Every alarm but the one for an on-failure bucket.
    assert list(processor.alarms.alarms) == list(QUEUE_ALARM_NAMES)
    assert [a.node.path for a in processor.alarms.alarms.values()] == [
        f"Test/Processor/Alarms/{name}" for name in QUEUE_ALARM_NAMES
    ]


def test_iterator_age_alarm_fires_at_a_quarter_of_max_record_age(defaults):
    _, template = defaults
    template.has_resource_properties(
        ALARM,
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "IteratorAge",
            "Dimensions": _function_dimension(),
            "Statistic": "Maximum",
            "Period": 60,
            "Threshold": 15 * 60 * 1000,  # max_record_age 1 h / 4, in ms
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmDescription": Match.string_like_regexp("falling behind"),
        },
    )


def test_record_failures_alarm_pages_on_sustained_failures_only(defaults):
    _, template = defaults
    template.has_resource_properties(
        ALARM,
        {
            # The bundled runtime's EMF line: its namespace and dimension.
            "Namespace": "CdkStreams",
            "MetricName": "Failures",
            "Dimensions": _function_dimension(),
            "Statistic": "Sum",
            "Unit": "Count",
            "Period": 300,
            "Threshold": 0,
            # Failed records in each of 3 five-minute periods: 15 min running, not one blip.
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmDescription": Match.string_like_regexp("batchItemFailures"),
        },
    )


def test_record_failures_alarm_reads_the_functions_metrics_namespace():
    _, stack = build(environment={"STREAM_METRICS_NAMESPACE": "Shop/Orders"})
    Template.from_stack(stack).has_resource_properties(
        ALARM, {"Namespace": "Shop/Orders", "MetricName": "Failures"}
    )


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_any_function_error_or_throttle_alarms(defaults, metric):
    _, template = defaults
    template.has_resource_properties(
        ALARM,
        {
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": _function_dimension(),
            "Statistic": "Sum",
            "Period": 300,
            "Threshold": 0,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def test_any_skipped_batch_alarms(defaults):
    _, template = defaults
    template.has_resource_properties(
        ALARM,
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": _queue_dimension(),
            "Statistic": "Maximum",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


def test_a_skipped_batch_left_six_hours_alarms(defaults):
    _, template = defaults
    template.has_resource_properties(
        ALARM,
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Dimensions": _queue_dimension(),
            "Statistic": "Maximum",
            "Threshold": 6 * 3600,
        },
    )


def test_no_actions_by_default(defaults):
    _, template = defaults
    alarms = template.find_resources(ALARM).values()
    assert len(alarms) == len(QUEUE_ALARM_NAMES) == 8  # every alarm for a queue, by default
    for alarm in alarms:
        assert "AlarmActions" not in alarm["Properties"]
        assert "OKActions" not in alarm["Properties"]


def test_a_topic_hears_alarm_and_ok_other_actions_only_alarm():
    stack = new_stack()
    topic = sns.Topic(stack, "Alerts")
    pager = sns.Topic(stack, "Pager")
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        alarm_topic=topic,
        alarm_actions=[SnsAction(pager)],
        code=StreamHandlerCode.sample(),
    )
    template = Template.from_stack(stack)
    alarms = template.find_resources(ALARM)
    assert len(alarms) == 8
    topic_ref = {"Ref": Match.string_like_regexp("^Alerts")}
    pager_ref = {"Ref": Match.string_like_regexp("^Pager")}
    template.all_resources_properties(
        ALARM, {"AlarmActions": [topic_ref, pager_ref], "OKActions": [topic_ref]}
    )


def test_thresholds_can_be_changed_and_alarms_omitted():
    _, stack = build(
        max_record_age=Duration.minutes(10),
        alarm_thresholds=AlarmThresholds(
            errors=5,
            record_failures=100,
            throttles=2,
            dead_letter_queue_depth=10,
            omit={"DeadLetterQueueAge"},
        ),
    )
    template = Template.from_stack(stack)
    template.resource_count_is(ALARM, 7)
    by_metric = {
        a["Properties"]["MetricName"]: a["Properties"]["Threshold"]
        for a in template.find_resources(ALARM).values()
    }
    assert by_metric == {
        "IteratorAge": 150_000,  # 10 min / 4
        "Errors": 5,
        "Failures": 100,
        "Throttles": 2,
        "DroppedEventCount": 0,
        "DestinationDeliveryFailures": 0,
        "ApproximateNumberOfMessagesVisible": 10,
    }


def test_without_max_record_age_iterator_age_defaults_to_six_hours():
    processor, _ = build(max_record_age=None)
    assert processor.alarms.thresholds.iterator_age.to_seconds() == 6 * 3600


def test_an_explicit_iterator_age_wins():
    processor, _ = build(alarm_thresholds=AlarmThresholds(iterator_age=Duration.minutes(2)))
    assert processor.alarms.thresholds.iterator_age.to_seconds() == 120


@pytest.mark.parametrize(
    "props",
    [{"dead_letter_queue_enabled": False}, {"on_failure": "sns"}],
    ids=["no queue", "on_failure=SnsDlq"],
)
def test_no_queue_alarms_without_an_sqs_queue(props):
    stack = new_stack()
    if props.get("on_failure") == "sns":
        from aws_cdk.aws_lambda_event_sources import SnsDlq

        props = {"on_failure": SnsDlq(sns.Topic(stack, "Failures"))}
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        **props,
    )
    assert list(processor.alarms.alarms) == [
        "IteratorAge",
        "Errors",
        "RecordFailures",
        "Throttles",
        "DroppedEvents",
        "DestinationDeliveryFailures",
    ]
    assert processor.alarms.dead_letter_queue_depth is None
    assert processor.alarms.dead_letter_queue_age is None


def with_own(
    make: Callable[[cdk.Stack], Any],
    on_failure: Callable[[Any], object] = lambda given: given,
    **props: Any,
) -> tuple[cdk.Stack, Any, StreamProcessor]:
    """A processor whose on_failure is built from a destination of the user's own."""
    stack = new_stack()
    destination = make(stack)
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        on_failure=on_failure(destination),
        **props,
    )
    return stack, destination, processor


def own_queue(stack: cdk.Stack) -> sqs.Queue:
    return sqs.Queue(stack, "MyFailures", enforce_ssl=True)


def test_queue_alarms_also_watch_a_queue_passed_as_on_failure():
    stack, queue, processor = with_own(own_queue)
    assert processor.dead_letter_queue is None
    assert processor.on_failure_queue is queue
    assert list(processor.alarms.alarms) == list(QUEUE_ALARM_NAMES)
    dimension = [
        {
            "Name": "QueueName",
            "Value": {"Fn::GetAtt": [Match.string_like_regexp("^MyFailures"), "QueueName"]},
        }
    ]
    template = Template.from_stack(stack)
    for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
        template.has_resource_properties(
            ALARM, {"Namespace": "AWS/SQS", "MetricName": metric, "Dimensions": dimension}
        )


def test_a_queue_wrapped_in_sqs_dlq_is_a_synth_warning_that_can_be_acknowledged():
    from aws_cdk.assertions import Annotations as Found
    from aws_cdk.aws_lambda_event_sources import SqsDlq

    from cdk_streams.processor import SQS_DLQ_WARNING

    warnings = {}
    for case in ("wrapped", "acknowledged", "the queue itself"):
        stack, _, processor = (
            with_own(own_queue) if case == "the queue itself" else with_own(own_queue, SqsDlq)
        )
        if case == "acknowledged":
            cdk.Annotations.of(processor).acknowledge_warning(SQS_DLQ_WARNING)
        found = Found.from_stack(stack).find_warning("*", Match.any_value())
        warnings[case] = [(w.id, w.entry.data) for w in found]
        if case == "wrapped":
            assert processor.on_failure_queue is None
            assert "DeadLetterQueueDepth" not in processor.alarms.alarms
    [(path, message)] = warnings["wrapped"]
    assert path == f"/{stack.stack_name}/Processor"
    assert message == (
        "on_failure=SqsDlq(queue) hides the queue from this construct: there is no "
        "DeadLetterQueueDepth or DeadLetterQueueAge alarm and no queue on the dashboard. "
        "Pass the queue itself (on_failure=queue); it is wrapped in SqsDlq for you. "
        f"[ack: {SQS_DLQ_WARNING}]"
    )
    assert warnings["acknowledged"] == warnings["the queue itself"] == []


def test_alarms_off():
    processor, stack = build(alarms_enabled=False)
    assert processor.alarms is None
    Template.from_stack(stack).resource_count_is(ALARM, 0)


def test_alarms_work_for_an_imported_function():
    stack = new_stack()
    function = imported_function(stack)
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, function=function
    )
    assert processor.alarms is not None
    template = Template.from_stack(stack)
    template.has_resource_properties(
        ALARM,
        {
            "MetricName": "IteratorAge",
            "Dimensions": [{"Name": "FunctionName", "Value": "orders-consumer"}],
        },
    )


def _bare_processor(stack: cdk.Stack, **props) -> StreamProcessor:
    return StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        alarms_enabled=False,
        **props,
    )


def test_standalone_alarms_on_an_s3_destination_alarm_on_archived_batches():
    # The ops-stack pattern: the processor without alarms, StreamAlarms next to it.
    stack = new_stack()
    processor = _bare_processor(stack, failure_destination="s3")
    alarms = StreamAlarms(stack, "Alarms", processor=processor)
    built_in, _ = build(failure_destination="s3")
    assert (
        list(alarms.alarms)
        == list(built_in.alarms.alarms)
        == [
            *(name for name in QUEUE_ALARM_NAMES if not name.startswith("DeadLetterQueue")),
            "OnFailureArchived",
        ]
    )
    assert alarms.on_failure_archived is alarms.alarms["OnFailureArchived"]
    assert processor.on_failure_bucket is processor.failure_archive.bucket
    Template.from_stack(stack).has_resource_properties(
        ALARM,
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "OnFailureDestinationDeliveredEventCount",
            "Statistic": "Sum",
            "Period": 300,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )
    # The description names the bucket (a token) and the way to replay.
    cfn_alarm = alarms.on_failure_archived.node.default_child
    description = json.dumps(stack.resolve(cfn_alarm.alarm_description))
    assert "redrive --from s3://BUCKET/aws/lambda/" in description
    assert "FailureArchiveBucket" in description
    omitted = StreamAlarms(
        stack, "Fewer", processor=processor, thresholds=AlarmThresholds(omit={"OnFailureArchived"})
    )
    assert "OnFailureArchived" not in omitted.alarms and omitted.on_failure_archived is None


def test_a_bucket_passed_as_on_failure_gets_the_archive_alarm_and_a_wrapped_one_a_warning():
    from aws_cdk import aws_s3 as s3
    from aws_cdk.assertions import Annotations as Found
    from aws_cdk.aws_lambda_event_sources import S3OnFailureDestination

    from cdk_streams.processor import S3_DESTINATION_WARNING

    def processor_on(wrap, **props):
        stack, bucket, processor = with_own(
            lambda stack: s3.Bucket(stack, "Failures", enforce_ssl=True), wrap, **props
        )
        warnings = Found.from_stack(stack).find_warning("*", Match.any_value())
        return bucket, processor, [(w.id, w.entry.data) for w in warnings]

    bucket, processor, warnings = processor_on(lambda bucket: bucket)
    assert processor.on_failure_bucket is bucket and warnings == []
    assert "OnFailureArchived" in processor.alarms.alarms
    # Without the mapping's event-count metrics the count does not exist: no alarm.
    _, processor, _ = processor_on(lambda bucket: bucket, event_count_metrics=False)
    assert "OnFailureArchived" not in processor.alarms.alarms
    _, processor, warnings = processor_on(S3OnFailureDestination)
    assert processor.on_failure_bucket is None
    assert "OnFailureArchived" not in processor.alarms.alarms
    assert warnings == [
        (
            f"/{cdk.Stack.of(processor).stack_name}/Processor",
            "on_failure=S3OnFailureDestination(bucket) hides the bucket from this construct: "
            "there is no OnFailureArchived alarm. Pass the bucket itself (on_failure=bucket); "
            f"it is wrapped in S3OnFailureDestination for you. [ack: {S3_DESTINATION_WARNING}]",
        )
    ]


def test_stream_alarms_standalone():
    stack = new_stack()
    processor = _bare_processor(stack, dead_letter_queue_enabled=False, event_count_metrics=False)
    alarms = StreamAlarms(stack, "Alarms", processor=processor)
    assert list(alarms.alarms) == [
        "IteratorAge",
        "Errors",
        "RecordFailures",
        "Throttles",
        "DestinationDeliveryFailures",
    ]
    # A quarter of the processor's 1 h max_record_age, read from the processor.
    assert alarms.thresholds.iterator_age.to_seconds() == 15 * 60
    assert alarms.max_record_age is processor.max_record_age
    assert isinstance(alarms.iterator_age, cloudwatch.Alarm)


def _iterator_age_thresholds(template: Template) -> list[float]:
    return sorted(
        alarm["Properties"]["Threshold"]
        for alarm in template.find_resources(
            ALARM, {"Properties": {"MetricName": "IteratorAge"}}
        ).values()
    )


def test_standalone_alarms_on_a_default_processor_match_the_built_in_ones():
    stack = new_stack()
    table = orders_table(stack).table
    built_in = StreamProcessor(stack, "BuiltIn", table=table, code=StreamHandlerCode.sample())
    bare = StreamProcessor(
        stack, "Bare", table=table, code=StreamHandlerCode.sample(), alarms_enabled=False
    )
    standalone = StreamAlarms(stack, "Alarms", processor=bare)
    assert (
        standalone.thresholds.iterator_age.to_seconds()
        == built_in.alarms.thresholds.iterator_age.to_seconds()
        == 15 * 60
    )
    # Both IteratorAge alarms fire at a quarter of the 1 h max_record_age, in ms.
    assert _iterator_age_thresholds(Template.from_stack(stack)) == [900_000, 900_000]


@pytest.mark.parametrize(
    ("record_age", "expected"),
    [
        (Duration.minutes(10), 150),  # a quarter of it
        (None, 6 * 3600),  # no limit: a quarter of the stream's 24 h retention
    ],
    ids=["10 min", "none"],
)
def test_standalone_alarms_follow_the_processors_max_record_age(record_age, expected):
    stack = new_stack()
    processor = _bare_processor(stack, max_record_age=record_age)
    alarms = StreamAlarms(stack, "Alarms", processor=processor)
    assert alarms.thresholds.iterator_age.to_seconds() == expected


def test_an_explicit_max_record_age_overrides_the_processors():
    stack = new_stack()
    processor = _bare_processor(stack)
    alarms = StreamAlarms(stack, "Alarms", processor=processor, max_record_age=Duration.minutes(20))
    assert alarms.thresholds.iterator_age.to_seconds() == 5 * 60
    assert alarms.max_record_age.to_seconds() == 20 * 60


# -- errors: every path names the construct, the prop, what is allowed, what was given


def _error(**props) -> str:
    with pytest.raises(StreamsValidationError) as caught:
        build(**props)
    return str(caught.value)


HOUSE = re.compile(r"^Test/Processor: .+ must be .+, got .+$", re.DOTALL)

ERRORS = {
    "thresholds of the wrong type": (
        {"alarm_thresholds": {"errors": 1}},
        "Test/Processor: alarm_thresholds must be an AlarmThresholds, got {'errors': 1}",
    ),
    "negative errors": (
        {"alarm_thresholds": AlarmThresholds(errors=-1)},
        "Test/Processor: alarm_thresholds.errors must be a whole number >= 0, got -1",
    ),
    "float record failures": (
        {"alarm_thresholds": AlarmThresholds(record_failures=2.5)},
        "Test/Processor: alarm_thresholds.record_failures must be a whole number >= 0, got 2.5",
    ),
    "float throttles": (
        {"alarm_thresholds": AlarmThresholds(throttles=0.5)},
        "Test/Processor: alarm_thresholds.throttles must be a whole number >= 0, got 0.5",
    ),
    "bool queue depth": (
        {"alarm_thresholds": AlarmThresholds(dead_letter_queue_depth=True)},
        "Test/Processor: alarm_thresholds.dead_letter_queue_depth must be a whole number >= 0, "
        "got True",
    ),
    "iterator age at max_record_age": (
        {"alarm_thresholds": AlarmThresholds(iterator_age=Duration.hours(1))},
        "Test/Processor: alarm_thresholds.iterator_age must be 1..3599 seconds (below "
        "max_record_age: older records are skipped), got 3600 seconds",
    ),
    "iterator age at the stream's retention": (
        {
            "max_record_age": None,
            "alarm_thresholds": AlarmThresholds(iterator_age=Duration.days(1)),
        },
        "Test/Processor: alarm_thresholds.iterator_age must be 1..86399 seconds (below the "
        "stream's 24 h retention), got 86400 seconds",
    ),
    "iterator age not a Duration": (
        {"alarm_thresholds": AlarmThresholds(iterator_age=900)},
        "Test/Processor: alarm_thresholds.iterator_age must be an aws_cdk.Duration, got 900",
    ),
    "iterator age in fractions of a second": (
        {"alarm_thresholds": AlarmThresholds(iterator_age=Duration.millis(1500))},
        "Test/Processor: alarm_thresholds.iterator_age must be a whole number of seconds, "
        "got 1.5 seconds",
    ),
    "queue age None": (
        {"alarm_thresholds": AlarmThresholds(dead_letter_queue_age=None)},
        "Test/Processor: alarm_thresholds.dead_letter_queue_age must be an aws_cdk.Duration "
        "(leave it out with omit={'DeadLetterQueueAge'}), got None",
    ),
    "queue age at retention": (
        {"alarm_thresholds": AlarmThresholds(dead_letter_queue_age=Duration.days(14))},
        "Test/Processor: alarm_thresholds.dead_letter_queue_age must be 60..1209599 seconds "
        "(below the on-failure queue's 14-day retention), got 1209600 seconds",
    ),
    "queue age too short": (
        {"alarm_thresholds": AlarmThresholds(dead_letter_queue_age=Duration.seconds(59))},
        "Test/Processor: alarm_thresholds.dead_letter_queue_age must be 60..1209599 seconds "
        "(below the on-failure queue's 14-day retention), got 59 seconds",
    ),
    "omit an unknown alarm": (
        {"alarm_thresholds": AlarmThresholds(omit={"Lag", "Errors"})},
        "Test/Processor: alarm_thresholds.omit must be alarm ids from IteratorAge, Errors, "
        "RecordFailures, Throttles, DroppedEvents, DestinationDeliveryFailures, "
        "DeadLetterQueueDepth, DeadLetterQueueAge, OnFailureArchived, got Lag",
    ),
    "omit a string": (
        {"alarm_thresholds": AlarmThresholds(omit="Errors")},
        "Test/Processor: alarm_thresholds.omit must be a set of alarm ids, got 'Errors'",
    ),
    "topic as an ARN string": (
        {"alarm_topic": "arn:aws:sns:us-east-1:123456789012:alerts"},
        "Test/Processor: alarm_topic must be an aws_sns.ITopic, "
        "got 'arn:aws:sns:us-east-1:123456789012:alerts'",
    ),
    "actions not a list": (
        {"alarm_actions": "page me"},
        "Test/Processor: alarm_actions must be a list of aws_cloudwatch.IAlarmAction, "
        "got 'page me'",
    ),
    "an action that is not one": (
        {"alarm_actions": [42]},
        "Test/Processor: alarm_actions[0] must be an aws_cloudwatch.IAlarmAction "
        "(e.g. aws_cloudwatch_actions.SnsAction), got 42",
    ),
    "alarm props with alarms off": (
        {
            "alarms_enabled": False,
            "alarm_thresholds": AlarmThresholds(errors=5, iterator_age=Duration.minutes(5)),
            "alarm_actions": [],
        },
        "Test/Processor: alarm_actions, alarm_thresholds must be left unset with "
        "alarms_enabled=False, got alarm_actions=[], alarm_thresholds=AlarmThresholds("
        "iterator_age=Duration.minutes(5), errors=5); to build the alarms yourself, pass these "
        "to StreamAlarms(scope, id, processor=...) instead (alarm_thresholds as thresholds)",
    ),
    "alarms_enabled not a bool": (
        {"alarms_enabled": "yes"},
        "Test/Processor: alarms_enabled must be True or False, got 'yes'",
    ),
    "dashboard_enabled not a bool": (
        {"dashboard_enabled": 1},
        "Test/Processor: dashboard_enabled must be True or False, got 1",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_alarm_props_raise_the_house_message(case):
    props, message = ERRORS[case]
    got = _error(**props)
    assert got == message
    assert HOUSE.match(got)


def test_errors_are_raised_before_anything_is_built():
    stack = new_stack()
    table = orders_table(stack).table
    with pytest.raises(StreamsValidationError):
        StreamProcessor(
            stack, "Processor", table=table, alarm_topic="nope", code=StreamHandlerCode.sample()
        )
    processor = stack.node.find_child("Processor")
    assert [child.node.id for child in processor.node.children] == []


def test_stream_alarms_standalone_errors_name_its_own_path():
    stack = new_stack()
    processor = _bare_processor(stack)
    with pytest.raises(StreamsValidationError) as caught:
        StreamAlarms(
            stack,
            "Alarms",
            processor=processor,
            max_record_age=Duration.minutes(2),
            thresholds=AlarmThresholds(iterator_age=Duration.minutes(2)),
        )
    assert str(caught.value) == (
        "Test/Alarms: thresholds.iterator_age must be 1..119 seconds (below max_record_age: "
        "older records are skipped), got 120 seconds"
    )


STANDALONE_HOUSE = re.compile(r"^Test/Alarms: .+ must be .+, got .+$", re.DOTALL)

STANDALONE_ERRORS = {
    "iterator age above the processor's max_record_age": (
        {},
        {"thresholds": AlarmThresholds(iterator_age=Duration.hours(3))},
        "Test/Alarms: thresholds.iterator_age must be 1..3599 seconds (below max_record_age: "
        "older records are skipped), got 10800 seconds",
    ),
    "iterator age at the processor's max_record_age": (
        {"max_record_age": Duration.minutes(30)},
        {"thresholds": AlarmThresholds(iterator_age=Duration.minutes(30))},
        "Test/Alarms: thresholds.iterator_age must be 1..1799 seconds (below max_record_age: "
        "older records are skipped), got 1800 seconds",
    ),
    "explicit max_record_age out of range": (
        {},
        {"max_record_age": Duration.seconds(30)},
        "Test/Alarms: max_record_age must be 60..604800 seconds, got 30 seconds",
    ),
    "explicit max_record_age not a Duration": (
        {},
        {"max_record_age": 3600},
        "Test/Alarms: max_record_age must be an aws_cdk.Duration, got 3600",
    ),
    "processor without max_record_age": (
        {},
        {"processor": "no-max-record-age"},
        "Test/Alarms: processor must be a StreamProcessor (or an IStreamProcessor), got ",
    ),
}


class _WithoutMaxRecordAge:
    """Every IStreamProcessor member but max_record_age."""

    def __init__(self, processor: StreamProcessor) -> None:
        self._processor = processor

    def __getattr__(self, name: str):
        if name == "max_record_age":
            raise AttributeError(name)
        return getattr(self._processor, name)


@pytest.mark.parametrize("case", list(STANDALONE_ERRORS))
def test_standalone_alarms_refuse_bad_props_with_the_house_message(case):
    processor_props, props, message = STANDALONE_ERRORS[case]
    stack = new_stack()
    processor = _bare_processor(stack, **processor_props)
    if props.get("processor") == "no-max-record-age":
        props = {"processor": _WithoutMaxRecordAge(processor)}
        # Named by its class and the construct path it stands for.
        message += "the _WithoutMaxRecordAge at Test/Processor (it lacks max_record_age)"
    with pytest.raises(StreamsValidationError) as caught:
        StreamAlarms(stack, "Alarms", **{"processor": processor, **props})
    assert str(caught.value) == message
    assert STANDALONE_HOUSE.match(str(caught.value))


def test_a_name_prefix_names_every_alarm_the_processor_makes():
    # A page then says whose consumer is behind, not "Processor-AlarmsIteratorAge1A2B3C".
    processor, stack = build(alarm_name_prefix="orders-cdc", failure_destination="s3")
    names = {
        alarm["Properties"]["AlarmName"]
        for alarm in Template.from_stack(stack).find_resources(ALARM).values()
    }
    expected = {f"orders-cdc-{alarm_id}" for alarm_id in processor.alarms.alarms}
    # No queue alarms with an S3 destination (8 - 2), and the archive alarm (+1).
    assert "orders-cdc-OnFailureArchived" in expected and len(expected) == 7
    assert names == expected
    assert processor.alarms.alarm_name("IteratorAge") == "orders-cdc-IteratorAge"


def test_without_a_prefix_cloudformation_names_the_alarms(defaults):
    _, template = defaults
    assert all("AlarmName" not in a["Properties"] for a in template.find_resources(ALARM).values())


def test_a_standalone_stream_alarms_takes_a_prefix_too():
    stack = new_stack()
    alarms = StreamAlarms(
        stack, "Alarms", processor=_bare_processor(stack), alarm_name_prefix="orders"
    )
    Template.from_stack(stack).has_resource_properties(ALARM, {"AlarmName": "orders-Errors"})
    assert alarms.alarm_name_prefix == "orders"


@pytest.mark.parametrize("prefix", ["", "x" * 201, "two\nlines", 7])
def test_a_bad_name_prefix_is_refused(prefix):
    assert processor_error({"alarm_name_prefix": prefix}) == (
        "Test/Processor: alarm_name_prefix must be 1..200 printable characters (alarm names "
        f"are <prefix>-<alarm id>), got {prefix!r}"
    )


def test_a_name_prefix_without_alarms_is_refused():
    with pytest.raises(StreamsValidationError, match="alarm_name_prefix") as caught:
        build(alarms_enabled=False, alarm_name_prefix="orders")
    assert "with alarms_enabled=False" in str(caught.value)
