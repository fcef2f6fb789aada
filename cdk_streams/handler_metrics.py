"""The bundled handler runtime's per-batch metrics, as CloudWatch metrics for dashboards and alarms.

The runtime (``stream_runtime.metrics``) writes one Embedded Metric Format line
per batch: ``Records``, ``Failures``, ``ProcessingLag`` and ``Duration`` in the
namespace named by the function's ``STREAM_METRICS_NAMESPACE`` (default
``CdkStreams``), with the dimension ``FunctionName``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_

# The runtime's own names: the metrics read here are the ones it writes.
from stream_runtime.metrics import DEFAULT_NAMESPACE, DIMENSION, NAMESPACE_ENV, PROCESSING_LAG

__all__ = [
    "DEFAULT_NAMESPACE",
    "DIMENSION",
    "NAMESPACE_ENV",
    "PROCESSING_LAG",
    "namespace_of",
    "processing_lag",
]


def namespace_of(environment: Mapping[str, str] | None) -> str:
    """The namespace the runtime writes to, given the function's environment."""
    return (environment or {}).get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


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
    return cloudwatch.Metric(
        **{
            "namespace": namespace,
            "metric_name": PROCESSING_LAG,
            "dimensions_map": {DIMENSION: function.function_name},
            "period": Duration.minutes(1),
            "statistic": "Maximum",
            "unit": cloudwatch.Unit.MILLISECONDS,
            **options,
        }
    )
