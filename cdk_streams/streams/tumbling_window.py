"""Lambda's tumbling-window rules for one shard of a stream mapping.

With ``TumblingWindowInSeconds`` set, Lambda keeps a ``state`` per shard and
window, hands it to each invocation and takes the new one from the response:

* a window is aligned to the epoch: it starts at
  ``floor(arrival / seconds) * seconds`` and lasts ``seconds``; a record
  belongs to the window of its arrival time in the stream
  (``ApproximateCreationDateTime``, Kinesis ``approximateArrivalTimestamp``);
* a batch never spans two windows;
* the event carries ``window`` (``{"start", "end"}``, ISO 8601 UTC),
  ``state``, ``shardId``, ``eventSourceARN``, ``isFinalInvokeForWindow`` and
  ``isWindowTerminatedEarly``;
* the response must carry ``state`` (a JSON object); a response without it is
  a failed invocation;
* the state is at most 1 MB per shard; a larger one ends the window early;
* when the window has ended, a final invocation (``isFinalInvokeForWindow``,
  no records) hands over the final state, which is then dropped. It is
  retried until it succeeds: processing of the shard waits for it.

Everything here is clock-free: the caller passes ``now`` (epoch seconds), so
the same rules run on the wall clock and on a virtual one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The handler runtime checks the state it returns against the same limit.
from stream_runtime.windows import MAX_STATE_BYTES, check_state
from stream_runtime.windows import WindowStateError as _StateCheckFailed

from .on_failure import iso_timestamp
from .settings import TUMBLING_WINDOW_SECONDS

__all__ = ["MAX_STATE_BYTES", "ShardWindows", "StateTooLarge", "Window", "WindowStateError"]

#: The response key (and event key) of the window's state.
STATE_KEY = "state"


class WindowStateError(ValueError):
    """A windowed invocation's response carries no usable ``state``: the invocation failed."""


class StateTooLarge(WindowStateError):
    """The returned state is over :data:`MAX_STATE_BYTES`: the window ends early."""


@dataclass(frozen=True, order=True)
class Window:
    """One tumbling window: epoch seconds, start included, end excluded."""

    start: float
    end: float

    def as_event(self) -> dict[str, str]:
        """The event's ``window`` member: ``{"start": "...Z", "end": "...Z"}``."""
        return {"start": iso(self.start), "end": iso(self.end)}

    def ended(self, now: float) -> bool:
        """Whether no record arriving at ``now`` or later can belong to this window."""
        return now >= self.end


def iso(epoch: float) -> str:
    """Epoch seconds as Lambda writes window bounds: ``2020-07-30T17:00:00Z``."""
    return iso_timestamp(epoch, millis=False)


def _check_seconds(seconds: float) -> None:
    # The mapping's 0 means no window at all: a window itself is never 0 s long.
    high = TUMBLING_WINDOW_SECONDS[1]
    if not 0 < seconds <= high:
        raise ValueError(f"a tumbling window must be 1..{high} seconds, got {seconds}")


def window_of(arrival: float, seconds: float) -> Window:
    """The window a record that arrived at ``arrival`` (epoch seconds) belongs to."""
    _check_seconds(seconds)
    start = math.floor(arrival / seconds) * seconds
    return Window(float(start), float(start + seconds))


def split_by_window(
    records: Sequence[dict[str, Any]],
    arrival: Callable[[Mapping[str, Any]], float | None],
    seconds: float,
    *,
    now: float,
) -> list[tuple[Window, list[dict[str, Any]]]]:
    """Cut a batch into runs of consecutive records of one window, in order.

    A record without an arrival time belongs to the window of ``now``.
    """
    runs: list[tuple[Window, list[dict[str, Any]]]] = []
    for record in records:
        at = arrival(record)
        window = window_of(now if at is None else at, seconds)
        if runs and runs[-1][0] == window:
            runs[-1][1].append(record)
        else:
            runs.append((window, [record]))
    return runs


def response_state(response: object) -> dict[str, Any]:
    """The state a windowed invocation returned.

    :raises WindowStateError: the response is not an object with a ``state``
        object (a failed invocation, as Lambda treats it).
    :raises StateTooLarge: the state is over 1 MB.
    """
    if not isinstance(response, Mapping) or STATE_KEY not in response:
        raise WindowStateError(
            "the response has no 'state': with a tumbling window the function must return "
            f'{{"state": {{...}}, "batchItemFailures": [...]}}, got {_brief(response)}'
        )
    state = response[STATE_KEY]
    if not isinstance(state, Mapping):
        raise WindowStateError(
            f"'state' must be a JSON object, got {type(state).__name__}: {_brief(state)}"
        )
    try:
        check_state(dict(state))
    except _StateCheckFailed as error:
        if error.size is not None and error.size > MAX_STATE_BYTES:
            raise StateTooLarge(f"{error}; the window ends early") from None
        raise WindowStateError(str(error)) from None
    return dict(state)


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ShardWindows:
    """The open window and its state, for one shard of one mapping.

    :param seconds: the mapping's ``tumbling_window``.
    :param shard_id: the shard (the event's ``shardId``).
    :param event_source_arn: the stream (the event's ``eventSourceARN``).
    """

    def __init__(self, seconds: float, shard_id: str, event_source_arn: str) -> None:
        _check_seconds(seconds)
        self.seconds = seconds
        self.shard_id = shard_id
        self.event_source_arn = event_source_arn
        #: The window whose state is held, or None between windows.
        self.open: Window | None = None
        #: The state the next invocation of the open window receives.
        self.state: dict[str, Any] = {}
        #: Whether the open window has taken a state from any response yet.
        self.has_state = False
        #: Set by :meth:`take` when the last response's state was over 1 MB.
        self.too_large = False
        #: Why responses were refused, in order (for logs and tests).
        self.errors: list[str] = []

    def enter(self, window: Window) -> None:
        """Hold the state of ``window`` (fresh), which must be the open one or follow it."""
        if self.open != window:
            self.open = window
            self.state = {}
            self.has_state = False

    def event(
        self,
        records: Sequence[dict[str, Any]],
        *,
        final: bool = False,
        terminated_early: bool = False,
    ) -> dict[str, Any]:
        """The invocation event for the open window, as Lambda builds it."""
        if self.open is None:
            raise RuntimeError("no window is open")
        return {
            "Records": list(records),
            "window": self.open.as_event(),
            "state": copy.deepcopy(self.state),
            "shardId": self.shard_id,
            "eventSourceARN": self.event_source_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": terminated_early,
        }

    def take(self, response: object, failed_from: int | None) -> int | None:
        """Keep the state of a normal response; return where the batch failed.

        ``failed_from`` is what the partial batch rule made of the response.
        The returned state is kept even when the response reports failed
        records: it is the function's account of what it processed. A
        response without a valid state fails the whole batch (0).
        """
        self.too_large = False
        try:
            state = response_state(response)
        except StateTooLarge as error:
            self.too_large = True
            self.errors.append(str(error))
            return 0
        except WindowStateError as error:
            self.errors.append(str(error))
            return 0
        self.state = state
        self.has_state = True
        return failed_from

    def restart(self) -> None:
        """Continue the open window with a fresh state (after ending it early)."""
        self.state = {}
        self.has_state = False
        self.too_large = False

    def close(self) -> None:
        """Drop the open window and its state (after its final invocation)."""
        self.open = None
        self.state = {}
        self.has_state = False
        self.too_large = False

    def due(self, now: float) -> bool:
        """Whether the open window has ended by ``now`` and waits for its final invocation."""
        return self.open is not None and self.open.ended(now)
