"""StreamRouter: dispatch stream records to routes; report failures in stream order."""

from __future__ import annotations

from . import logs
from .metrics import BatchMetrics
from .records import ChangeRecord, oldest_creation_seconds
from .windows import Window, WindowEventError, WindowStateError, check_state, window_of

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Callable
    from typing import Any

    from .idempotency import IdempotencyGuard

    Route = Callable[[ChangeRecord], Any]
    Fold = Callable[[dict[str, Any], ChangeRecord], dict[str, Any]]
    Finaliser = Callable[[Window, dict[str, Any]], Any]

#: The partial batch response's key that lists the failed records
#: (``FunctionResponseTypes: [ReportBatchItemFailures]``).
FAILURES_KEY = "batchItemFailures"
#: The key of one failed record's sequence number in that list.
IDENTIFIER_KEY = "itemIdentifier"


# A decorator used with parentheses (@router.on_modify()) calls it without the
# function; this default lets it say so instead of Python's "missing argument".
_NOT_GIVEN: Any = None


def _decorated(decorator: str, fn: Any) -> Any:
    """``fn`` when it is a function; else the TypeError that says how to decorate."""
    if fn is None or not callable(fn):
        got = "nothing" if fn is None else repr(fn)
        raise TypeError(
            f"StreamRouter.{decorator} takes the function it decorates: write "
            f"@router.{decorator} (no parentheses, no arguments), got {got}"
        )
    return fn


class NoRouteError(LookupError):
    """A record's event name has no route and the router has no catch-all.

    It fails that record (and so, in order, every later record of the batch).
    """

    def __init__(self, event_name: str | None, event_id: str | None) -> None:
        self.event_name = event_name
        super().__init__(
            f"no route for event name {event_name!r} (eventID={event_id!r}); register one "
            "with on_insert, on_modify, on_remove or the catch-all on_any"
        )


class StreamRouter:
    """Route DynamoDB stream records to functions by event name.

    ::

        router = StreamRouter()

        @router.on_insert
        def placed(record: ChangeRecord) -> None: ...

        @router.on_any            # everything without a specific route
        def other(record: ChangeRecord) -> None: ...

        def handler(event, context):
            return router.handler(event, context)

    The specific route for a record's event name wins; the catch-all gets the
    rest. Use it with ``ReportBatchItemFailures`` on the event-source mapping.

    With a tumbling window on the mapping, :meth:`on_window` folds every
    record into the window's state and :meth:`on_window_end` receives the
    final state (see :meth:`handler`).

    :param idempotency: an :class:`~stream_runtime.idempotency.IdempotencyGuard`:
        run each record's route at most once to completion, skipping records
        that already completed. @default - none: at-least-once, as Lambda.
    :param metrics: a :class:`~stream_runtime.metrics.BatchMetrics` for the
        per-batch EMF line, or False for none. @default a ``BatchMetrics()``
        (on ``clock``) unless ``$STREAM_METRICS`` is ``off``.
    :param clock: wall clock in epoch seconds, for the summary line's
        ``oldest_record_age_s`` and the default ``BatchMetrics``; a
        ``BatchMetrics`` passed as ``metrics`` keeps its own. @default
        ``time.time``; tests pass a fake one.
    """

    def __init__(
        self,
        *,
        idempotency: IdempotencyGuard | None = None,
        metrics: BatchMetrics | bool | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._routes: dict[str, Route] = {}
        self._catch_all: Route | None = None
        self._fold: Fold | None = None
        self._window_end: Finaliser | None = None
        self._guard = idempotency
        if clock is None:
            # Loaded already (logs and metrics import it), so this is a lookup;
            # the module's own imports stay the runtime's modules.
            import time

            clock = time.time
        self._clock = clock
        if metrics is None:
            metrics = BatchMetrics.enabled_by_env()
        self._metrics: BatchMetrics | None = (
            (BatchMetrics(clock=clock) if metrics else None)
            if isinstance(metrics, bool)
            else metrics
        )
        #: The window of the batch being handled (None outside a windowed batch).
        self.window: Window | None = None

    def _register(self, event_name: str, fn: Route) -> Route:
        existing = self._routes.get(event_name)
        if existing is not None:
            raise ValueError(
                f"a route for {event_name} is already registered "
                f"({existing.__qualname__}); cannot also register {fn.__qualname__}"
            )
        self._routes[event_name] = fn
        return fn

    def on_insert(self, fn: Route = _NOT_GIVEN) -> Route:
        """Decorator: ``fn(record)`` handles INSERT records."""
        return self._register("INSERT", _decorated("on_insert", fn))

    def on_modify(self, fn: Route = _NOT_GIVEN) -> Route:
        """Decorator: ``fn(record)`` handles MODIFY records."""
        return self._register("MODIFY", _decorated("on_modify", fn))

    def on_remove(self, fn: Route = _NOT_GIVEN) -> Route:
        """Decorator: ``fn(record)`` handles REMOVE records (deletes and TTL expiries)."""
        return self._register("REMOVE", _decorated("on_remove", fn))

    def on_any(self, fn: Route = _NOT_GIVEN) -> Route:
        """Decorator: the catch-all, for any record without a specific route."""
        fn = _decorated("on_any", fn)
        if self._catch_all is not None:
            raise ValueError(
                f"a catch-all route is already registered ({self._catch_all.__qualname__}); "
                f"cannot also register {fn.__qualname__}"
            )
        self._catch_all = fn
        return fn

    def on_window(self, fn: Fold = _NOT_GIVEN) -> Fold:
        """Decorator: ``fn(state, record) -> state`` aggregates a tumbling window.

        Called once per record, in stream order, with the state so far (``{}``
        when the window opens); it returns the new state, a JSON-serialisable
        dict of at most 1 MB. ``router.window`` is the :class:`Window` meanwhile.
        """
        fn = _decorated("on_window", fn)
        if self._fold is not None:
            raise ValueError(
                f"a window aggregator is already registered ({self._fold.__qualname__}); "
                f"cannot also register {fn.__qualname__}"
            )
        self._fold = fn
        return fn

    def on_window_end(self, fn: Finaliser = _NOT_GIVEN) -> Finaliser:
        """Decorator: ``fn(window, state)`` receives a window's final state.

        Called on the window's final invocation (``window.is_final``) and when
        Lambda ended the window early (``window.terminated_early``), after the
        invocation's records (often none) are folded, and only when none failed.
        """
        fn = _decorated("on_window_end", fn)
        if self._window_end is not None:
            raise ValueError(
                f"a window finaliser is already registered ({self._window_end.__qualname__}); "
                f"cannot also register {fn.__qualname__}"
            )
        self._window_end = fn
        return fn

    def handler(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Process a Lambda event; return the partial-batch response.

        The event comes from a DynamoDB stream, or from a Kinesis stream that a
        table streams its changes to (Kinesis Data Streams for DynamoDB): both
        kinds of record become the same :class:`ChangeRecord`.

        Records run one at a time in stream order. When a route raises (or a
        record has no route, or a Kinesis record's data is not a DynamoDB
        change), that record and every later record are reported in
        ``batchItemFailures`` and no later record runs: Lambda then retries
        from the first failure, so per-key order holds and nothing succeeds
        twice. Records before the failure are not reported. An empty batch
        returns ``{"batchItemFailures": []}``. The failing record's exception
        is logged once, with its event ID and keys.

        **Tumbling windows.** When the event carries a ``window`` and an
        :meth:`on_window` aggregator is registered, each record goes through
        the aggregator instead of a route, with the same ordered failures; the
        response adds ``state``: the state after the last record that did not
        fail, so Lambda's retry from the first failure folds the rest onto
        exactly what was counted. Without an aggregator, records are routed as
        usual and the state Lambda handed in goes back unchanged. When the
        state cannot go back (not a JSON object, or over 1 MB), every record of
        the batch is reported failed and the state Lambda handed in goes back:
        nothing is dropped or counted twice.

        :raises UnidentifiableRecordError: a record has no sequence number.
            Checked for every record before any route runs; raising fails the
            whole batch, the only safe answer when a record cannot be named.
        :raises WindowEventError: the ``window``, ``state`` or flags of the
            event are malformed, or the router only aggregates windows and the
            event has none.
        :raises Exception: whatever the :meth:`on_window_end` finaliser
            raises: the final invocation fails and Lambda retries it.
        """
        metrics = self._metrics
        started = metrics.timer() if metrics is not None else 0.0
        window = window_of(event) if "window" in event else None
        if window is None and self._fold is not None and not self._routes and not self._catch_all:
            raise WindowEventError(
                "the event has no tumbling window, but this router only aggregates "
                "windows (on_window): give the event-source mapping a tumbling window "
                "(StreamProcessor(tumbling_window=Duration.seconds(60)))"
            )
        records = [ChangeRecord(raw) for raw in event.get("Records") or ()]
        logger = logs.logger
        info = logger.isEnabledFor(logs.INFO)
        oldest = oldest_creation_seconds(records) if info or metrics is not None else None
        # The summary is taken before routing because the loop releases each
        # record once it is processed (at INFO, it reads every record's event
        # name: a Kinesis payload is decoded here, once, and a bad one is
        # counted, not raised).
        summary = logs.batch_summary(records, context, oldest, clock=self._clock) if info else None
        skipped: int | None = None
        response: dict[str, Any]
        if window is not None and self._fold is not None:
            response = self._aggregate(records, window)
        else:
            failed_at, skipped = self._route(records, context)
            # Records before failed_at were processed and released (their slots
            # are None now); the failed one and every later one are still here.
            failed_records = records[failed_at:]
            response = {FAILURES_KEY: _failures([r.sequence_number for r in failed_records])}
            if window is not None:
                response["state"] = window.state
        failed = len(response[FAILURES_KEY])
        if window is not None and window.ends and not failed:
            self._finalise(window, response["state"])
        if summary is not None:
            logs.log_batch(summary, processed=len(records) - failed, failures=failed)
        if metrics is not None:
            metrics.emit(
                records=len(records),
                failures=failed,
                oldest_created=oldest,
                duration_ms=(metrics.timer() - started) * 1000,
                skipped=skipped,
                context=context,
            )
        return response

    def _route(self, records: list[ChangeRecord], context: Any) -> tuple[int, int | None]:
        """Run the routes in order; return (index of the first failure, records skipped)."""
        routes = self._routes
        catch_all = self._catch_all
        guard = self._guard
        skipped = None
        if guard is not None:
            guard.start_batch(context)
            skipped = 0
        debug = logs.logger.isEnabledFor(logs.DEBUG)
        for index, record in enumerate(records):
            key = None
            try:
                # Inside the try: on a Kinesis record this decodes the payload,
                # and a payload that is not a DynamoDB change fails the record.
                event_name = record.event_name
                if debug:
                    logs.log_record(record)
                route = routes.get(event_name, catch_all)  # type: ignore[arg-type]
                if route is None:
                    raise NoRouteError(event_name, record.event_id)
                if guard is not None:
                    key = guard.begin(record, context)
                    if key is None:  # completed by an earlier delivery
                        skipped += 1  # type: ignore[operator]
                        records[index] = None  # type: ignore[call-overload]
                        continue
                route(record)
                if key is not None:
                    guard.complete(key)  # type: ignore[union-attr]
            except Exception as exc:
                if key is not None:
                    guard.release(key)  # type: ignore[union-attr]
                logs.log_failure(record, exc, reported=len(records) - index)
                return index, skipped
            # Done with it: drop the batch's reference so its decoded images are
            # freed now (unless the route kept the record). A batch then needs the
            # memory of one decoded record, not of all of them, and the allocator
            # reuses the same warm memory: ~15 % faster when routes decode
            # whole images, and nothing in the response needs the record.
            records[index] = None  # type: ignore[call-overload]
        return len(records), skipped

    def _aggregate(self, records: list[ChangeRecord], window: Window) -> dict[str, Any]:
        """Fold the records into the window's state, in order; the windowed response."""
        fold = self._fold
        assert fold is not None
        sequence_numbers = [record.sequence_number for record in records]
        # The state as Lambda handed it in, to give back unchanged if the new
        # one cannot go back (the aggregator may have changed it in place).
        handed_in = _snapshot(window.state) if records else None
        state = window.state
        failed_at = len(records)
        self.window = window
        try:
            for index, record in enumerate(records):
                try:
                    new_state = fold(state, record)
                    if not isinstance(new_state, dict):
                        raise WindowStateError(
                            f"the window aggregator {fold.__qualname__} returned "
                            f"{type(new_state).__name__}, not the new state (a dict)"
                        )
                except Exception as exc:
                    logs.log_failure(record, exc, reported=len(records) - index)
                    failed_at = index
                    break
                state = new_state
                records[index] = None  # type: ignore[call-overload]
        finally:
            self.window = None
        try:
            check_state(state)
        except WindowStateError as exc:
            if handed_in is None:  # no record ran: the state is Lambda's own
                raise
            logs.log_state_rejected(exc, reported=len(sequence_numbers))
            return {
                "state": _restore(handed_in),
                FAILURES_KEY: _failures(sequence_numbers),
            }
        return {"state": state, FAILURES_KEY: _failures(sequence_numbers[failed_at:])}

    def _finalise(self, window: Window, state: dict[str, Any]) -> None:
        """Hand a closed window's state to the finaliser; log and re-raise its error."""
        finaliser = self._window_end
        if finaliser is None:
            return
        self.window = window
        try:
            finaliser(window, state)
        except Exception as exc:
            logs.log_window_end_failure(window, exc)
            raise
        finally:
            self.window = None


def _failures(sequence_numbers: list[str]) -> list[dict[str, str]]:
    """``batchItemFailures`` for these records: the first failed one and all after it."""
    return [{IDENTIFIER_KEY: number} for number in sequence_numbers]


def _snapshot(state: dict[str, Any]) -> str:
    import json

    return json.dumps(state)


def _restore(snapshot: str) -> dict[str, Any]:
    import json

    restored: dict[str, Any] = json.loads(snapshot)
    return restored
