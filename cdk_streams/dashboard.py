"""A CloudWatch dashboard that follows one change from table write to handler.

Rows, left to right the way a change travels:

1. table writes (``SuccessfulRequestLatency`` SampleCount per write operation)
   and stream records read (``ReturnedRecordsCount`` on the table's stream);
2. the processor's ``IteratorAge`` (with the alarm threshold drawn in),
   ``Invocations`` / ``Errors`` / ``Throttles``, and ``Duration``;
3. the on-failure queue's depth and oldest message (when the processor made
   the queue), and the state of every processor alarm.

Use :class:`StreamDashboard` for a dashboard of its own, or
:func:`pipeline_widgets` to add the same rows to a dashboard you already have.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Fn
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from . import validation as v
from .alarms import lambda_metric, queue_metric

if TYPE_CHECKING:
    from .processor import StreamProcessor

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
    processor: StreamProcessor, table: dynamodb.ITable | None = None
) -> list[list[cloudwatch.IWidget]]:
    """The dashboard rows for ``processor`` (and ``table``, @default its own table)."""
    table = table or processor.table
    function = processor.function
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

    alarms = processor.alarms
    annotations: list[cloudwatch.HorizontalAnnotation] = []
    threshold = _iterator_age_threshold_ms(processor)
    if threshold is not None:
        annotations.append(cloudwatch.HorizontalAnnotation(value=threshold, label="alarm"))
    rows.append(
        [
            cloudwatch.GraphWidget(
                title="Iterator age (ms, maximum)",
                left=[lambda_metric(function, "IteratorAge", "Maximum", _PERIOD)],
                left_annotations=annotations or None,
                width=_WIDTH // 3,
            ),
            cloudwatch.GraphWidget(
                title="Invocations, errors and throttles",
                left=[
                    lambda_metric(function, name, "Sum", _PERIOD)
                    for name in ("Invocations", "Errors", "Throttles")
                ],
                width=_WIDTH // 3,
            ),
            cloudwatch.GraphWidget(
                title="Duration (ms)",
                left=[
                    lambda_metric(function, "Duration", statistic, _PERIOD)
                    for statistic in ("p50", "p99", "Maximum")
                ],
                width=_WIDTH // 3,
            ),
        ]
    )

    last: list[cloudwatch.IWidget] = []
    queue = processor.dead_letter_queue
    if queue is not None:
        last.append(
            cloudwatch.GraphWidget(
                title="On-failure queue (skipped batches)",
                left=[
                    queue_metric(
                        queue, "ApproximateNumberOfMessagesVisible", "Maximum", _QUEUE_PERIOD
                    )
                ],
                right=[
                    queue_metric(queue, "ApproximateAgeOfOldestMessage", "Maximum", _QUEUE_PERIOD)
                ],
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


def _iterator_age_threshold_ms(processor: StreamProcessor) -> float | None:
    alarms = processor.alarms
    if alarms is None or alarms.iterator_age is None or alarms.thresholds.iterator_age is None:
        return None
    return alarms.thresholds.iterator_age.to_seconds() * 1000


class StreamDashboard(Construct):
    """A CloudWatch dashboard (construct id ``Dashboard``) for one stream pipeline.

    :param processor: the :class:`StreamProcessor` to show.
    :param table: the table whose writes to show. @default - the processor's table.
    :param dashboard_name: letters, digits, ``-`` and ``_``, up to 255.
        @default - a name CloudFormation generates, so two stacks never clash.

    Exposes ``dashboard`` (the ``aws_cloudwatch.Dashboard``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        processor: StreamProcessor,
        table: dynamodb.ITable | None = None,
        dashboard_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        from .processor import StreamProcessor  # the processor imports this module

        _check(self, processor, table, dashboard_name, StreamProcessor)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            widgets=pipeline_widgets(processor, table),
        )


def _check(
    scope: Construct, processor: Any, table: Any, dashboard_name: Any, processor_type: type
) -> None:
    path = scope.node.path
    if not isinstance(processor, processor_type):
        raise v.StreamsValidationError(
            f"{path}: processor must be a StreamProcessor, got {processor!r}"
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
