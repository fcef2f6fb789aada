"""The shapes the monitoring constructs depend on, instead of concrete classes.

:class:`StreamAlarms` and :class:`StreamDashboard` need a stream processor's
metrics, table, function, on-failure queue and maximum record age (and the
dashboard a set of alarms), not the :class:`StreamProcessor` and
:class:`StreamAlarms` classes themselves. Depending on these Protocols keeps the
modules free of an import cycle and lets you alarm on or chart any consumer
that offers the same methods (a hand-built function and mapping, say).

Both are ``runtime_checkable``: ``isinstance`` checks that the attributes and
methods exist, not their types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Node


@runtime_checkable
class IStreamAlarms(Protocol):
    """What a dashboard needs from a set of stream alarms."""

    @property
    def alarms(self) -> Mapping[str, cloudwatch.Alarm]:
        """Alarm id -> alarm, only those created."""
        ...

    def add_alarm_action(self, *actions: cloudwatch.IAlarmAction) -> None:
        """Run ``actions`` when any of the alarms goes to ALARM."""
        ...

    def annotations(self, *alarm_ids: str) -> list[cloudwatch.HorizontalAnnotation]:
        """The threshold lines of these alarms (those created), for a graph widget."""
        ...


@runtime_checkable
class IStreamProcessor(Protocol):
    """A Lambda consumer of one table's change stream, and its metrics.

    Every ``metric_*`` method takes the keyword arguments of
    ``aws_cloudwatch.MetricOptions`` (``period``, ``statistic``, ``label`` ...).
    """

    @property
    def node(self) -> Node: ...

    @property
    def table(self) -> dynamodb.ITable: ...

    @property
    def function(self) -> lambda_.IFunction: ...

    @property
    def on_failure_queue(self) -> sqs.IQueue | None:
        """The on-failure SQS queue, when it is known at synth; else None."""
        ...

    @property
    def on_failure_bucket(self) -> s3.IBucket | None:
        """The on-failure S3 bucket, when it is known at synth; else None."""
        ...

    @property
    def alarms(self) -> IStreamAlarms | None: ...

    @property
    def max_record_age(self) -> Duration | None:
        """The mapping's maximum record age (older records are skipped); None for no limit."""
        ...

    @property
    def event_count_metrics(self) -> bool:
        """Whether the mapping emits its event-count metrics (dropped, filtered ...)."""
        ...

    def metric_iterator_age(self, **options: object) -> cloudwatch.Metric: ...

    def metric_invocations(self, **options: object) -> cloudwatch.Metric: ...

    def metric_errors(self, **options: object) -> cloudwatch.Metric: ...

    def metric_throttles(self, **options: object) -> cloudwatch.Metric: ...

    def metric_duration(self, **options: object) -> cloudwatch.Metric: ...

    def metric_destination_delivery_failures(self, **options: object) -> cloudwatch.Metric: ...

    def metric_polled_events(self, **options: object) -> cloudwatch.Metric: ...

    def metric_filtered_out_events(self, **options: object) -> cloudwatch.Metric: ...

    def metric_invoked_events(self, **options: object) -> cloudwatch.Metric: ...

    def metric_failed_invoke_events(self, **options: object) -> cloudwatch.Metric: ...

    def metric_dropped_events(self, **options: object) -> cloudwatch.Metric: ...

    def metric_on_failure_delivered_events(self, **options: object) -> cloudwatch.Metric: ...

    def metric_on_failure_queue_depth(self, **options: object) -> cloudwatch.Metric: ...

    def metric_on_failure_queue_age(self, **options: object) -> cloudwatch.Metric: ...

    # The bundled runtime's per-batch EMF line (no data for a function without it).

    def metric_processing_lag(self, **options: object) -> cloudwatch.Metric: ...

    def metric_records(self, **options: object) -> cloudwatch.Metric: ...

    def metric_record_failures(self, **options: object) -> cloudwatch.Metric: ...


def lacking(value: object, protocol: type) -> str:
    """What an error says ``value`` lacks of ``protocol``: `` (it lacks x, y)``, or ""
    when it has every member (or is not meant to be one at all, like None)."""
    if value is None:
        return ""
    members = sorted(name for name in vars(protocol) if not name.startswith("_"))
    missing = [name for name in members if not hasattr(value, name)]
    if not missing or len(missing) == len(members):
        return ""
    if len(missing) > _LACKING_SHOWN:
        # Lacking most members, it is some other kind of object: a full list is noise.
        shown = ", ".join(missing[:_LACKING_SHOWN])
        return f" (it lacks {shown} and {len(missing) - _LACKING_SHOWN} more)"
    return f" (it lacks {', '.join(missing)})"


#: Members a lacking() message names before it says "and N more".
_LACKING_SHOWN = 3
