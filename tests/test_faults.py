"""Fault injection in the local cloud: under poison, transient and crashing records, no
change is lost, per-key order holds, and every poison change reaches the on-failure queue.

One real deploy (tests/fixtures/faults_app: StreamProcessor with its defaults, a
StreamRouter handler) takes 300 changes over 30 keys; the tests below each check one
invariant of that run. `make faults` runs the same scenario with 1000 changes. The
checks themselves are first shown to catch a lost record, a broken order and an
unreported poison record, on made-up outcomes.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "faults_app"))

import faults_scenario as scenario

CHANGES, KEYS, SEED = 300, 30, 2026


# -- the checks catch what they claim to (no deploy) ---------------------------------


def _perfect(changes: int = CHANGES, keys: int = KEYS) -> scenario.Outcome:
    """A made-up run in which every invariant holds."""
    written = scenario.workload(changes, keys, SEED)
    stream = [scenario.StreamRecord("shard-1", 100 + n, c) for n, c in enumerate(written)]
    plan = scenario.plan_for(written)
    poison = [r for r in stream if scenario.fault_of(plan, r.change) == "poison"]
    once = {
        (c.pk, c.version) for c in written if scenario.fault_of(plan, c) in ("transient", "crash")
    }
    return scenario.Outcome(
        written=written,
        stream=stream,
        processed=[(r.change, r.seq) for r in stream if r not in poison],
        on_failure=[
            {
                "shardId": "shard-1",
                "startSequenceNumber": str(r.seq),
                "endSequenceNumber": str(r.seq),
                "batchSize": 1,
            }
            for r in poison
        ],
        markers=once,
    )


def test_the_made_up_run_has_poison_and_passes() -> None:
    outcome = scenario.analyse(_perfect())
    assert outcome.figures["poison"] > 0, "pick a workload with poison for the negative tests"
    assert outcome.problems == []


def test_a_lost_record_is_caught() -> None:
    outcome = _perfect()
    outcome = scenario.analyse(replace(outcome, processed=outcome.processed[1:]))
    assert outcome.figures["lost"] == 1
    assert any("1 changes lost" in p for p in outcome.problems)


def test_broken_per_key_order_is_caught_even_with_nothing_lost() -> None:
    outcome = _perfect()
    processed = list(outcome.processed)
    # Two changes of one key, processed the wrong way round.
    pk = processed[0][0].pk
    first, second = [i for i, (c, _) in enumerate(processed) if c.pk == pk][:2]
    processed[first], processed[second] = processed[second], processed[first]
    outcome = scenario.analyse(replace(outcome, processed=processed))
    assert outcome.figures["lost"] == 0 and outcome.figures["order_broken_keys"] == 1


def test_duplicates_in_order_are_allowed() -> None:
    outcome = _perfect()
    # At-least-once: a replayed run of records (as after a crash) is not a problem.
    outcome = scenario.analyse(
        replace(outcome, processed=outcome.processed + outcome.processed[:5])
    )
    assert outcome.problems == [] and outcome.figures["duplicates"] == 5


def test_a_poison_record_missing_from_the_queue_is_caught() -> None:
    outcome = scenario.analyse(replace(_perfect(), on_failure=[]))
    assert any("not in any on-failure range" in p for p in outcome.problems)


def test_a_good_record_skipped_inside_a_range_is_counted_not_lost() -> None:
    outcome = _perfect()
    (first, *_) = outcome.on_failure
    # Widen the first range to also cover the good record just before it.
    skipped = int(first["startSequenceNumber"]) - 1
    wider = {**first, "startSequenceNumber": str(skipped), "batchSize": 2}
    outcome = scenario.analyse(
        replace(
            outcome,
            processed=[(c, s) for c, s in outcome.processed if s != skipped],
            on_failure=[wider, *outcome.on_failure[1:]],
        )
    )
    assert (outcome.figures["good_skipped"], outcome.figures["lost"]) == (1, 0)


# -- the real run ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcome() -> scenario.Outcome:
    return scenario.run(CHANGES, KEYS, SEED, drain_timeout=120)


@pytest.mark.slow
def test_every_fault_kind_is_injected(outcome: scenario.Outcome) -> None:
    f = outcome.figures
    assert (f["written"], f["keys"], f["stream"]) == (CHANGES, KEYS, CHANGES)
    assert f["poison"] > 0 and f["transient"] > 0 and f["crash"] > 0
    # Each transient or crash fault fired exactly once (its marker exists).
    assert f["faults_fired"] == f["transient"] + f["crash"]
    print(outcome.summary())


@pytest.mark.slow
def test_no_change_is_lost(outcome: scenario.Outcome) -> None:
    f = outcome.figures
    assert f["lost"] == 0
    assert f["written"] == f["processed_distinct"] + f["on_failure_records"]


@pytest.mark.slow
def test_every_good_change_is_processed_in_per_key_order(outcome: scenario.Outcome) -> None:
    f = outcome.figures
    assert f["good_unprocessed"] == 0
    assert f["processed_distinct"] == f["written"] - f["poison"]
    assert f["order_broken_keys"] == 0


@pytest.mark.slow
def test_every_poison_change_and_nothing_else_goes_to_the_queue(
    outcome: scenario.Outcome,
) -> None:
    f = outcome.figures
    assert f["poison_reported"] == f["poison"]
    # Bisect + the router's partial batch response isolate each poison record.
    assert f["good_skipped"] == 0
    assert f["on_failure_records"] == f["on_failure_messages"] == f["poison"]


@pytest.mark.slow
def test_all_invariants_hold(outcome: scenario.Outcome) -> None:
    assert outcome.problems == [], outcome.summary()


# -- drain() and a slow GetRecords (found while building this run) --------------------


class FakeClock:
    """Monotonic seconds for the runner: each reading is 0.01 s after the last, and a
    read can take a second at once (:meth:`advance`). Counts the readings that the
    thread calling drain() takes, so a read can wait until drain() has looked."""

    def __init__(self) -> None:
        self.now = 0.0
        self.drainer = threading.get_ident()  # the test's thread calls drain()
        self.drain_readings = 0
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self.now += 0.01
            if threading.get_ident() == self.drainer:
                self.drain_readings += 1
                self._changed.notify_all()
            return self.now

    def advance(self, seconds: float) -> None:
        with self._changed:
            self.now += seconds

    def wait_for_drain(self, readings: int) -> None:
        """Block until drain() has read the clock ``readings`` more times."""
        with self._changed:
            target = self.drain_readings + readings
            # A guard against a hang, not a measurement: drain() reads the clock
            # every few milliseconds.
            looked = self._changed.wait_for(lambda: self.drain_readings >= target, timeout=60)
        assert looked, "drain() stopped reading the clock"


class SlowReader:
    """A one-shard stream whose GetRecords takes 1 s of the fake clock when it returns
    records, as moto's does for a large backlog; each call returns the next chunk.

    While the call is in flight drain() looks twice: the second look means the
    first one's check is done, with the read's time past settle."""

    def __init__(self, chunks: list[list[dict]], clock: FakeClock) -> None:
        self.chunks, self.clock = chunks, clock

    def start(self) -> None:
        pass

    def readable(self) -> list[str]:
        return ["s"]

    def parent_of(self, shard_id: str) -> None:
        return None

    def read(self) -> list:
        from cdk_streams.streams.shard_reader import ShardRecords

        if not self.chunks:
            return [ShardRecords("s", [])]
        self.clock.advance(1.0)  # the slow call itself: 10 times settle
        self.clock.wait_for_drain(2)
        return [ShardRecords("s", self.chunks.pop(0))]


def test_drain_waits_for_a_get_records_call_slower_than_settle() -> None:
    """drain() must not call a mapping idle while one of its reads is in flight.

    Three chunks of a backlog, each read taking longer than the runner's settle
    time: before the fix, drain() returned during the third read, with only 10 of
    the 15 records handled, although all 15 were in the stream before it was called.
    """
    from cdk_streams.local.invoker import InvocationResult
    from cdk_streams.local.runner import EventSourceRunner, MappingRunner
    from cdk_streams.streams.settings import MappingConfig

    chunks = [
        [
            {"eventID": str(n), "eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n)}}
            for n in range(start, start + 5)
        ]
        for start in (0, 5, 10)
    ]
    config = MappingConfig(
        uuid="m",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        event_source_arn="arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/x",
    )
    clock = FakeClock()
    runner = EventSourceRunner(poll_interval=0.01, settle=0.1, clock=clock)
    ok = lambda event: InvocationResult("r", True)  # noqa: E731
    reader = SlowReader(chunks, clock)
    runner.add(MappingRunner(config, reader, ok))
    try:
        report = runner.drain(timeout=60)
    finally:
        runner.stop()
    assert reader.chunks == []
    assert report.totals.succeeded == 15
    # drain() timed itself on the fake clock: at least the second and third reads'
    # 2 s (the first may have started before drain() did). It stayed short of its
    # 60 s timeout on that clock too, or drain() would have raised DrainTimeout.
    assert report.seconds > 2.0
