"""A CloudWatch dashboard that follows one change from table write to handler.

Rows, left to right the way a change travels:

1. table writes (``SuccessfulRequestLatency`` SampleCount per write operation)
   and stream records read (``ReturnedRecordsCount`` on the table's stream);
2. the processor's ``IteratorAge``, ``Invocations`` / ``Errors`` /
   ``Throttles``, the records its handler was given and reported failed (the
   bundled runtime's ``Records`` / ``Failures``), and ``Duration``;
3. the mapping's own counts (records polled, filtered out, invoked, failed;
   only with the processor's ``event_count_metrics``) and the records lost or
   skipped (dropped, sent on failure, failed deliveries);
4. the on-failure queue's depth and oldest message (when the queue is known),
   and the state of every alarm.

Each alarm draws its threshold on the widget that charts its metric
(``Alarm.to_annotation()``, as cdk-monitoring-constructs does). The alarms are
the processor's own (``processor.alarms``) unless you pass others, such as a
:class:`~cdk_streams.alarms.StreamAlarms` built in another stack. Every metric
comes from the processor's ``metric_*()`` methods, so any
:class:`~cdk_streams.interfaces.IStreamProcessor` can be charted.

Use :class:`StreamDashboard` for a dashboard of its own, or
:func:`pipeline_widgets` to add the same rows to a dashboard you already have.
"""

from __future__ import annotations

import re
from typing import Any, Never

from aws_cdk import Duration, Fn
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from . import validation as v
from .alarms import (
    DEAD_LETTER_QUEUE_AGE,
    DEAD_LETTER_QUEUE_DEPTH,
    DESTINATION_DELIVERY_FAILURES,
    DROPPED_EVENTS,
    ERRORS,
    ITERATOR_AGE,
    RECORD_FAILURES,
    THROTTLES,
)
from .interfaces import IStreamAlarms, IStreamProcessor, lacking
from .prop_types import reject_unknown

#: The write operations that put changes on a stream.
WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
_PERIOD = Duration.minutes(1)
_QUEUE_PERIOD = Duration.minutes(5)
_WIDTH = 24  # a dashboard row is 24 units wide
_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def _table_metric(
    table: dynamodb.ITable, metric_name: str, statistic: str, label: str, **dimensions: str
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/DynamoDB",
        metric_name=metric_name,
        dimensions_map={"TableName": table.table_name, **dimensions},
        statistic=statistic,
        period=_PERIOD,
        label=label,
    )


def pipeline_widgets(
    processor: IStreamProcessor,
    table: dynamodb.ITable | None = None,
    *,
    alarms: IStreamAlarms | None = None,
) -> list[list[cloudwatch.IWidget]]:
    """The dashboard rows for ``processor``.

    :param table: the table whose writes to show. @default - the processor's table.
    :param alarms: the alarms whose thresholds and states to show. @default -
        ``processor.alarms`` (none when the processor has none): pass a
        :class:`StreamAlarms` built elsewhere, e.g. in another stack.
    """
    table = table or processor.table
    if alarms is None:
        alarms = processor.alarms
    rows: list[list[cloudwatch.IWidget]] = []

    stream_metrics: list[cloudwatch.IMetric] = []
    stream_arn = getattr(table, "table_stream_arn", None)
    if stream_arn:
        # The stream label is the ARN's last part:
        # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
        stream_metrics.append(
            _table_metric(
                table,
                "ReturnedRecordsCount",
                "Sum",
                "Stream records read",
                Operation="GetRecords",
                StreamLabel=Fn.select(3, Fn.split("/", stream_arn)),
            )
        )
    rows.append(
        [
            cloudwatch.GraphWidget(
                title="Table writes (requests)",
                left=[
                    _table_metric(
                        table, "SuccessfulRequestLatency", "SampleCount", op, Operation=op
                    )
                    for op in WRITE_OPERATIONS
                ],
                width=_WIDTH // 2,
            ),
            cloudwatch.GraphWidget(
                title="Stream records read",
                left=stream_metrics,
                width=_WIDTH // 2,
            ),
        ]
    )

    def annotations(*alarm_ids: str) -> list[cloudwatch.HorizontalAnnotation] | None:
        # An alarm's threshold drawn on its metric's graph shows how close the metric runs to it.
        if alarms is None:
            return None
        return alarms.annotations(*alarm_ids) or None

    rows.append(
        [
            cloudwatch.GraphWidget(
                title="Iterator age (ms, maximum)",
                left=[processor.metric_iterator_age(period=_PERIOD)],
                left_annotations=annotations(ITERATOR_AGE),
                width=_WIDTH // 4,
            ),
            cloudwatch.GraphWidget(
                title="Invocations, errors and throttles",
                left=[
                    processor.metric_invocations(period=_PERIOD),
                    processor.metric_errors(period=_PERIOD),
                    processor.metric_throttles(period=_PERIOD),
                ],
                left_annotations=annotations(ERRORS, THROTTLES),
                width=_WIDTH // 4,
            ),
            cloudwatch.GraphWidget(
                # Per 5 minutes, the RecordFailures alarm's period, so its line is comparable.
                title="Handler: records and failed records (5 min)",
                left=[
                    processor.metric_records(period=_QUEUE_PERIOD),
                    processor.metric_record_failures(period=_QUEUE_PERIOD),
                ],
                left_annotations=annotations(RECORD_FAILURES),
                width=_WIDTH // 4,
            ),
            cloudwatch.GraphWidget(
                title="Duration (ms)",
                left=[
                    processor.metric_duration(period=_PERIOD, statistic=statistic)
                    for statistic in ("p50", "p99", "Maximum")
                ],
                width=_WIDTH // 4,
            ),
        ]
    )

    lost = [processor.metric_destination_delivery_failures(period=_QUEUE_PERIOD)]
    if processor.event_count_metrics:
        lost[:0] = [
            processor.metric_dropped_events(period=_QUEUE_PERIOD),
            processor.metric_on_failure_delivered_events(period=_QUEUE_PERIOD),
        ]
        rows.append(
            [
                cloudwatch.GraphWidget(
                    title="Mapping: records polled, filtered out, invoked",
                    left=[
                        processor.metric_polled_events(period=_QUEUE_PERIOD),
                        processor.metric_filtered_out_events(period=_QUEUE_PERIOD),
                        processor.metric_invoked_events(period=_QUEUE_PERIOD),
                        processor.metric_failed_invoke_events(period=_QUEUE_PERIOD),
                    ],
                    width=_WIDTH // 2,
                ),
                cloudwatch.GraphWidget(
                    title="Records dropped or sent on failure",
                    left=lost,
                    left_annotations=annotations(DROPPED_EVENTS, DESTINATION_DELIVERY_FAILURES),
                    width=_WIDTH // 2,
                ),
            ]
        )
    else:
        rows.append(
            [
                cloudwatch.GraphWidget(
                    title="Records dropped or sent on failure",
                    left=lost,
                    left_annotations=annotations(DESTINATION_DELIVERY_FAILURES),
                    width=_WIDTH,
                )
            ]
        )

    last: list[cloudwatch.IWidget] = []
    if processor.on_failure_queue is not None:
        last.append(
            cloudwatch.GraphWidget(
                title="On-failure queue (skipped batches)",
                left=[processor.metric_on_failure_queue_depth(period=_QUEUE_PERIOD)],
                left_annotations=annotations(DEAD_LETTER_QUEUE_DEPTH),
                right=[processor.metric_on_failure_queue_age(period=_QUEUE_PERIOD)],
                right_annotations=annotations(DEAD_LETTER_QUEUE_AGE),
                width=_WIDTH // 2,
            )
        )
    if alarms is not None and alarms.alarms:
        last.append(
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=list(alarms.alarms.values()),
                width=_WIDTH // 2 if last else _WIDTH,
            )
        )
    if last:
        rows.append(last)
    return rows


class StreamDashboard(Construct):
    """A CloudWatch dashboard (construct id ``Dashboard``) for one stream pipeline.

    :param processor: the :class:`StreamProcessor` to show (or any
        :class:`~cdk_streams.interfaces.IStreamProcessor`).
    :param table: the table whose writes to show. @default - the processor's table.
    :param alarms: the alarms whose thresholds are drawn on the graphs and
        whose states fill the last row: a :class:`StreamAlarms` (or any
        :class:`~cdk_streams.interfaces.IStreamAlarms`). @default - the
        processor's own ``alarms``, because those are the ones it built; pass
        a standalone ``StreamAlarms(scope, id, processor=...)`` (say, in an
        operations stack) when the processor has ``alarms_enabled=False``.
    :param dashboard_name: letters, digits, ``-`` and ``_``, up to 255.
        @default - a name CloudFormation generates, so two stacks never clash.

    Exposes ``dashboard`` (the ``aws_cloudwatch.Dashboard``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        processor: IStreamProcessor,
        table: dynamodb.ITable | None = None,
        alarms: IStreamAlarms | None = None,
        dashboard_name: str | None = None,
        **unknown: Never,
    ) -> None:
        super().__init__(scope, id)
        reject_unknown(self, unknown)
        _check(self, processor, table, alarms, dashboard_name)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            widgets=pipeline_widgets(processor, table, alarms=alarms),
        )


def _check(scope: Construct, processor: Any, table: Any, alarms: Any, dashboard_name: Any) -> None:
    path = scope.node.path
    if not isinstance(processor, IStreamProcessor):
        raise v.StreamsValidationError(
            f"{path}: processor must be a StreamProcessor (or an IStreamProcessor), "
            f"got {v.described(processor)}{lacking(processor, IStreamProcessor)}"
        )
    if alarms is not None and not isinstance(alarms, IStreamAlarms):
        raise v.StreamsValidationError(
            f"{path}: alarms must be a StreamAlarms (or an IStreamAlarms), got "
            f"{v.described(alarms)}{lacking(alarms, IStreamAlarms)}"
        )
    if table is not None and not hasattr(table, "table_name"):
        raise v.StreamsValidationError(
            f"{path}: table must be an aws_dynamodb.ITable, got {table!r}"
        )
    if dashboard_name is not None and not (
        isinstance(dashboard_name, str) and _DASHBOARD_NAME.match(dashboard_name)
    ):
        raise v.StreamsValidationError(
            f"{path}: dashboard_name must be 1..255 letters, digits, '-' or '_', "
            f"got {dashboard_name!r}"
        )
