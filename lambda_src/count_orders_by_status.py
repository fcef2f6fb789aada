"""CountOrdersByStatus: a tumbling-window sample handler for the Orders table's stream.

Deploy it with a tumbling window on the mapping, e.g.
``StreamProcessor(handler_dir=..., handler="count_orders_by_status.handler",
tumbling_window=Duration.minutes(1))``: Lambda then hands every invocation
the window's running counts, and the handler logs one line per window with
the number of orders that reached each status during it::

    {"message": "orders by status", "window_start": "2026-12-01T10:00:00+00:00",
     "window_end": "2026-12-01T10:01:00+00:00", "shard_id": "...",
     "counts": {"PLACED": 12, "SHIPPED": 9}, "terminated_early": false}

An order is counted when it is inserted, and when a change gives it a new
status; removals and changes that keep the status are not counted.
"""

from __future__ import annotations

from stream_runtime import ChangeRecord, StreamRouter, Window, get_logger
from stream_runtime.logs import to_json

logger = get_logger("orders")
router = StreamRouter()


@router.on_window
def count(state: dict, record: ChangeRecord) -> dict:
    """Add one to the count of the status the record gives its order."""
    new = record.new_image
    if new is None or "status" not in new:
        return state
    old = record.old_image
    status = new["status"]
    if old is not None and old.get("status") == status:
        return state
    state[status] = state.get(status, 0) + 1
    return state


@router.on_window_end
def report(window: Window, state: dict) -> None:
    """Log the window's counts, once, when Lambda closes the window."""
    logger.info(
        to_json(
            {
                "message": "orders by status",
                "window_start": window.start.isoformat(),
                "window_end": window.end.isoformat(),
                "shard_id": window.shard_id,
                "counts": dict(sorted(state.items())),
                "terminated_early": window.terminated_early,
            }
        )
    )


def handler(event: dict, context: object) -> dict:
    """Lambda entry point: fold the batch into the window's state; report a closed window."""
    return router.handler(event, context)
