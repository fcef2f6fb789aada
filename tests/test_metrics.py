"""Monitoring the CDK way: metric_*() methods, the mapping's EventCount metrics, alarms on
records lost without a trace, add_alarm_action, and the IStreamProcessor Protocol."""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import ast
from pathlib import Path

import pytest
from aws_cdk import Duration
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from aws_cdk.aws_cloudwatch_actions import SnsAction

from cdk_streams import (
    IStreamAlarms,
    IStreamProcessor,
    StreamHandlerCode,
    StreamProcessor,
    StreamsValidationError,
)
from tests.stacks import new_stack, only, orders_table

ALARM = "AWS::CloudWatch::Alarm"
PACKAGE = Path(__file__).resolve().parent.parent / "cdk_streams"


@pytest.fixture(scope="module")
def built():
    stack = new_stack()
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )
    pager = sns.Topic(stack, "Pager")
    processor.alarms.add_alarm_action(SnsAction(pager))
    return processor, stack, Template.from_stack(stack)


FUNCTION_METRICS = {
    "metric_iterator_age": ("IteratorAge", "Maximum", 60),
    "metric_invocations": ("Invocations", "Sum", 60),
    "metric_errors": ("Errors", "Sum", 300),
    "metric_throttles": ("Throttles", "Sum", 300),
    "metric_duration": ("Duration", "p99", 60),
    "metric_destination_delivery_failures": ("DestinationDeliveryFailures", "Sum", 300),
}
MAPPING_METRICS = {
    "metric_polled_events": "PolledEventCount",
    "metric_filtered_out_events": "FilteredOutEventCount",
    "metric_invoked_events": "InvokedEventCount",
    "metric_failed_invoke_events": "FailedInvokeEventCount",
    "metric_dropped_events": "DroppedEventCount",
    "metric_on_failure_delivered_events": "OnFailureDestinationDeliveredEventCount",
}


@pytest.mark.parametrize("method", list(FUNCTION_METRICS))
def test_function_metrics_come_from_the_function(built, method):
    processor, stack, _ = built
    metric = getattr(processor, method)()
    name, statistic, period = FUNCTION_METRICS[method]
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "AWS/Lambda",
        name,
        statistic,
    )
    assert metric.period.to_seconds() == period
    assert stack.resolve(metric.dimensions) == {
        "FunctionName": stack.resolve(processor.function.function_name)
    }


@pytest.mark.parametrize("method", list(MAPPING_METRICS))
def test_mapping_metrics_are_per_mapping_uuid(built, method):
    processor, stack, _ = built
    metric = getattr(processor, method)()
    assert (metric.namespace, metric.metric_name) == ("AWS/Lambda", MAPPING_METRICS[method])
    assert (metric.statistic, metric.period.to_seconds()) == ("Sum", 300)
    assert stack.resolve(metric.dimensions) == {
        "EventSourceMappingUUID": stack.resolve(
            processor.event_source_mapping.event_source_mapping_id
        )
    }


def test_metric_options_override_the_defaults(built):
    processor, _, _ = built
    metric = processor.metric_errors(period=Duration.minutes(1), statistic="Maximum", label="E")
    assert (metric.period.to_seconds(), metric.statistic, metric.label) == (60, "Maximum", "E")


def test_queue_metrics_and_their_absence(built):
    processor, stack, _ = built
    depth = processor.metric_on_failure_queue_depth()
    assert (depth.namespace, depth.metric_name) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert processor.metric_on_failure_queue_age().metric_name == "ApproximateAgeOfOldestMessage"
    other = StreamProcessor(
        stack,
        "NoQueue",
        table=orders_table(stack, "Other").table,
        code=StreamHandlerCode.sample(),
        dead_letter_queue_enabled=False,
        alarms_enabled=False,
    )
    with pytest.raises(StreamsValidationError) as caught:
        other.metric_on_failure_queue_depth()
    assert str(caught.value) == (
        "Test/NoQueue: metric_on_failure_queue_depth() needs an SQS on-failure queue, got none "
        "(dead_letter_queue_enabled=False, or on_failure is not a queue)"
    )


def test_event_count_metrics_are_on_by_default(built):
    _, _, template = built
    mapping = only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["MetricsConfig"] == {"Metrics": ["EventCount"]}


@pytest.mark.parametrize(
    ("metric", "dimension"),
    [
        ("DroppedEventCount", "EventSourceMappingUUID"),
        ("DestinationDeliveryFailures", "FunctionName"),
    ],
)
def test_records_lost_without_a_trace_alarm_at_the_first_one(built, metric, dimension):
    _, _, template = built
    template.has_resource_properties(
        ALARM,
        {
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": Match.any_value()}],
            "Statistic": "Sum",
            "Period": 300,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def test_iterator_age_alarm_treats_an_idle_stream_as_healthy(built):
    _, _, template = built
    template.has_resource_properties(
        ALARM, {"MetricName": "IteratorAge", "TreatMissingData": "notBreaching"}
    )


def test_add_alarm_action_reaches_every_alarm(built):
    processor, _, template = built
    alarms = template.find_resources(ALARM)
    assert len(alarms) == len(processor.alarms.alarms) == 8
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": _ref(template, "Pager")}]


def _ref(template: Template, prefix: str) -> str:
    return next(k for k in template.find_resources("AWS::SNS::Topic") if k.startswith(prefix))


def test_add_alarm_action_refuses_a_topic_given_directly(built):
    processor, stack, _ = built
    with pytest.raises(StreamsValidationError) as caught:
        processor.alarms.add_alarm_action(sns.Topic(stack, "Raw"))
    assert str(caught.value).startswith(
        "Test/Processor/Alarms: add_alarm_action actions[0] must be an "
        "aws_cloudwatch.IAlarmAction (e.g. aws_cloudwatch_actions.SnsAction), got "
    )


def test_without_event_count_metrics_there_is_no_dropped_alarm():
    stack = new_stack()
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        event_count_metrics=False,
    )
    template = Template.from_stack(stack)
    assert "MetricsConfig" not in only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert "DroppedEvents" not in processor.alarms.alarms
    assert "DestinationDeliveryFailures" in processor.alarms.alarms


def test_the_processor_and_its_alarms_are_the_protocols(built):
    processor, _, _ = built
    assert isinstance(processor, IStreamProcessor)
    assert isinstance(processor.alarms, IStreamAlarms)
    assert not isinstance(object(), IStreamProcessor)


@pytest.mark.parametrize("module", ["dashboard.py", "alarms.py", "interfaces.py"])
def test_monitoring_modules_never_import_the_processor(module):
    tree = ast.parse((PACKAGE / module).read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert "processor" not in imported and "cdk_streams.processor" not in imported
