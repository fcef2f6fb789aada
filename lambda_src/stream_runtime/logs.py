"""Logging for the runtime: stdlib ``logging`` only, one JSON line per batch.

The level comes from the ``LOG_LEVEL`` environment variable (default ``INFO``),
the variable Lambda's own advanced logging controls set. Per-record lines are
logged at DEBUG only, so a 1000-record batch costs one line at INFO.
"""

from __future__ import annotations

import logging
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Sequence
    from typing import Any

    from .records import ChangeRecord

LOGGER_NAME = "stream_runtime"


def level_from_env(default: str = "INFO") -> int:
    """The level named by ``LOG_LEVEL`` (e.g. ``debug``, ``WARNING``), or ``default``.

    An unknown name falls back to ``default`` rather than failing the cold
    start: a typo in an environment variable should not take the function down.
    """
    name = os.environ.get("LOG_LEVEL", "").strip().upper() or default
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.getLevelName(default)


def get_logger(name: str) -> logging.Logger:
    """A stdlib logger whose level follows ``LOG_LEVEL``; for handlers' own logs."""
    logger = logging.getLogger(name)
    logger.setLevel(level_from_env())
    return logger


logger = get_logger(LOGGER_NAME)


def to_json(fields: dict[str, Any]) -> str:
    """One compact JSON object; Decimal, bytes, sets and datetimes become strings."""
    # Imported on first use: the Lambda runtime has already loaded json, and a
    # fresh interpreter that only imports the handler need not pay for it.
    import json

    return json.dumps(fields, default=str, separators=(",", ":"))


def batch_summary(
    records: Sequence[ChangeRecord], processed: int, failures: int, context: Any
) -> dict[str, Any]:
    """The fields of the per-batch line: counts, failures and the oldest record's age."""
    counts: dict[str, int] = {}
    oldest = None
    for record in records:
        name = record.event_name or "<none>"
        counts[name] = counts.get(name, 0) + 1
        created = record.raw["dynamodb"].get("ApproximateCreationDateTime")
        if created is not None and (oldest is None or created < oldest):
            oldest = created
    summary: dict[str, Any] = {
        "message": "stream batch",
        "records": len(records),
        "event_names": counts,
        "processed": processed,
        "failures": failures,
        # Iterator age as this function sees it: how far behind the stream we are.
        "oldest_record_age_s": None if oldest is None else round(max(0.0, time.time() - oldest), 3),
    }
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        summary["request_id"] = request_id
    return summary


def log_batch(records: Sequence[ChangeRecord], processed: int, failures: int, context: Any) -> None:
    """Log the batch summary at INFO, as one JSON line."""
    if logger.isEnabledFor(logging.INFO):
        logger.info(to_json(batch_summary(records, processed, failures, context)))


def log_failure(record: ChangeRecord, exc: BaseException, reported: int) -> None:
    """Log a failed record once, at ERROR, with its identity and the traceback."""
    try:
        keys: Any = record.keys
    except Exception:  # the keys themselves may be what failed to decode
        keys = record.raw["dynamodb"].get("Keys")
    logger.error(
        to_json(
            {
                "message": "record failed",
                "event_id": record.event_id,
                "event_name": record.event_name,
                "sequence_number": record.sequence_number,
                "keys": keys,
                "error": f"{type(exc).__name__}: {exc}",
                # This record and every later one go back to Lambda as failures.
                "reported_failures": reported,
            }
        ),
        exc_info=exc,
    )


def log_record(record: ChangeRecord) -> None:
    """Per-record detail; the caller checks DEBUG is enabled once per batch."""
    logger.debug(
        to_json(
            {
                "message": "record",
                "event_id": record.event_id,
                "event_name": record.event_name,
                "sequence_number": record.sequence_number,
                "keys": record.raw["dynamodb"].get("Keys"),
            }
        )
    )
