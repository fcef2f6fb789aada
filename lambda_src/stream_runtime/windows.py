"""Tumbling windows: the window fields of a Lambda stream event, and the state's limits.

With ``TumblingWindowInSeconds`` on the event-source mapping, Lambda adds to
every event the window the records belong to, the state the function returned
last time for that window (``{}`` when the window opens), and two flags:

- ``isFinalInvokeForWindow``: the window is over; this invocation (often with
  no records) hands over the final state. Lambda then drops the state.
- ``isWindowTerminatedEarly``: the window ended before its time because the
  state grew past Lambda's limit (1 MB per shard); the window then goes on
  with a fresh state.

The function must answer with a ``state`` (Lambda counts a response without
one as a failed invocation) and may report ``batchItemFailures`` as usual.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    from datetime import datetime
    from typing import Any

#: Lambda keeps at most 1 MB of state per shard.
MAX_STATE_BYTES = 1024 * 1024


class WindowEventError(ValueError):
    """A tumbling-window event is malformed, or the router cannot handle it.

    Raised by the router before any record runs, so the invocation fails as a
    whole and Lambda retries it with the same window and state: no record is
    dropped, none is half-counted.
    """


class WindowStateError(ValueError):
    """The state a window aggregator returned cannot go back to Lambda.

    It is not a JSON object, or its JSON is larger than Lambda's 1 MB limit.
    Raised by the router after the batch ran, instead of answering: the
    invocation fails, so Lambda retries the batch with the state it had
    before, and every record of it is processed again (none is dropped).

    :ivar size: the state's size in bytes as JSON, when it could be encoded.
    """

    def __init__(self, message: str, size: int | None = None) -> None:
        self.size = size
        super().__init__(message)


class Window:
    """The tumbling window an invocation belongs to, as Lambda described it.

    :ivar start: the window's start, a timezone-aware UTC ``datetime``.
    :ivar end: the window's end (exclusive).
    :ivar state: the state Lambda handed in: what the aggregator returned for
        this window so far, ``{}`` when the window opens.
    :ivar is_final: ``isFinalInvokeForWindow``: the window is over and
        ``state`` is its final value.
    :ivar terminated_early: ``isWindowTerminatedEarly``: the window was cut
        short because its state outgrew Lambda's limit; it goes on with a
        fresh state.
    :ivar shard_id: the shard whose records these are (``shardId``).
    :ivar event_source_arn: the stream's ARN (the event's ``eventSourceARN``).
    """

    __slots__ = (
        "end",
        "event_source_arn",
        "is_final",
        "shard_id",
        "start",
        "state",
        "terminated_early",
    )

    def __init__(
        self,
        *,
        start: datetime,
        end: datetime,
        state: dict[str, Any],
        is_final: bool = False,
        terminated_early: bool = False,
        shard_id: str | None = None,
        event_source_arn: str | None = None,
    ) -> None:
        self.start = start
        self.end = end
        self.state = state
        self.is_final = is_final
        self.terminated_early = terminated_early
        self.shard_id = shard_id
        self.event_source_arn = event_source_arn

    @property
    def ends(self) -> bool:
        """True when this invocation closes the window (final, or terminated early)."""
        return self.is_final or self.terminated_early

    def __repr__(self) -> str:
        return (
            f"Window(start={self.start.isoformat()}, end={self.end.isoformat()}, "
            f"shard_id={self.shard_id!r}, is_final={self.is_final}, "
            f"terminated_early={self.terminated_early}, state keys={len(self.state)})"
        )


def _time(event: dict[str, Any], field: str) -> datetime:
    from datetime import UTC, datetime

    value = event["window"].get(field)
    if not isinstance(value, str):
        raise WindowEventError(
            f"tumbling-window event: window.{field} must be an ISO-8601 time string, "
            f"got {value!r:.80}"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise WindowEventError(
            f"tumbling-window event: window.{field} must be an ISO-8601 time string, "
            f"got {value!r:.80}"
        ) from None
    # Lambda writes UTC with a "Z"; a time without a zone is read as UTC too.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _flag(event: dict[str, Any], field: str) -> bool:
    value = event.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise WindowEventError(
            f"tumbling-window event: {field} must be true or false, got {value!r:.80}"
        )
    return value


def window_of(event: dict[str, Any]) -> Window | None:
    """The event's tumbling window, or None when the event has no ``window`` field.

    A ``state`` that is missing or null is read as ``{}`` (a window's first
    invocation).

    :raises WindowEventError: ``window`` is not an object with ``start`` and
        ``end`` ISO-8601 times (start before end), ``state`` is not an
        object, or a flag is not a boolean.
    """
    if "window" not in event:
        return None
    raw = event["window"]
    if not isinstance(raw, dict):
        raise WindowEventError(
            f"tumbling-window event: window must be an object with start and end, got {raw!r:.80}"
        )
    start, end = _time(event, "start"), _time(event, "end")
    if end <= start:
        raise WindowEventError(
            f"tumbling-window event: window.end must be after window.start, got "
            f"start={raw['start']!r} end={raw['end']!r}"
        )
    state = event.get("state")
    if state is None:
        state = {}
    elif not isinstance(state, dict):
        raise WindowEventError(
            f"tumbling-window event: state must be a JSON object, got {state!r:.80}"
        )
    shard_id = event.get("shardId")
    arn = event.get("eventSourceARN")
    return Window(
        start=start,
        end=end,
        state=state,
        is_final=_flag(event, "isFinalInvokeForWindow"),
        terminated_early=_flag(event, "isWindowTerminatedEarly"),
        shard_id=shard_id if isinstance(shard_id, str) else None,
        event_source_arn=arn if isinstance(arn, str) else None,
    )


def check_state(state: Any, limit: int = MAX_STATE_BYTES) -> int:
    """Check that ``state`` can go back to Lambda; return its size in bytes as JSON.

    :raises WindowStateError: not a dict, not JSON-serialisable (a ``Decimal``
        for example: store ``str(value)`` to keep it exact), or larger than
        ``limit`` bytes.
    """
    if not isinstance(state, dict):
        raise WindowStateError(
            "the window aggregator must return the new state as a dict (a JSON object), "
            f"got {type(state).__name__}: {state!r:.80}"
        )
    import json

    try:
        encoded = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise WindowStateError(
            f"the window state is not JSON ({exc}); keep str, int, float, bool, None, "
            "lists and dicts with string keys in it (a Decimal as str(value) stays exact)"
        ) from None
    size = len(encoded.encode())
    if size > limit:
        raise WindowStateError(
            f"the window state is {size} bytes as JSON, over Lambda's limit of {limit} bytes "
            "per shard; keep aggregates (counts, sums), not records, or shorten the window",
            size,
        )
    return size


__all__ = [
    "MAX_STATE_BYTES",
    "Window",
    "WindowEventError",
    "WindowStateError",
    "check_state",
    "window_of",
]
