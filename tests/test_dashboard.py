"""StreamDashboard: one dashboard following a change from table write to skipped batch."""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template

from cdk_streams import (
    AlarmThresholds,
    StreamAlarms,
    StreamDashboard,
    StreamHandlerCode,
    StreamProcessor,
    StreamsValidationError,
    pipeline_widgets,
)
from tests.stacks import new_stack, orders_table

DASHBOARD = "AWS::CloudWatch::Dashboard"


def _body(template: Template) -> dict[str, Any]:
    """The dashboard body as JSON, with each token replaced by a placeholder."""
    (dashboard,) = template.find_resources(DASHBOARD).values()
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return json.loads(text)


def _metrics(body: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Widget title -> its metric arrays."""
    return {
        widget["properties"].get("title", ""): widget["properties"].get("metrics", [])
        for widget in body["widgets"]
    }


@pytest.fixture(scope="module")
def built() -> tuple[StreamProcessor, dict[str, Any]]:
    stack = new_stack()
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        dashboard_enabled=True,
        code=StreamHandlerCode.sample(),
    )
    return processor, _body(Template.from_stack(stack))


def test_one_dashboard_under_a_stable_id(built):
    processor, _ = built
    assert processor.dashboard is not None
    assert processor.dashboard.node.path == "Test/Processor/Dashboard"
    assert processor.dashboard.dashboard.node.path == "Test/Processor/Dashboard/Dashboard"


def test_the_widgets_follow_the_pipeline(built):
    _, body = built
    titles = [w["properties"].get("title") for w in body["widgets"]]
    assert titles == [
        "Table writes (requests)",
        "Stream records read",
        "Iterator age (ms, maximum)",
        "Invocations, errors and throttles",
        "Handler: records and failed records (5 min)",
        "Duration (ms)",
        "Mapping: records polled, filtered out, invoked",
        "Records dropped or sent on failure",
        "On-failure queue (skipped batches)",
        "Alarms",
    ]
    # Rows of 24 units: 12 + 12, 6 + 6 + 6 + 6, 12 + 12, 12 + 12.
    assert [w["width"] for w in body["widgets"]] == [12, 12, 6, 6, 6, 6, 12, 12, 12, 12]


def test_table_writes_per_operation(built):
    _, body = built
    writes = _metrics(body)["Table writes (requests)"]
    assert [m[:2] for m in writes] == [["AWS/DynamoDB", "SuccessfulRequestLatency"]] * 5
    operations = [m[m.index("Operation") + 1] for m in writes]
    assert operations == [
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    ]
    assert all(m[-1]["stat"] == "SampleCount" for m in writes)


def test_stream_records_on_the_tables_stream_label(built):
    _, body = built
    (records,) = _metrics(body)["Stream records read"]
    assert records[:2] == ["AWS/DynamoDB", "ReturnedRecordsCount"]
    assert "StreamLabel" in records and "GetRecords" in records


def test_iterator_age_shows_the_alarm_threshold(built):
    _, body = built
    widget = next(w for w in body["widgets"] if w["properties"].get("title", "").startswith("Iter"))
    assert widget["properties"]["metrics"][0][:2] == ["AWS/Lambda", "IteratorAge"]
    # The IteratorAge alarm hands its own threshold line to the widget.
    assert widget["properties"]["annotations"]["horizontal"] == [
        {
            "value": 900_000,
            "label": "IteratorAge > 900000 for 3 datapoints within 3 minutes",
            "yAxis": "left",
        }
    ]


def test_invocations_errors_and_queue(built):
    _, body = built
    metrics = _metrics(body)
    assert [m[1] for m in metrics["Invocations, errors and throttles"]] == [
        "Invocations",
        "Errors",
        "Throttles",
    ]
    assert [m[1] for m in metrics["On-failure queue (skipped batches)"]] == [
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
    ]


def test_alarm_status_lists_every_alarm(built):
    processor, body = built
    status = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert len(status["properties"]["alarms"]) == len(processor.alarms.alarms) == 8


def test_handler_records_and_failures_with_the_alarm_threshold(built):
    _, body = built
    widget = next(w for w in body["widgets"] if w["properties"]["title"].startswith("Handler"))
    records, failures = widget["properties"]["metrics"]
    # The bundled runtime's EMF line: its namespace, metric names and FunctionName dimension.
    assert records[:3] == ["CdkStreams", "Records", "FunctionName"]
    assert failures[:3] == ["CdkStreams", "Failures", "FunctionName"]
    assert records[-1]["stat"] == failures[-1]["stat"] == "Sum"
    # 5 minutes, the RecordFailures alarm's period: CDK leaves out the widget's default, 300 s.
    assert "period" not in records[-1] and "period" not in failures[-1]
    assert widget["properties"]["annotations"]["horizontal"] == [
        {
            "value": 0,
            "label": "Failures > 0 for 3 datapoints within 15 minutes",
            "yAxis": "left",
        }
    ]


def test_no_dashboard_by_default():
    stack = new_stack()
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )
    assert processor.dashboard is None
    Template.from_stack(stack).resource_count_is(DASHBOARD, 0)


def test_standalone_with_a_name_and_no_queue_or_alarms():
    stack = new_stack()
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        dead_letter_queue_enabled=False,
        alarms_enabled=False,
        code=StreamHandlerCode.sample(),
    )
    StreamDashboard(stack, "Ops", processor=processor, dashboard_name="orders-cdc")
    template = Template.from_stack(stack)
    template.has_resource_properties(DASHBOARD, {"DashboardName": "orders-cdc"})
    body = _body(template)
    assert len(body["widgets"]) == 8  # no queue row, no alarm status
    iterator = next(w for w in body["widgets"] if w["properties"]["title"].startswith("Iter"))
    assert "annotations" not in iterator["properties"]


def test_pipeline_widgets_for_your_own_dashboard():
    stack = new_stack()
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )
    rows = pipeline_widgets(processor)
    assert [len(row) for row in rows] == [2, 4, 2, 2]
    dashboard = cloudwatch.Dashboard(stack, "Mine")
    for row in rows:
        dashboard.add_widgets(*row)
    Template.from_stack(stack).resource_count_is(DASHBOARD, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"processor": "orders"},
            "Test/Ops: processor must be a StreamProcessor (or an IStreamProcessor), got 'orders'",
        ),
        (
            {"table": "Orders"},
            "Test/Ops: table must be an aws_dynamodb.ITable, got 'Orders'",
        ),
        (
            {"dashboard_name": "orders cdc"},
            "Test/Ops: dashboard_name must be 1..255 letters, digits, '-' or '_', got 'orders cdc'",
        ),
        (
            {"dashboard_name": "x" * 256},
            "Test/Ops: dashboard_name must be 1..255 letters, digits, '-' or '_', "
            f"got '{'x' * 256}'",
        ),
        (
            {"alarms": "Orders alarms"},
            "Test/Ops: alarms must be a StreamAlarms (or an IStreamAlarms), got 'Orders alarms'",
        ),
    ],
    ids=["processor", "table", "name with a space", "name too long", "alarms"],
)
def test_bad_props_raise_the_house_message(kwargs, message):
    stack = new_stack()
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )
    with pytest.raises(StreamsValidationError) as caught:
        StreamDashboard(stack, "Ops", **{"processor": processor, **kwargs})
    assert str(caught.value) == message


def test_alarms_hand_their_thresholds_to_the_widgets_that_chart_them(built):
    _, body = built
    by_title = {w["properties"].get("title"): w["properties"] for w in body["widgets"]}
    lost = by_title["Records dropped or sent on failure"]
    assert [m[1] for m in lost["metrics"]] == [
        "DroppedEventCount",
        "OnFailureDestinationDeliveredEventCount",
        "DestinationDeliveryFailures",
    ]
    assert [a["label"].split(" ")[0] for a in lost["annotations"]["horizontal"]] == [
        "DroppedEventCount",
        "DestinationDeliveryFailures",
    ]
    queue = by_title["On-failure queue (skipped batches)"]["annotations"]["horizontal"]
    assert [(a["yAxis"], a["value"]) for a in queue] == [("left", 0), ("right", 6 * 3600)]
    errors = by_title["Invocations, errors and throttles"]["annotations"]["horizontal"]
    assert [a["label"].split(" ")[0] for a in errors] == ["Errors", "Throttles"]


def test_mapping_counts_per_mapping(built):
    _, body = built
    counts = _metrics(body)["Mapping: records polled, filtered out, invoked"]
    assert [m[1] for m in counts] == [
        "PolledEventCount",
        "FilteredOutEventCount",
        "InvokedEventCount",
        "FailedInvokeEventCount",
    ]
    assert all(m[2] == "EventSourceMappingUUID" for m in counts)


def _standalone(**dashboard_props: Any) -> tuple[StreamAlarms, dict[str, Any]]:
    """A processor without alarms in one stack; its alarms and dashboard in another."""
    app = cdk.App()
    orders = new_stack(app, "Orders")
    processor = StreamProcessor(
        orders,
        "Processor",
        table=orders_table(orders).table,
        alarms_enabled=False,
        code=StreamHandlerCode.sample(),
    )
    ops = new_stack(app, "Ops")
    alarms = StreamAlarms(
        ops,
        "Alarms",
        processor=processor,
        thresholds=AlarmThresholds(iterator_age=Duration.minutes(5)),
    )
    StreamDashboard(ops, "Dashboard", processor=processor, alarms=alarms, **dashboard_props)
    return alarms, _body(Template.from_stack(ops))


def test_a_dashboard_shows_alarms_from_another_stack():
    alarms, body = _standalone()
    by_title = {w["properties"].get("title"): w["properties"] for w in body["widgets"]}
    # The alarms' thresholds on the widgets that chart their metrics ...
    assert by_title["Iterator age (ms, maximum)"]["annotations"]["horizontal"] == [
        {
            "value": 300_000,
            "label": "IteratorAge > 300000 for 3 datapoints within 3 minutes",
            "yAxis": "left",
        }
    ]
    errors = by_title["Invocations, errors and throttles"]["annotations"]["horizontal"]
    assert [a["label"].split(" ")[0] for a in errors] == ["Errors", "Throttles"]
    handler = by_title["Handler: records and failed records (5 min)"]["annotations"]
    assert [a["label"].split(" ")[0] for a in handler["horizontal"]] == ["Failures"]
    lost = by_title["Records dropped or sent on failure"]["annotations"]["horizontal"]
    assert [a["label"].split(" ")[0] for a in lost] == [
        "DroppedEventCount",
        "DestinationDeliveryFailures",
    ]
    queue = by_title["On-failure queue (skipped batches)"]["annotations"]["horizontal"]
    assert [(a["yAxis"], a["value"]) for a in queue] == [("left", 0), ("right", 6 * 3600)]
    # ... and the alarm-status row with every one of them.
    status = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert status["properties"]["title"] == "Alarms"
    assert len(status["properties"]["alarms"]) == len(alarms.alarms) == 8


def test_pipeline_widgets_take_alarms_too():
    app = cdk.App()
    stack = new_stack(app)
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        alarms_enabled=False,
        code=StreamHandlerCode.sample(),
    )
    without = pipeline_widgets(processor)
    alarms = StreamAlarms(stack, "Alarms", processor=processor)
    with_alarms = pipeline_widgets(processor, alarms=alarms)
    assert [len(row) for row in without] == [2, 4, 2, 1]  # the queue, no alarm status
    assert [len(row) for row in with_alarms] == [2, 4, 2, 2]
    assert isinstance(with_alarms[-1][-1], cloudwatch.AlarmStatusWidget)


def test_given_alarms_replace_the_processors_own():
    stack = new_stack()
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )
    mine = StreamAlarms(
        stack,
        "MyAlarms",
        processor=processor,
        thresholds=AlarmThresholds(iterator_age=Duration.minutes(1), omit={"Throttles"}),
    )
    StreamDashboard(stack, "Ops", processor=processor, alarms=mine)
    template = Template.from_stack(stack)
    dashboards = template.find_resources(DASHBOARD)
    (body,) = [_body_of(d["Properties"]["DashboardBody"]) for d in dashboards.values()]
    iterator = next(w for w in body["widgets"] if w["properties"]["title"].startswith("Iter"))
    assert [a["value"] for a in iterator["properties"]["annotations"]["horizontal"]] == [60_000]
    status = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert len(status["properties"]["alarms"]) == len(mine.alarms) == 7


def _body_of(body: Any) -> dict[str, Any]:
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))
