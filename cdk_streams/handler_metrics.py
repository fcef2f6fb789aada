"""The bundled handler runtime's per-batch metrics, as CloudWatch metrics for dashboards and alarms.

The runtime (``stream_runtime.metrics``) writes one Embedded Metric Format line
per batch: ``Records``, ``Failures``, ``ProcessingLag`` and ``Duration`` in the
namespace named by the function's ``STREAM_METRICS_NAMESPACE`` (default
``CdkStreams``), with the dimension ``FunctionName``.

Only a function that runs the bundled runtime's ``StreamRouter`` (the code
``StreamProcessor`` builds, or ``StreamHandlerCode.from_directory`` for your own
function) writes that line, and not with ``STREAM_METRICS=off``. A metric here
for any other function has no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_

# The runtime's own names: the metrics read here are the ones it writes.
from stream_runtime.metrics import (
    DEFAULT_NAMESPACE,
    DIMENSION,
    FAILURES,
    NAMESPACE_ENV,
    PROCESSING_LAG,
    RECORDS,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "DIMENSION",
    "FAILURES",
    "NAMESPACE_ENV",
    "PROCESSING_LAG",
    "RECORDS",
    "namespace_of",
    "processing_lag",
    "record_failures",
    "records",
]

_MINUTE = Duration.minutes(1)
_FIVE_MINUTES = Duration.minutes(5)


def namespace_of(environment: Mapping[str, str] | None) -> str:
    """The namespace the runtime writes to, given the function's environment."""
    return (environment or {}).get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


def _runtime_metric(
    function: lambda_.IFunction,
    namespace: str,
    metric_name: str,
    *,
    statistic: str,
    period: Duration,
    unit: cloudwatch.Unit,
    options: Mapping[str, Any],
) -> cloudwatch.Metric:
    """One metric of the runtime's EMF line; ``options`` (MetricOptions) win over the rest."""
    return cloudwatch.Metric(
        **{
            "namespace": namespace,
            "metric_name": metric_name,
            "dimensions_map": {DIMENSION: function.function_name},
            "period": period,
            "statistic": statistic,
            "unit": unit,
            **options,
        }
    )


def processing_lag(
    function: lambda_.IFunction, namespace: str, **options: Any
) -> cloudwatch.Metric:
    """``ProcessingLag``: now minus the oldest record's creation time, per batch, in ms.

    Unlike the function's ``IteratorAge``, it is measured by the handler when
    the batch starts, so it includes the time Lambda spent retrying it.

    :param options: ``aws_cloudwatch.MetricOptions`` keywords (``period``,
        ``statistic``, ``label``, ``color`` ...) over the defaults: Maximum (the
        batch furthest behind) per 1 minute.
    """
    return _runtime_metric(
        function,
        namespace,
        PROCESSING_LAG,
        statistic="Maximum",
        period=_MINUTE,
        unit=cloudwatch.Unit.MILLISECONDS,
        options=options,
    )


def records(function: lambda_.IFunction, namespace: str, **options: Any) -> cloudwatch.Metric:
    """``Records``: records the handler was given; Sum per 5 minutes.

    :param options: ``aws_cloudwatch.MetricOptions`` keywords over the defaults.
    """
    return _count(function, namespace, RECORDS, options)


def record_failures(
    function: lambda_.IFunction, namespace: str, **options: Any
) -> cloudwatch.Metric:
    """``Failures``: records the handler reported in ``batchItemFailures``; Sum per 5 minutes.

    With partial-batch responses a failing record is reported, not raised, so
    Lambda's ``Errors`` stays 0 while these records are retried. The runtime
    reports the first failed record and every later one of the batch (they
    are retried from there), so one bad record can count many times.

    :param options: ``aws_cloudwatch.MetricOptions`` keywords over the defaults.
    """
    return _count(function, namespace, FAILURES, options)


def _count(
    function: lambda_.IFunction, namespace: str, name: str, options: dict[str, Any]
) -> cloudwatch.Metric:
    """A count the runtime emits per batch, summed per 5 minutes (the alarms' period)."""
    return _runtime_metric(
        function,
        namespace,
        name,
        statistic="Sum",
        period=_FIVE_MINUTES,
        unit=cloudwatch.Unit.COUNT,
        options=options,
    )
