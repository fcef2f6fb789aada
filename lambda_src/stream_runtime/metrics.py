"""Batch metrics as CloudWatch Embedded Metric Format (EMF): one stdout line per batch.

Lambda sends a function's stdout to CloudWatch Logs, and CloudWatch turns a
log line that is an EMF document into metrics: no SDK, no API call, no extra
latency. Each batch writes one line with

=====================  ============  ===============================================
metric                 unit          value
=====================  ============  ===============================================
``Records``            Count         records in the batch
``Failures``           Count         records reported in ``batchItemFailures``
``ProcessingLag``      Milliseconds  now minus the oldest record's
                                     ``ApproximateCreationDateTime`` (absent when no
                                     record carries one)
``Duration``           Milliseconds  the router's time for the batch
``DuplicatesSkipped``  Count         records the idempotency guard skipped (only
                                     with a guard)
=====================  ============  ===============================================

in the namespace named by ``STREAM_METRICS_NAMESPACE`` (default
``CdkStreams``), with the dimension ``FunctionName`` (from
``AWS_LAMBDA_FUNCTION_NAME``). ``STREAM_METRICS=off`` turns the line off.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Callable
    from typing import Any

#: The environment variable naming the metrics' namespace.
NAMESPACE_ENV = "STREAM_METRICS_NAMESPACE"
#: The namespace when the variable is unset or empty.
DEFAULT_NAMESPACE = "CdkStreams"
#: ``off`` (or ``false``, ``0``) in this variable turns the metrics line off.
ENABLED_ENV = "STREAM_METRICS"
#: The one dimension, valued with the function's name.
DIMENSION = "FunctionName"
#: The metrics' names.
RECORDS = "Records"
FAILURES = "Failures"
PROCESSING_LAG = "ProcessingLag"
DURATION = "Duration"
DUPLICATES_SKIPPED = "DuplicatesSkipped"

_OFF = frozenset({"off", "false", "0", "no"})


def _stdout_line(line: str) -> None:
    import sys

    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class BatchMetrics:
    """Writes the per-batch EMF line; give one to ``StreamRouter(metrics=...)``.

    :param namespace: @default ``$STREAM_METRICS_NAMESPACE``, else ``CdkStreams``.
    :param function_name: the ``FunctionName`` dimension's value. @default
        ``$AWS_LAMBDA_FUNCTION_NAME``, else the Lambda context's
        ``function_name``, else ``local``.
    :param clock: wall clock in epoch seconds, for the lag and the timestamp.
        @default ``time.time``; tests pass a fake one.
    :param timer: a monotonic clock in seconds, for the duration. @default
        ``time.perf_counter``.
    :param write: takes each line. @default writes it to stdout.
    """

    __slots__ = ("_write", "clock", "function_name", "namespace", "timer")

    def __init__(
        self,
        *,
        namespace: str | None = None,
        function_name: str | None = None,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
        write: Callable[[str], None] = _stdout_line,
    ) -> None:
        self.namespace = namespace or os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
        self.function_name = function_name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.clock = clock
        self.timer = timer
        self._write = write

    @staticmethod
    def enabled_by_env() -> bool:
        """False when ``STREAM_METRICS`` says ``off`` (or ``false``, ``0``, ``no``)."""
        return os.environ.get(ENABLED_ENV, "").strip().lower() not in _OFF

    def document(
        self,
        *,
        records: int,
        failures: int,
        oldest_created: float | None,
        duration_ms: float,
        skipped: int | None = None,
        context: Any = None,
    ) -> dict[str, Any]:
        """The EMF document for one batch (see the module's table)."""
        now = self.clock()
        function_name = self.function_name or getattr(context, "function_name", None) or "local"
        values: dict[str, float] = {RECORDS: records, FAILURES: failures}
        units = {RECORDS: "Count", FAILURES: "Count"}
        if oldest_created is not None:
            values[PROCESSING_LAG] = round(max(0.0, now - oldest_created) * 1000, 3)
            units[PROCESSING_LAG] = "Milliseconds"
        values[DURATION] = round(duration_ms, 3)
        units[DURATION] = "Milliseconds"
        if skipped is not None:
            values[DUPLICATES_SKIPPED] = skipped
            units[DUPLICATES_SKIPPED] = "Count"
        return {
            "_aws": {
                "Timestamp": int(now * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [[DIMENSION]],
                        "Metrics": [{"Name": name, "Unit": units[name]} for name in values],
                    }
                ],
            },
            DIMENSION: function_name,
            **values,
        }

    def emit(self, **fields: Any) -> None:
        """Write one batch's line; takes the arguments of :meth:`document`.

        Never raises: a metrics line must not be what fails a batch.
        """
        try:
            import json

            self._write(json.dumps(self.document(**fields), separators=(",", ":")))
        except Exception as exc:  # reported on stderr, never raised
            import sys

            sys.stderr.write(f"stream_runtime: could not write the metrics line: {exc!r}\n")


__all__ = [
    "DEFAULT_NAMESPACE",
    "DIMENSION",
    "DUPLICATES_SKIPPED",
    "DURATION",
    "ENABLED_ENV",
    "FAILURES",
    "NAMESPACE_ENV",
    "PROCESSING_LAG",
    "RECORDS",
    "BatchMetrics",
]
