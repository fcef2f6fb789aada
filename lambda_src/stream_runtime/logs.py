"""Logging for the runtime: stdlib ``logging`` only, one JSON line per batch.

The level comes from the ``LOG_LEVEL`` environment variable (default ``INFO``),
the variable Lambda's own advanced logging controls set. Per-record lines are
logged at DEBUG only, so a 1000-record batch costs one line at INFO.

``logging`` itself is imported when the first logger is first used, not when
the handler module is imported: it costs ~15 ms in a fresh interpreter (most
of a handler's import time), and the Lambda runtime has it loaded anyway.
"""

from __future__ import annotations

import os
import time

from .records import ChangeRecord, KinesisPayloadError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    import logging
    from collections.abc import Callable, Sequence
    from typing import Any

LOGGER_NAME = "stream_runtime"

# logging's numeric levels (fixed since Python 2), so the router can ask
# isEnabledFor without importing logging itself.
DEBUG = 10
INFO = 20


def level_from_env(default: str = "INFO") -> int:
    """The level named by ``LOG_LEVEL`` (e.g. ``debug``, ``WARNING``), or ``default``.

    An unknown name falls back to ``default`` rather than failing the cold
    start: a typo in an environment variable should not take the function down.
    """
    import logging

    name = os.environ.get("LOG_LEVEL", "").strip().upper() or default
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.getLevelName(default)


class LazyLogger:
    """Stands in for ``logging.getLogger(name)`` and imports ``logging`` on first use.

    Every attribute read or set goes to the real :class:`logging.Logger`
    (``info``, ``setLevel``, ``level``, ``handlers``...), so use it as one.
    The real logger's level is set from ``LOG_LEVEL`` when it is first used.
    Calls reach the real logger's methods directly, so log records name the
    caller's file and line, not this class.
    """

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        """:param name: the logger's name, as for ``logging.getLogger``."""
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_logger", None)

    @property
    def logger(self) -> logging.Logger:
        """The real logger (created, and ``logging`` imported, on first use)."""
        logger = self._logger
        if logger is None:
            import logging

            logger = logging.getLogger(self.name)
            logger.setLevel(level_from_env())
            object.__setattr__(self, "_logger", logger)
        return logger

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.logger, attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self.logger, attr, value)

    def __repr__(self) -> str:
        return f"<LazyLogger {self.name}>"


def get_logger(name: str) -> LazyLogger:
    """A logger whose level follows ``LOG_LEVEL``; for handlers' own logs.

    Cheap to call at import time: it returns a :class:`LazyLogger`, which
    behaves as the stdlib logger of that name and imports ``logging`` only
    when first used.
    """
    return LazyLogger(name)


logger = get_logger(LOGGER_NAME)


def to_json(fields: dict[str, Any]) -> str:
    """One compact JSON object; Decimal, bytes, sets and datetimes become strings."""
    # Imported on first use: the Lambda runtime has already loaded json, and a
    # fresh interpreter that only imports the handler need not pay for it.
    import json

    return json.dumps(fields, default=str, separators=(",", ":"))


def batch_summary(
    records: Sequence[ChangeRecord],
    context: Any,
    oldest: float | None,
    *,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The fields of the per-batch line known before routing: counts and the oldest record's age.

    :param oldest: the oldest record's creation time, epoch seconds
        (:func:`~stream_runtime.records.oldest_creation_seconds`).
    :param clock: wall clock in epoch seconds, for ``oldest_record_age_s``.
        @default ``time.time``; the router passes its own, which tests fake.

    The router adds ``processed`` and ``failures`` when the batch is done. A
    Kinesis record whose payload is not a DynamoDB change counts as
    ``<undecodable>``.
    """
    from collections import Counter
    from operator import attrgetter

    counts: dict[Any, int]
    try:
        # Counted in C: the usual batch, where every event name can be read.
        counts = Counter(map(attrgetter("event_name"), records))
    except (KinesisPayloadError, TypeError):  # TypeError: an unhashable name
        counts = {}
        for record in records:
            try:
                name = record.event_name
            except KinesisPayloadError:
                # The log line must never be what fails a batch: a malformed
                # record is counted here and fails in its route, in order.
                name = "<undecodable>"
            if name is not None and not isinstance(name, str):
                name = "<invalid>"
            counts[name] = counts.get(name, 0) + 1
    for name in [name for name in counts if name is not None and not isinstance(name, str)]:
        counts["<invalid>"] = counts.get("<invalid>", 0) + counts.pop(name)
    summary: dict[str, Any] = {
        "message": "stream batch",
        "records": len(records),
        "event_names": {"<none>" if name is None else name: n for name, n in counts.items()},
        # Iterator age as this function sees it: how far behind the stream we are.
        "oldest_record_age_s": None if oldest is None else round(max(0.0, clock() - oldest), 3),
    }
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        summary["request_id"] = request_id
    return summary


def log_batch(summary: dict[str, Any], processed: int, failures: int) -> None:
    """Log the batch summary at INFO, as one JSON line, with the batch's outcome."""
    summary["processed"] = processed
    summary["failures"] = failures
    logger.info(to_json(summary))


def log_failure(record: ChangeRecord, exc: BaseException, reported: int) -> None:
    """Log a failed record once, at ERROR, with its identity and the traceback."""
    fields = record._log_fields()
    try:
        keys: Any = record.keys
    except Exception:  # the keys themselves may be what failed to decode: log them raw
        keys = fields["keys"]
    fields["keys"] = keys
    logger.error(
        to_json(
            {
                "message": "record failed",
                **fields,
                "error": f"{type(exc).__name__}: {exc}",
                # This record and every later one go back to Lambda as failures.
                "reported_failures": reported,
            }
        ),
        exc_info=exc,
    )


def log_record(record: ChangeRecord) -> None:
    """Per-record detail; the caller checks DEBUG is enabled once per batch."""
    logger.debug(to_json({"message": "record", **record._log_fields()}))


def log_state_rejected(exc: BaseException, reported: int) -> None:
    """Log, at ERROR, a window state that cannot go back to Lambda."""
    logger.error(
        to_json(
            {
                "message": "window state rejected",
                "error": f"{type(exc).__name__}: {exc}",
                # The whole batch goes back to Lambda as failures, with the old state.
                "reported_failures": reported,
            }
        )
    )


def log_window_end_failure(window: Any, exc: BaseException) -> None:
    """Log, at ERROR, a window finaliser that raised (the invocation then fails)."""
    logger.error(
        to_json(
            {
                "message": "window finaliser failed",
                "window_start": window.start.isoformat(),
                "window_end": window.end.isoformat(),
                "shard_id": window.shard_id,
                "error": f"{type(exc).__name__}: {exc}",
            }
        ),
        exc_info=exc,
    )
