"""The polling runner of the local cloud's event-source mappings: poll a stream,
cut batches, hand them to Lambda's delivery rules.

The rules themselves live in the stream package: :mod:`cdk_streams.streams.settings`
(what a mapping's settings mean), :mod:`~cdk_streams.streams.batching` (when a
batch is cut: batch size, batching window, 6 MB payload) and
:mod:`~cdk_streams.streams.delivery` (retry, bisect, partial batch, record age,
on-failure). This module adds what needs real time and threads:
:class:`MappingRunner` feeds one mapping from a
:class:`~cdk_streams.streams.shard_reader.ShardReader`, and
:class:`EventSourceRunner` runs every mapping of an account in threads and
drains them.

Per shard, batches go one at a time and in order; a child shard waits until its
parent's records are all handled. ``starting_position`` is fixed when the runner
starts the mapping (LATEST means changes after that moment), and records no
filter matches are dropped before batching.

With a tumbling window, a window's final invocation goes out once the wall
clock has passed the window's end, a poll that started after that moment has
read the shard, and no record of the window is still buffered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..streams.batching import BatchBuffer
from ..streams.counts import DrainReport, MappingCounts, MappingReport
from ..streams.delivery import Invoke, SendOnFailure, ShardDelivery, Stopped
from ..streams.filter_grammar import RecordFilter
from ..streams.settings import MappingConfig
from ..streams.shard_reader import ShardReader

#: How often Lambda polls a DynamoDB stream shard: 4 times a second.
DEFAULT_POLL_INTERVAL = 0.25
#: Seconds an idle mapping sleeps when nothing wakes it: every write to its
#: stream does (see EventSourceRunner.notify_write), so this is only a safety net.
IDLE_POLL = 1.0


class RunnerError(RuntimeError):
    """The runner could not do its job (a failed AWS call, not a failing function)."""


class DrainTimeout(RunnerError):
    """The streams did not become idle within the time given to drain()."""


@dataclass
class _Shard:
    buffer: BatchBuffer
    delivery: ShardDelivery


class MappingRunner:
    """Polls one mapping's stream and delivers its batches, one shard batch at a time.

    :param config: the mapping.
    :param reader: a reader on ``config.event_source_arn`` (not started yet).
    :param invoke: runs the mapping's function.
    :param send_on_failure: delivers on-failure records. @default - none.
    :param clock: monotonic seconds: the batching window and
        :attr:`last_activity` run on it. @default the clock of the
        :class:`EventSourceRunner` it is added to (whose drain() compares
        :attr:`last_activity` with its own now), else time.monotonic.
    :param wall_clock: epoch seconds: record ages, on-failure timestamps and
        the end of tumbling windows. @default time.time.
    :param stopping: when it returns True, deliveries stop between attempts.
        @default - never.
    :param fed_by: ARNs of other streams whose writes reach this mapping's
        stream (the table stream behind an emulated Kinesis Data Streams for
        DynamoDB feed): a write to one wakes the mapping too. @default - none.
    """

    def __init__(
        self,
        config: MappingConfig,
        reader: ShardReader,
        invoke: Invoke,
        *,
        send_on_failure: SendOnFailure | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
        stopping: Callable[[], bool] = lambda: False,
        fed_by: Iterable[str] = (),
    ) -> None:
        self.config = config
        #: The streams whose writes wake this mapping.
        self.sources = frozenset({config.event_source_arn, *fed_by})
        self.stopping = stopping
        self.reader = reader
        self._invoke = invoke
        self._send = send_on_failure
        # None when built without one: use_clock then takes any clock, not only this one.
        self._given_clock = clock
        self._clock = clock if clock is not None else time.monotonic
        self._wall = wall_clock
        self._filter = RecordFilter(config.filters)
        self.counts = MappingCounts()
        self._shards: dict[str, _Shard] = {}
        self.busy = False
        #: When the last step that did anything ended, on ``clock``.
        self.last_activity = self._clock()
        self.started = False

    def start(self) -> None:
        """Fix the starting position (LATEST: from now on), as creating the mapping does."""
        self.reader.start()
        self.started = True

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Run on ``clock`` from now on, as an :class:`EventSourceRunner` that adds
        this mapping asks: its drain() compares :attr:`last_activity` with its own now.

        :raises ValueError: the mapping was built with a different clock.
        """
        if self._given_clock is not None and self._given_clock != clock:
            raise ValueError(
                f"mapping {self.config.uuid}: clock must be the EventSourceRunner's clock "
                "(its drain() compares the mapping's last activity with it), got another "
                "one; build the MappingRunner without clock= to use the EventSourceRunner's"
            )
        self._given_clock = self._clock = clock
        self.last_activity = clock()

    def _shard(self, shard_id: str) -> _Shard:
        shard = self._shards.get(shard_id)
        if shard is None:
            shard = self._shards[shard_id] = _Shard(
                BatchBuffer(self.config.batch_size, self.config.max_batching_window),
                ShardDelivery(
                    self.config,
                    shard_id,
                    self._invoke,
                    clock=self._wall,
                    send_on_failure=self._send,
                    counts=self.counts,
                    stopping=lambda: self.stopping(),
                ),
            )
        return shard

    def _buffered(self, shard_id: str | None) -> int:
        shard = self._shards.get(shard_id) if shard_id is not None else None
        return 0 if shard is None else len(shard.buffer)

    @property
    def buffered(self) -> int:
        """Records read and waiting for their batch (filtered ones excluded)."""
        return sum(len(shard.buffer) for shard in self._shards.values())

    @property
    def idle(self) -> bool:
        """Nothing buffered and no step (a read or an invocation) under way."""
        return not self.busy and not any(s.buffer.records for s in self._shards.values())

    def deliveries(self) -> dict[str, ShardDelivery]:
        """The per-shard delivery state (with its invocation log), by shard id."""
        return {shard_id: shard.delivery for shard_id, shard in self._shards.items()}

    def _poll(self) -> int:
        """Read the shards whose buffers need records; return how many were read."""
        read = 0
        shape = self.config.shape
        readable = self.reader.readable()
        if readable and all(
            self._buffered(shard_id) >= self.config.batch_size for shard_id in readable
        ):
            return 0  # every shard has a full batch waiting: no read-ahead beyond that
        for result in self.reader.read():
            if not result.records:
                continue
            buffer = self._shard(result.shard_id).buffer
            now = self._clock()
            for raw in result.records:
                read += 1
                self.counts.read += 1
                record = shape.to_lambda(raw, self.config.event_source_arn, result.shard_id)
                if not self._filter.matches(shape.filter_view(record)):
                    self.counts.filtered += 1
                    continue
                buffer.add(record, now=now)
        return read

    def _due(self, shard_id: str, shard: _Shard) -> bool:
        if self._buffered(self.reader.parent_of(shard_id)):
            return False  # the parent's records go first, for per-key order
        return shard.buffer.due(now=self._clock())

    def step(self) -> bool:
        """One poll and every batch that is due; True when anything happened."""
        if not self.started:
            self.start()
        # Busy for the whole step, the read included: while a GetRecords call is in
        # flight its records are in no buffer yet, and a read slower than drain()'s
        # settle time (moto takes ~0.5 s for 1000 records) must not look idle.
        self.busy = True
        try:
            # Read before the poll: every record that arrived by then is in this poll's
            # result, so a window that ended by then has all its records in hand.
            polled_at = self._wall()
            worked = self._poll() > 0
            for shard_id, shard in list(self._shards.items()):
                while self._due(shard_id, shard):
                    shard.delivery.deliver(shard.buffer.take(now=self._clock()))
                    worked = True
                if self._finish_window(shard, polled_at):
                    worked = True
            if worked:
                # Before busy goes False, so drain() never sees idle with a stale time.
                self.last_activity = self._clock()
        finally:
            self.busy = False
        return worked

    def _finish_window(self, shard: _Shard, polled_at: float) -> bool:
        windows = shard.delivery.windows
        if windows is None or not windows.due(polled_at):
            return False
        if shard.buffer.records:
            first = shard.buffer.records[0]
            arrival = self.config.shape.arrival(first)
            if arrival is None or windows.open is None or arrival < windows.open.end:
                return False  # the window's last records wait for their batch
        return shard.delivery.finish_window(polled_at)

    def next_due_in(self) -> float | None:
        """Seconds until a buffered partial batch's window or an open tumbling
        window ends, or None when nothing waits for a time."""
        now = self._clock()
        waits = [
            wait
            for shard in self._shards.values()
            if (wait := shard.buffer.due_in(now=now)) is not None
        ]
        wall = None
        for shard in self._shards.values():
            windows = shard.delivery.windows
            if windows is not None and windows.open is not None:
                wall = self._wall() if wall is None else wall
                waits.append(windows.open.end - wall)
        return min(waits) if waits else None


class _Waker:
    """One mapping's wake-ups: how many so far, and an event its thread sleeps on."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.count = 0
        #: A drain is waiting: step at once, without the gap between reads.
        self.urgent = False
        self._lock = threading.Lock()

    def wake(self, *, urgent: bool = False) -> int:
        """Wake the mapping; the count a step must start from to see this wake-up."""
        with self._lock:
            self.count += 1
            count = self.count
            if urgent:
                self.urgent = True
        self.event.set()
        return count


class EventSourceRunner:
    """Runs mappings in background threads, one per mapping, and drains them.

    A mapping whose last read found nothing sleeps until :meth:`notify_write`
    says one of its streams got a record (the local cloud calls it on every
    write), until a buffered batch or an open tumbling window is due, or for at
    most :data:`IDLE_POLL` seconds.

    :param poll_interval: the least time between two reads of an idle mapping's
        shards when writes wake it. @default 0.25 (Lambda polls a DynamoDB shard
        4 times a second).
    :param settle: a mapping counts as idle once nothing happened for this
        long. @default 0.3 s.
    :param clock: monotonic seconds, for drain()'s settle time and timeout,
        the pace of reads, and every mapping's batching window and last
        activity: one clock, so drain() compares times of the same clock.
        @default time.monotonic; tests pass a fake one (the waits between
        checks still take real time).
    """

    def __init__(
        self,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        settle: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.poll_interval = poll_interval
        self.settle = settle
        self.clock = clock
        self.runners: dict[str, MappingRunner] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        # Per mapping: its wake-ups (writes to its streams, drains), and the count
        # its last finished step started from: a step that starts after a
        # write reads it.
        self._wakers: dict[str, _Waker] = {}
        self._caught_up: dict[str, int] = {}
        self._errors: dict[str, BaseException] = {}
        self._lock = threading.Lock()
        self._reported: dict[str, MappingCounts] = {}

    def add(self, runner: MappingRunner) -> None:
        """Take over a mapping: fix its starting position now and start polling it.

        The mapping runs on this runner's clock: a :class:`MappingRunner`
        built without one takes it. Raises ``ValueError`` for a mapping given
        a different clock, whose last activity drain() could not compare.
        """
        if runner.config.uuid in self.runners:
            return
        runner.use_clock(self.clock)
        runner.start()
        runner.stopping = self._stop.is_set
        with self._lock:
            self.runners[runner.config.uuid] = runner
            self._reported[runner.config.uuid] = MappingCounts()
            self._wakers[runner.config.uuid] = _Waker()
            self._caught_up[runner.config.uuid] = -1
            thread = threading.Thread(
                target=self._loop, args=(runner,), name=f"mapping-{runner.config.uuid}", daemon=True
            )
            self._threads[runner.config.uuid] = thread
        thread.start()

    def notify_write(self, stream_arn: str | None = None) -> None:
        """A stream got a record: wake the mappings that read it (all when None)."""
        for key, runner in list(self.runners.items()):
            if stream_arn is None or stream_arn in runner.sources:
                self._wakers[key].wake()

    def _loop(self, runner: MappingRunner) -> None:
        key = runner.config.uuid
        waker = self._wakers[key]
        while not self._stop.is_set():
            # Cleared before the count is read: a wake-up from here on either is
            # in the count or sets the event again, so none is missed.
            waker.event.clear()
            waker.urgent = False
            seen = waker.count
            started = self.clock()
            try:
                worked = runner.step()
            except Stopped:
                return
            except BaseException as error:  # kept and re-raised by drain()
                self._errors[key] = error
                return
            self._caught_up[key] = seen
            if worked:  # more may be waiting: read again at once, as Lambda does
                continue
            due = runner.next_due_in()
            woken = waker.event.wait(IDLE_POLL if due is None else min(IDLE_POLL, max(due, 0.005)))
            # Woken by a write: read no sooner than poll_interval after the last
            # read, as Lambda's poller paces its reads (so a burst of writes is not
            # read one by one). A drain waits for no one.
            rest = self.poll_interval - (self.clock() - started)
            if woken and rest > 0 and not waker.urgent:
                self._stop.wait(rest)

    def _raise_errors(self) -> None:
        if self._errors:
            uuid_, error = next(iter(self._errors.items()))
            runner = self.runners[uuid_]
            raise RunnerError(
                f"mapping {uuid_} ({runner.config.table_name} -> {runner.config.function_name}) "
                f"stopped: {type(error).__name__}: {error}"
            ) from error

    def drain(self, timeout: float = 120.0) -> DrainReport:
        """Wait until every mapping has read and handled everything written so far.

        Batching windows and retries run their course. Returns the counts since
        the previous drain. Raises :class:`DrainTimeout` when some mapping is
        still busy after ``timeout`` seconds (for example a poison record with
        unlimited retries), and :class:`RunnerError` when a mapping stopped.
        """
        started = self.clock()
        # Every mapping steps once more, now: a step that starts after this reads
        # every write so far and sees every window that has ended by now.
        wanted = {key: waker.wake(urgent=True) for key, waker in list(self._wakers.items())}
        while True:
            self._raise_errors()
            now = self.clock()
            busy = [
                runner
                for key, runner in self.runners.items()
                if not runner.idle
                or self._caught_up.get(key, -1) < wanted.get(key, 0)
                or now - runner.last_activity < self.settle
            ]
            if not busy:
                break
            if now - started > timeout:
                names = ", ".join(
                    f"{r.config.table_name} -> {r.config.function_name}" for r in busy
                )
                raise DrainTimeout(
                    f"drain: not idle after {timeout:.0f} s; still busy: {names}. A record that "
                    "keeps failing with MaximumRetryAttempts -1 blocks its shard until it expires"
                )
            time.sleep(min(0.05, self.poll_interval))
        return self._report(self.clock() - started)

    def _report(self, seconds: float) -> DrainReport:
        reports = []
        for key, runner in self.runners.items():
            now = runner.counts.copy()
            reports.append(
                MappingReport(
                    key,
                    runner.config.function_name,
                    runner.config.table_name,
                    now - self._reported[key],
                )
            )
            self._reported[key] = now
        return DrainReport(reports, seconds)

    def totals(self) -> DrainReport:
        """Counts since each mapping started (drain() gives them since the last drain),
        with the records each one holds in a batching window now."""
        return DrainReport(
            [
                MappingReport(
                    k, r.config.function_name, r.config.table_name, r.counts.copy(), r.buffered
                )
                for k, r in self.runners.items()
            ],
            0.0,
        )

    def stop(self) -> None:
        """Stop every mapping thread (after its current batch). Safe to call twice."""
        self._stop.set()
        for waker in list(self._wakers.values()):
            waker.event.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=60)
