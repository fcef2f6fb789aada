"""The custom-application consumer against the embedded emulator (moto in this process).

One LocalCloud for the module, nothing deployed: each test creates its own
table (with a NEW_AND_OLD_IMAGES stream) and lease table through boto3.
Consumers are driven round by round (``run_once``) where the order of events
matters, and by ``run`` in a thread where shutdown is the point.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from cdk_streams.cli import main
from cdk_streams.consumer import (
    Consumer,
    ConsumerError,
    DeliveryError,
    DeliveryFailure,
    LeaseTable,
    LeaseTableError,
    ensure_lease_table,
    load_handler,
)
from cdk_streams.local import LocalCloud
from tests.consumer_tables import ConsumerTables

pytestmark = pytest.mark.slow

_names = itertools.count()


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing is released or checkpointed."""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as local:
        yield local


class Env(ConsumerTables):
    """A fresh table with a stream, a lease table, and helpers to write and consume."""

    def __init__(self, cloud: LocalCloud) -> None:
        n = next(_names)
        super().__init__(cloud, f"orders-{n}", f"orders-{n}-app-leases")

    def put(self, *order_ids: str, **attributes: Any) -> None:
        for order_id in order_ids:
            item = {"orderId": {"S": order_id}, "status": {"S": "PLACED"}}
            for name, value in attributes.items():
                item[name] = {"BOOL": value} if isinstance(value, bool) else {"S": str(value)}
            self.ddb.put_item(TableName=self.table, Item=item)

    def consumer(self, table: str | None = None, **kwargs: Any) -> Consumer:
        options: dict[str, Any] = {
            "lease_table": self.lease_table,
            "dynamodb": self.ddb,
            "dynamodbstreams": self.cloud.client("dynamodbstreams"),
            "poll_interval": 0.02,
            "retry_delay": 0.0,
            **kwargs,
        }
        return Consumer(table or self.table, **options)


@pytest.fixture
def env(cloud: LocalCloud) -> Env:
    return Env(cloud)


def rounds(consumer: Consumer, done: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run a consumer round by round until ``done()``."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out; stats: {consumer.stats}"
        if not consumer.run_once():
            time.sleep(0.02)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A callback that records (order id, sequence number) and can fail on cue."""

    def __init__(self, fail: Callable[[list[Any], int], Any] | None = None) -> None:
        self.calls: list[list[tuple[str, str]]] = []
        self.fail = fail

    def __call__(self, records: list[Any]) -> Any:
        self.calls.append([(r.keys["orderId"], r.sequence_number) for r in records])
        if self.fail is not None:
            return self.fail(records, len(self.calls))
        return None

    @property
    def seen(self) -> list[tuple[str, str]]:
        return [pair for call in self.calls for pair in call]

    @property
    def ids(self) -> list[str]:
        return [order_id for order_id, _ in self.seen]


# -- errors ------------------------------------------------------------------------


def test_a_missing_table_is_named(env: Env) -> None:
    with pytest.raises(ConsumerError, match="table 'no-such-table' not found in region us-east-1"):
        env.consumer(table="no-such-table", callback=print)


def test_a_table_without_a_stream_is_refused(env: Env) -> None:
    env.ddb.create_table(
        TableName="no-stream",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ConsumerError, match="table 'no-stream' has no stream enabled"):
        env.consumer(table="no-stream", callback=print)


def test_a_missing_lease_table_is_named_with_the_fix(env: Env) -> None:
    with pytest.raises(LeaseTableError) as caught:
        env.consumer(lease_table="missing-leases", callback=print)
    assert "lease table 'missing-leases' does not exist" in str(caught.value)
    assert "ensure_lease_table(client, 'missing-leases')" in str(caught.value)
    consumer = env.consumer(lease_table="created-leases", callback=print, create_lease_table=True)
    assert consumer.leases.table_name == "created-leases"
    assert ensure_lease_table(env.ddb, "created-leases") is False  # already there


def test_a_table_with_another_key_cannot_hold_leases(env: Env) -> None:
    # The orders table itself: partition key orderId, not shardId.
    with pytest.raises(LeaseTableError, match=f"table '{env.table}' cannot hold leases"):
        env.consumer(lease_table=env.table, callback=print)
    with pytest.raises(LeaseTableError, match="cannot hold leases"):
        ensure_lease_table(env.ddb, env.table)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of callback"),
        ({"callback": print, "handler": print}, "give exactly one of callback"),
        ({"callback": print, "batch_size": 0}, "batch_size must be 1..1000, got 0"),
        ({"callback": print, "batch_size": 1001}, "batch_size must be 1..1000, got 1001"),
        ({"callback": print, "starting_position": "AT_TIMESTAMP"}, "got 'AT_TIMESTAMP'"),
        ({"callback": print, "max_retries": -2}, "max_retries must be -1 (forever) or more"),
        ({"callback": print, "max_leases": 0}, "max_leases must be at least 1, got 0"),
        ({"callback": print, "lease_duration": 0}, "lease_duration must be positive"),
        ({"callback": print, "lease_duration": float("nan")}, "positive seconds, got nan"),
        ({"callback": print, "dynamodbstreams": None}, "give both the dynamodb and the"),
    ],
)
def test_bad_settings_say_what_was_given(env: Env, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConsumerError) as caught:
        env.consumer(**kwargs)
    assert message in str(caught.value)


def test_one_lease_table_per_stream(cloud: LocalCloud) -> None:
    # moto gives every stream the same shard id: the second stream must not reuse the rows.
    first, second = Env(cloud), Env(cloud)
    first.consumer(callback=print).coordinate()
    consumer = second.consumer(lease_table=first.lease_table, callback=print)
    with pytest.raises(LeaseTableError, match=r"already holds shard .* of stream .*orders-"):
        consumer.coordinate()


def test_a_callback_returning_something_else_stops_the_consumer(env: Env) -> None:
    env.put("o-1")
    consumer = env.consumer(callback=lambda records: True)
    with pytest.raises(ConsumerError, match="callback returned True; expected None"):
        consumer.run(handle_signals=False)
    assert "owner" not in env.row()  # released on the way out


# -- ordered failure semantics ------------------------------------------------------


def test_a_partial_failure_checkpoints_before_it_and_retries_from_it(env: Env) -> None:
    env.put(*(f"o-{i}" for i in range(6)))

    def fail_fourth_once(records: list[Any], call: int) -> Any:
        return [records[3].sequence_number] if call == 1 else None

    recorder = Recorder(fail_fourth_once)
    consumer = env.consumer(callback=recorder, batch_size=10)
    rounds(consumer, lambda: len(recorder.calls) == 2 and consumer.stats.processed == 6)
    first, second = recorder.calls
    assert [order_id for order_id, _ in first] == [f"o-{i}" for i in range(6)]
    assert second == first[3:]  # the records before the failure are not delivered again
    assert consumer.stats.retries == 1 and consumer.stats.checkpoints == 2
    assert env.row()["checkpoint"]["S"] == first[-1][1]
    consumer.close()


def test_a_raising_callback_retries_the_whole_batch(env: Env) -> None:
    env.put("o-1", "o-2")

    def raise_once(records: list[Any], call: int) -> None:
        if call == 1:
            raise RuntimeError("database down")

    recorder = Recorder(raise_once)
    consumer = env.consumer(callback=recorder)
    rounds(consumer, lambda: consumer.stats.processed == 2)
    assert recorder.calls[0] == recorder.calls[1]
    assert len(recorder.calls) == 2
    consumer.close()


def test_an_unknown_failure_identifier_retries_the_whole_batch(env: Env) -> None:
    env.put("o-1", "o-2")
    responses = iter([{"batchItemFailures": [{"itemIdentifier": "not-a-sequence"}]}, None])
    recorder = Recorder(lambda records, call: next(responses))
    consumer = env.consumer(callback=recorder)
    rounds(consumer, lambda: consumer.stats.processed == 2)
    assert recorder.calls[0] == recorder.calls[1]
    consumer.close()


def test_after_the_retries_the_default_stops_and_never_skips(env: Env) -> None:
    env.put("o-1", "o-2", "o-3")

    def fail_second(records: list[Any], call: int) -> Any:
        ids = [r.keys["orderId"] for r in records]
        return {
            "batchItemFailures": [{"itemIdentifier": records[ids.index("o-2")].sequence_number}]
        }

    recorder = Recorder(fail_second)
    consumer = env.consumer(callback=recorder, max_retries=2)
    with pytest.raises(DeliveryError) as caught:
        consumer.run(handle_signals=False)
    (o1, o2, o3) = recorder.calls[0]
    assert recorder.calls == [[o1, o2, o3], [o2, o3], [o2, o3]]
    message = str(caught.value)
    assert f"2 record(s) from sequence number {o2[1]} to {o3[1]}" in message
    assert "still failed after 3 attempt(s) (the callback reported them as failed)" in message
    assert f"the checkpoint stays before {o2[1]}" in message
    row = env.row()
    assert row["checkpoint"]["S"] == o1[1]
    assert "owner" not in row  # leases released when the consumer stops on an error

    # A restart resumes at the failed record: nothing was skipped.
    again = Recorder()
    consumer = env.consumer(callback=again)
    rounds(consumer, lambda: consumer.stats.processed == 2)
    assert again.seen == [o2, o3]
    consumer.close()


def test_an_on_failure_hook_that_returns_moves_past_the_records(env: Env) -> None:
    env.put("o-1", "o-2")
    failures: list[DeliveryFailure] = []

    def always(records: list[Any], call: int) -> None:
        raise ValueError("bad order")

    consumer = env.consumer(callback=Recorder(always), max_retries=1, on_failure=failures.append)
    rounds(consumer, lambda: bool(failures) and consumer.stats.skipped == 2)
    (failure,) = failures
    assert failure.attempts == 2 and isinstance(failure.error, ValueError)
    assert [r["dynamodb"]["Keys"]["orderId"]["S"] for r in failure.records] == ["o-1", "o-2"]
    assert failure.records[0]["eventSource"] == "aws:dynamodb"  # Lambda-shaped
    assert env.row()["checkpoint"]["S"] == failure.last_sequence_number
    assert consumer.stats.processed == 0
    consumer.close()


def test_the_bundled_lambda_handler_runs_unchanged(env: Env) -> None:
    env.put("o-1", customerId="c-1", total="12.5")
    env.put("o-2", poison=True)
    env.put("o-3")
    consumer = env.consumer(handler=load_handler("process_order_changes:handler"), max_retries=1)
    with pytest.raises(DeliveryError, match=r"2 record\(s\) from sequence number") as caught:
        consumer.run(handle_signals=False)
    failure = caught.value.failure
    assert [r["dynamodb"]["Keys"]["orderId"]["S"] for r in failure.records] == ["o-2", "o-3"]
    assert consumer.stats.processed == 1  # o-1 is checkpointed, o-2 and o-3 are not
    assert env.row()["checkpoint"]["S"] < failure.first_sequence_number


def test_a_handler_response_that_is_not_an_object_means_success(env: Env) -> None:
    env.put("o-1")
    events: list[dict[str, Any]] = []
    consumer = env.consumer(handler=lambda event, context: events.append(event) or "done")
    rounds(consumer, lambda: consumer.stats.processed == 1)
    (record,) = events[0]["Records"]
    assert record["eventSourceARN"] == env.stream_arn and record["awsRegion"] == "us-east-1"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    consumer.close()


def test_latest_starts_after_the_first_round_and_is_recorded(env: Env) -> None:
    env.put("before")
    recorder = Recorder()
    consumer = env.consumer(callback=recorder, starting_position="LATEST")
    consumer.coordinate()
    assert env.row()["startingPosition"]["S"] == "LATEST"
    env.put("after")
    rounds(consumer, lambda: len(recorder.seen) == 1)
    assert recorder.ids == ["after"]
    consumer.close()


# -- crash, restart and takeover -------------------------------------------------------


def test_a_crash_loses_nothing_and_repeats_only_what_followed_the_checkpoint(env: Env) -> None:
    ids = [f"o-{i:02d}" for i in range(30)]
    env.put(*ids)

    def crash_in_third_batch(records: list[Any], call: int) -> None:
        if call == 3:
            raise Crash  # mid-batch: this batch is not checkpointed, no lease is released

    first = Recorder(crash_in_third_batch)
    consumer = env.consumer(callback=first, batch_size=5, lease_duration=2.0, worker_id="A")
    with pytest.raises(Crash):
        consumer.run(handle_signals=False)
    row = env.row()
    assert row["owner"]["S"] == "A"  # the dead worker still holds the lease
    checkpoint = row["checkpoint"]["S"]
    assert checkpoint == first.calls[1][-1][1]

    # A second worker whose clock is past A's lease: it takes the shard over at once.
    second = Recorder()
    takeover = env.consumer(
        callback=second, batch_size=5, worker_id="B", clock=lambda: time.time() + 2.5
    )
    rounds(takeover, lambda: len(second.seen) >= 20)
    takeover.close()
    assert first.ids + second.ids[5:] == ids  # in order, nothing lost
    twice = [pair for pair in first.seen if pair in second.seen]
    assert twice == first.calls[2]  # exactly the batch after the last checkpoint
    assert all(seq > checkpoint for _, seq in twice)
    assert takeover.stats.leases_taken == 1
    assert env.row()["checkpoint"]["S"] == second.seen[-1][1]


def test_one_shard_two_workers_the_second_waits_then_takes_over(env: Env) -> None:
    first, second = Recorder(), Recorder()
    clock = FakeClock()
    a = env.consumer(callback=first, worker_id="A", lease_duration=0.6, clock=clock)
    b = env.consumer(callback=second, worker_id="B", lease_duration=0.6, clock=clock)
    a.coordinate()
    b.coordinate()
    assert (a.held_shards, b.held_shards) == ([env.row()["shardId"]["S"]], [])
    env.put("o-1", "o-2")
    rounds(a, lambda: len(first.seen) == 2)
    for _ in range(5):
        b.run_once()
    assert second.calls == [] and b.held_shards == []

    a.close()  # graceful: the lease is free at once, no expiry to wait out
    assert "owner" not in env.row()
    env.put("o-3")
    b.coordinate()
    rounds(b, lambda: len(second.seen) == 1)
    assert second.ids == ["o-3"]  # resumed after A's checkpoint: no repeats

    # B stops renewing (it hangs); once its lease expires, A takes the shard back.
    clock.now += 0.7
    env.put("o-4")
    a.coordinate()
    assert a.held_shards == [env.row()["shardId"]["S"]]
    rounds(a, lambda: len(first.seen) == 3)
    assert first.ids == ["o-1", "o-2", "o-4"]
    # B's lease is gone: it stops before calling back again, however far it had read.
    env.put("o-5")
    b.run_once()
    assert b.held_shards == [] and b.stats.leases_lost == 1
    assert second.ids == ["o-3"]
    a.close()


def test_a_stolen_lease_stops_its_old_holder_at_its_next_checkpoint(env: Env) -> None:
    first = Recorder()
    a = env.consumer(callback=first, worker_id="A")
    a.coordinate()
    (shard,) = a.held_shards
    thief = LeaseTable(env.ddb, env.lease_table, env.stream_arn, "B")
    stolen = thief.steal(shard, "A")
    assert stolen is not None
    lease, victims_expiry = stolen
    assert lease.owner == "B" and victims_expiry > 0  # A may go on until then
    env.put("o-1")
    rounds(a, lambda: a.stats.leases_lost == 1)
    assert a.held_shards == []
    assert env.row()["owner"]["S"] == "B"
    assert "checkpoint" not in env.row()  # A's late batch was not checkpointed
    for _ in range(3):
        a.run_once()  # A no longer reads the shard
    assert len(first.calls) <= 1


# -- shutdown ------------------------------------------------------------------------


def test_stop_finishes_the_batch_checkpoints_and_releases(env: Env) -> None:
    env.put(*(f"o-{i}" for i in range(5)))
    started, release = threading.Event(), threading.Event()

    def slow(records: list[Any], call: int) -> None:
        started.set()
        release.wait(5)

    recorder = Recorder(slow)
    consumer = env.consumer(callback=recorder)
    worker = threading.Thread(target=consumer.run, kwargs={"handle_signals": False})
    worker.start()
    assert started.wait(5)
    consumer.stop()  # while the callback runs
    release.set()
    worker.join(5)
    assert not worker.is_alive()
    assert consumer.stats.processed == 5 and consumer.stats.leases_released == 1
    row = env.row()
    assert "owner" not in row and row["leaseExpiresAt"]["N"] == "0"
    assert row["checkpoint"]["S"] == recorder.seen[-1][1]


def test_the_context_manager_releases_the_leases(env: Env) -> None:
    with env.consumer(callback=print) as consumer:
        consumer.coordinate()
        assert env.row()["owner"]["S"] == consumer.worker_id
    assert "owner" not in env.row()


# -- several shards (moto has one per stream: a fake Streams API supplies more) ----------


class FakeStreams:
    """Shards as lists of sequence numbers; a closed shard ends after its records."""

    def __init__(self, shards: dict[str, tuple[list[int], str | None, bool]]) -> None:
        self.shards = shards

    def describe_stream(self, StreamArn: str, **_: Any) -> dict[str, Any]:
        shards = []
        for shard_id, (_, parent, closed) in self.shards.items():
            numbers = {"StartingSequenceNumber": "0"}
            if closed:
                numbers["EndingSequenceNumber"] = "999999"
            entry: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": numbers}
            if parent:
                entry["ParentShardId"] = parent
            shards.append(entry)
        return {"StreamDescription": {"StreamStatus": "ENABLED", "Shards": shards}}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, SequenceNumber: str = ""
    ) -> dict[str, Any]:
        seqs = self.shards[ShardId][0]
        position = 0
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            position = [f"{s:06d}" for s in seqs].index(SequenceNumber) + 1
        elif ShardIteratorType == "LATEST":
            position = len(seqs)
        return {"ShardIterator": f"{ShardId}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, position = ShardIterator.split("|")
        seqs, _, closed = self.shards[shard_id]
        chunk = seqs[int(position) : int(position) + Limit]
        end = int(position) + len(chunk)
        records = [
            {
                "eventID": str(s),
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": {"orderId": {"S": f"{shard_id}/{s}"}},
                    "SequenceNumber": f"{s:06d}",
                },
            }
            for s in chunk
        ]
        response: dict[str, Any] = {"Records": records}
        if not (closed and end >= len(seqs)):
            response["NextShardIterator"] = f"{shard_id}|{end}"
        return response


def test_two_workers_split_the_shards_and_keep_lineage(env: Env) -> None:
    streams = FakeStreams(
        {
            "shard-1": ([1, 2, 3], None, True),
            "shard-2": ([10, 11], None, False),
            "shard-3": ([20, 21], "shard-1", False),  # a child of shard-1: it waits
            "shard-4": ([30], None, False),
        }
    )
    clock = FakeClock()
    order: list[tuple[str, str]] = []

    def consumer(worker: str) -> Consumer:
        def callback(records: list[Any]) -> None:
            order.extend((worker, r.keys["orderId"]) for r in records)

        return env.consumer(
            callback=callback, worker_id=worker, dynamodbstreams=streams, clock=clock
        )

    a, b = consumer("A"), consumer("B")
    a.coordinate()
    assert a.held_shards == ["shard-1", "shard-2", "shard-4"]  # B is not known yet
    b.coordinate()
    # A holds more than its share of 3 / 2: B asks for one lease, and waits for it.
    assert b.held_shards == [] and b.stats.leases_stolen == 1
    rows = {item["shardId"]["S"]: item for item in env.rows()}
    assert rows["shard-4"]["wantedBy"]["S"] == "B" and rows["shard-4"]["owner"]["S"] == "A"
    a.run_once()  # A finishes its batches (shard-1 to its end) and learns shard-4 is wanted
    assert a.stats.shards_finished == 1
    a.run_once()  # between batches: A hands shard-4 over to B
    assert "shard-4" not in a.held_shards and a.stats.leases_lost == 0
    b.coordinate()
    assert b.held_shards == ["shard-4"]
    for _ in range(5):  # 15 s pass; both renew their own as they go
        clock.now += 3
        a.coordinate()  # shard-1 is finished: its child shard-3 is eligible now
        b.coordinate()
        a.run_once()
        b.run_once()
    assert a.stats.leases_lost == 0 and b.stats.leases_lost == 0  # no bouncing
    assert sorted(a.held_shards + b.held_shards) == ["shard-2", "shard-3", "shard-4"]
    assert len(a.held_shards) >= 1 and len(b.held_shards) >= 1
    keys = [key for _, key in order]
    by_shard = {s: [k for k in keys if k.startswith(s + "/")] for s in streams.shards}
    # Nothing lost, nothing twice: the handover happened between batches.
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 8
    assert by_shard["shard-1"] == ["shard-1/1", "shard-1/2", "shard-1/3"]
    assert keys.index("shard-3/20") > keys.index("shard-1/3")  # parent before child
    assert ("A", "shard-4/30") in order  # delivered by A before the handover
    rows = {item["shardId"]["S"]: item for item in env.rows()}
    # shard-1 is finished and its only child has started: its row is no longer needed.
    assert "shard-1" not in rows and a.stats.leases_deleted + b.stats.leases_deleted == 1
    assert rows["shard-3"]["parentShardId"]["S"] == "shard-1"
    a.close()
    b.close()


# -- the lease table stays the size of the live shards ---------------------------------


def lease_rows(env: Env) -> dict[str, dict[str, Any]]:
    return {item["shardId"]["S"]: item for item in env.rows()}


def test_a_finished_parents_row_goes_once_its_child_started_and_never_comes_back(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cdk_streams.consumer")
    streams = FakeStreams({"shard-1": ([1, 2], None, True), "shard-2": ([], "shard-1", False)})
    a = env.consumer(callback=print, worker_id="A", dynamodbstreams=streams)
    a.coordinate()
    a.run_once()  # shard-1 read to its end; shard-2 is eligible now but not started
    assert a.stats.shards_finished == 1
    a.coordinate()
    assert a.held_shards == ["shard-2"] and "checkpoint" not in lease_rows(env)["shard-2"]
    assert sorted(lease_rows(env)) == ["shard-1", "shard-2"]  # taken, not started: kept
    streams.shards["shard-2"] = ([10, 11], "shard-1", False)
    a.run_once()  # the child's first checkpoint
    a.coordinate()
    assert sorted(lease_rows(env)) == ["shard-2"] and a.stats.leases_deleted == 1
    assert (
        "deleted the lease row of finished shard shard-1: its child shards have started"
        in caplog.messages
    )
    # The stream still lists shard-1 (for 24 h): neither this worker nor a new one,
    # which never saw its row, adds it back (that would replay it).
    b = env.consumer(callback=print, worker_id="B", dynamodbstreams=FakeStreams(streams.shards))
    for worker in (a, b, a):
        worker.coordinate()
    assert sorted(lease_rows(env)) == ["shard-2"]
    a.close()
    b.close()


def test_two_workers_deleting_the_same_row_do_not_fight(env: Env) -> None:
    streams = FakeStreams({"shard-1": ([1], None, True), "shard-2": ([5], "shard-1", False)})
    a = env.consumer(callback=print, worker_id="A", dynamodbstreams=streams)
    b = env.consumer(callback=print, worker_id="B", dynamodbstreams=streams)
    rounds(a, lambda: "checkpoint" in lease_rows(env).get("shard-2", {}))
    stale = b.leases.scan()  # B decides on this view, then A deletes first
    assert stale["shard-1"].finished and stale["shard-2"].started
    a.coordinate()
    assert a.stats.leases_deleted == 1
    parents = {"shard-1": None, "shard-2": "shard-1"}
    assert b.coordinator.prune(stale, parents) == ["shard-1"]  # gone: the same outcome
    assert b.stats.leases_deleted == 0
    # An unfinished row is never deleted, whatever a stale view said.
    assert b.leases.delete("shard-2") is False
    b.coordinate()
    assert sorted(lease_rows(env)) == ["shard-2"]
    a.close()
    b.close()


def test_a_trimmed_finished_shard_goes_at_the_next_hourly_check(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cdk_streams.consumer")
    # A disabled stream: its shard closes with no child, so only the trim frees its row.
    streams = FakeStreams({"shard-1": ([1], None, True)})
    clock = FakeClock()
    a = env.consumer(callback=print, worker_id="A", dynamodbstreams=streams, clock=clock)
    rounds(a, lambda: a.stats.shards_finished == 1)
    a.coordinate()
    assert list(lease_rows(env)) == ["shard-1"]  # still listed
    del streams.shards["shard-1"]  # 24 h after it closed
    a.coordinate()
    assert list(lease_rows(env)) == ["shard-1"]  # the stream is asked once an hour at most
    clock.now += 3600
    a.coordinate()
    assert lease_rows(env) == {} and a.stats.leases_deleted == 1
    assert (
        "deleted the lease row of finished shard shard-1: the stream no longer lists it "
        "(trimmed)" in caplog.messages
    )
    # A row left over from a shard the stream no longer has goes as soon as it is taken.
    LeaseTable(env.ddb, env.lease_table, env.stream_arn, "Z").create(
        "shard-0", parent_shard_id=None, starting_position="TRIM_HORIZON"
    )
    a.coordinate()
    assert lease_rows(env) == {} and a.stats.leases_deleted == 2
    assert "deleted the lease row of shard shard-0: the stream no longer lists it" in caplog.text
    a.close()


def test_the_lease_table_stays_bounded_across_many_rollovers(env: Env) -> None:
    """A shard rolls over every 4 h and is trimmed 24 h after it closed: 10 rollovers,
    so the first trims (from the 7th) happen too."""
    streams = FakeStreams({"s-000": ([0], None, False)})
    clock = FakeClock()
    got: list[str] = []
    a = env.consumer(
        callback=lambda records: got.extend(r.keys["orderId"] for r in records),
        worker_id="A",
        dynamodbstreams=streams,
        clock=clock,
    )
    most = 0
    for n in range(1, 11):
        clock.now += 4 * 3600
        previous = f"s-{n - 1:03d}"
        streams.shards[previous] = (streams.shards[previous][0], streams.shards[previous][1], True)
        streams.shards[f"s-{n:03d}"] = ([n], previous, False)
        streams.shards.pop(f"s-{n - 7:03d}", None)  # 24 h after it closed
        for _ in range(5):  # read the parent's end, finish it, take the child, read it
            if len(got) == n + 1:
                break
            a.run_once()
        a.coordinate()
        most = max(most, len(env.rows()))
    assert got == [f"s-{n:03d}/{n}" for n in range(11)]  # in order, each once
    assert most <= 2 and a.stats.leases_deleted == 10
    assert sorted(lease_rows(env)) == ["s-010"]
    a.close()


class Lagging:
    """A view of a :class:`FakeStreams` whose DescribeStream leaves out the shards in
    ``hidden``: one worker's listing behind another's."""

    def __init__(self, streams: FakeStreams) -> None:
        self.streams = streams
        self.hidden: set[str] = set()

    def describe_stream(self, **kwargs: Any) -> dict[str, Any]:
        description = self.streams.describe_stream(**kwargs)["StreamDescription"]
        shards = [s for s in description["Shards"] if s["ShardId"] not in self.hidden]
        return {"StreamDescription": {**description, "Shards": shards}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.streams, name)


def test_a_shard_this_workers_listing_misses_is_released_not_finished(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cdk_streams.consumer")
    streams = FakeStreams({"shard-1": ([1], None, True), "shard-2": ([10], "shard-1", False)})
    b = env.consumer(callback=print, worker_id="B", dynamodbstreams=streams)
    b.coordinate()  # adds both rows and takes shard-1; shard-2 waits for it
    b.run_once()  # shard-1 read to its end: its new child shard-2 may be taken now
    assert b.stats.shards_finished == 1 and b.held_shards == []
    got: list[str] = []
    listing = Lagging(streams)  # A's fresh listing (the trim checks, listed_shard_ids)
    a = env.consumer(
        callback=lambda records: got.extend(r.keys["orderId"] for r in records),
        worker_id="A",
        dynamodbstreams=listing,
    )
    view = a.reader.client = Lagging(streams)  # what A's reader lists
    view.hidden = {"shard-2"}  # A's DescribeStream does not show the new shard yet
    released = "shard shard-2 is in the stream but not yet in this worker's listing of it; "
    for hidden_from_the_fresh_listing in (set(), {"shard-2"}):  # its parent is listed still
        listing.hidden = hidden_from_the_fresh_listing
        a.coordinate()  # takes shard-2; its reader does not find it
        assert a.held_shards == [] and a.stats.shards_finished == 0
        row = lease_rows(env)["shard-2"]
        assert "owner" not in row and not row["finished"]["BOOL"] and "checkpoint" not in row
    assert sorted(lease_rows(env)) == ["shard-1", "shard-2"]  # nothing deleted
    assert len([m for m in caplog.messages if m.startswith(released)]) == 2
    view.hidden = listing.hidden = set()
    a.coordinate()  # a later round: the listing caught up
    assert a.held_shards == ["shard-2"]
    a.run_once()
    assert got == ["shard-2/10"]
    a.close()
    b.close()


class PausingScan:
    """A dynamodb client whose Scan returns two pages with ``between()`` run before the
    second, as a paginated Scan is not a snapshot: the first page holds only the rows
    in ``first_page``, the second whatever else the table holds by then."""

    def __init__(self, client: Any, first_page: set[str]) -> None:
        self._client = client
        self.first_page = first_page
        self.between: Callable[[], None] | None = None

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        if self.between is None:
            return dict(self._client.scan(**kwargs))
        if "ExclusiveStartKey" not in kwargs:
            items = [
                item
                for item in self._client.scan(**kwargs)["Items"]
                if item["shardId"]["S"] in self.first_page
            ]
            return {"Items": items, "LastEvaluatedKey": {"shardId": items[-1]["shardId"]}}
        between, self.between = self.between, None
        between()
        kwargs.pop("ExclusiveStartKey")
        items = self._client.scan(**kwargs)["Items"]
        return {"Items": [i for i in items if i["shardId"]["S"] not in self.first_page]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_parent_deleted_between_two_pages_of_a_scan_is_not_added_back(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cdk_streams.consumer")
    streams = FakeStreams({"shard-1": ([1, 2], None, True), "shard-2": ([10], "shard-1", False)})
    a = env.consumer(callback=print, worker_id="A", dynamodbstreams=streams)
    a.coordinate()
    a.run_once()  # shard-1 read to its end
    a.coordinate()
    assert a.held_shards == ["shard-2"] and "checkpoint" not in lease_rows(env)["shard-2"]
    got: list[str] = []
    scan = PausingScan(env.ddb, first_page={"shard-2"})
    fresh = env.consumer(
        callback=lambda records: got.extend(r.keys["orderId"] for r in records),
        worker_id="W",
        dynamodb=scan,
        dynamodbstreams=FakeStreams(streams.shards),
    )

    def meanwhile() -> None:
        a.run_once()  # shard-2's first checkpoint
        a.coordinate()  # so shard-1's row goes
        assert sorted(lease_rows(env)) == ["shard-2"]

    scan.between = meanwhile
    fresh.coordinate()  # page 1: shard-2 not started; page 2: no shard-1 any more
    assert scan.between is None  # the Scan was split as described
    assert sorted(lease_rows(env)) == ["shard-2"] and fresh.held_shards == []
    fresh.run_once()
    assert got == []  # shard-1 is not read again
    assert (
        "not adding a row for shard shard-1: a child shard has started, so it was read and "
        "its row deleted" in caplog.messages
    )
    fresh.coordinate()  # remembered: no second look
    assert sorted(lease_rows(env)) == ["shard-2"]
    a.close()
    fresh.close()


def test_an_unfinished_row_deleted_by_hand_comes_back_and_a_pruned_one_does_not(
    env: Env,
) -> None:
    streams = FakeStreams(
        {
            "shard-1": ([1], None, True),
            "shard-2": ([10, 11], "shard-1", False),
            "shard-3": ([20], None, False),
        }
    )
    got: list[str] = []
    a = env.consumer(
        callback=lambda records: got.extend(r.keys["orderId"] for r in records),
        worker_id="A",
        dynamodbstreams=streams,
    )
    a.coordinate()
    a.run_once()  # shard-1 to its end, shard-3 read
    a.coordinate()
    a.run_once()  # shard-2 read
    a.coordinate()  # shard-1's row goes: its child started
    assert sorted(lease_rows(env)) == ["shard-2", "shard-3"]
    assert sorted(got) == ["shard-1/1", "shard-2/10", "shard-2/11", "shard-3/20"]
    # An operator resets shard-2: its row goes, and with it the checkpoint.
    env.ddb.delete_item(TableName=env.lease_table, Key={"shardId": {"S": "shard-2"}})
    a.coordinate()  # the next round, in the same process
    rows = lease_rows(env)
    assert sorted(rows) == ["shard-2", "shard-3"]  # shard-1 is not added back
    assert "checkpoint" not in rows["shard-2"] and a.held_shards == ["shard-2", "shard-3"]
    a.run_once()
    assert got[4:] == ["shard-2/10", "shard-2/11"]  # read again from TRIM_HORIZON
    a.close()


def test_a_trimmed_shards_row_deleted_by_another_worker_is_not_added_back(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cdk_streams.consumer")
    streams = FakeStreams({"shard-1": ([1, 2], None, True)})  # closed, no child: disabled
    clock = FakeClock()
    b = env.consumer(callback=print, worker_id="B", dynamodbstreams=streams, clock=clock)
    b.coordinate()  # B's reader lists shard-1, and B takes it
    assert b.held_shards == ["shard-1"]
    del streams.shards["shard-1"]  # trimmed before B read it (B was 24 h behind)
    clock.now += 11  # and B's lease ran out
    a = env.consumer(callback=print, worker_id="A", dynamodbstreams=streams, clock=clock)
    a.coordinate()  # takes shard-1, which its reader never saw: finished and deleted
    assert lease_rows(env) == {} and a.stats.leases_deleted == 1
    b.coordinate()  # B's reader still lists shard-1; the stream does not
    assert lease_rows(env) == {} and b.held_shards == []
    assert "not adding back the row of shard shard-1: the stream no longer lists it" in (
        caplog.messages
    )
    a.close()
    b.close()


# -- a restarted worker says what it waits for ----------------------------------------


def test_a_worker_waiting_for_a_live_lease_says_so_once(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cdk_streams.consumer")
    clock = FakeClock()
    dead = env.consumer(callback=print, worker_id="killed", clock=clock)
    dead.coordinate()  # then SIGKILL: the lease is never renewed nor released
    (shard,) = dead.held_shards
    clock.now += 0.3
    restarted = env.consumer(callback=print, worker_id="B", clock=clock)
    restarted.coordinate()
    restarted.coordinate()
    lines = [m for m in caplog.messages if m.startswith("waiting for a lease")]
    assert len(lines) == 1, caplog.messages
    expires = int(env.row()["leaseExpiresAt"]["N"])
    until = datetime.fromtimestamp(expires / 1000).astimezone().isoformat(timespec="milliseconds")
    assert lines[0] == (
        f"waiting for a lease held by another worker: shard {shard} is held by killed until "
        f"{until} (9.7 s from now), then taken over unless that worker renews it"
    )
    clock.now += 10
    restarted.coordinate()
    assert restarted.held_shards == [shard]
    assert len([m for m in caplog.messages if m.startswith("waiting for a lease")]) == 1
    restarted.close()


# -- the command line ----------------------------------------------------------------


def test_cli_consume_errors(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["consume", "--endpoint-url", env.cloud.endpoint_url, "--region", "us-east-1"]
    assert main([*base, "--table", env.table, "--handler", "process_order_changes"]) == 2
    assert capsys.readouterr().err == (
        "cdk-streams consume: --handler: handler must be module.function (or module:function), "
        "e.g. orders.handler; got 'process_order_changes'\n"
    )
    assert main([*base, "--table", "nope", "--handler", "process_order_changes.handler"]) == 2
    assert (
        "cdk-streams consume: table 'nope' not found in region us-east-1" in capsys.readouterr().err
    )
    # The table is checked before the lease table is created: a typo leaves nothing behind.
    assert "nope-leases" not in env.ddb.list_tables()["TableNames"]
    spec = [*base, "--table", env.table, "--handler", "process_order_changes:handler"]
    assert main([*spec, "--batch-size", "0"]) == 2
    assert "--batch-size must be 1..1000, got 0" in capsys.readouterr().err
    assert main([*spec, "--lease-table", env.table]) == 2
    assert f"cdk-streams consume: table '{env.table}' cannot hold leases" in capsys.readouterr().err


def test_cli_consume_without_a_region(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    args = ["consume", "--table", env.table, "--handler", "process_order_changes:handler"]
    assert main([*args, "--endpoint-url", env.cloud.endpoint_url]) == 2
    assert "no region: pass --region or set AWS_REGION" in capsys.readouterr().err


def test_cli_consume_stops_with_status_1_when_a_batch_keeps_failing(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.put("o-1")
    env.put("o-2", poison=True)
    args = ["consume", "--table", env.table, "--handler", "process_order_changes:handler"]
    args += ["--endpoint-url", env.cloud.endpoint_url, "--region", "us-east-1"]
    assert main([*args, "--lease-table", env.lease_table, "--max-retries", "0"]) == 1
    err = capsys.readouterr().err
    assert "cdk-streams consume: stopped: shard " in err
    assert "1 record(s) from sequence number" in err
    assert "still failed after 1 attempt(s)" in err
    assert "owner" not in env.row() and "checkpoint" in env.row()


def test_cli_consume_runs_the_sample_handler_and_stops_on_sigterm(env: Env) -> None:
    env.put(*(f"o-{i}" for i in range(12)), customerId="c-1", total="9.5")
    command = [
        sys.executable,
        "-m",
        "cdk_streams.cli",
        "consume",
        "--table",
        env.table,
        "--handler",
        "process_order_changes:handler",
        "--endpoint-url",
        env.cloud.endpoint_url,
        "--region",
        "us-east-1",
        "--worker-id",
        "cli-worker",
        "--batch-size",
        "5",
    ]
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        lease_table = f"{env.table}-leases"
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the CLI consumer did not catch up"
            tables = env.ddb.list_tables()["TableNames"]
            if lease_table in tables:
                items = env.ddb.scan(TableName=lease_table, ConsistentRead=True)["Items"]
                if items and items[0].get("checkpoint") and items[0].get("owner"):
                    break
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "created lease table" in err
    assert "consumer stopped, leases released" in err
    assert '"message":"order placed"' in err  # the sample handler's own log lines
    (row,) = env.ddb.scan(TableName=f"{env.table}-leases", ConsistentRead=True)["Items"]
    assert "owner" not in row


# -- the command line: exit statuses and on-failure choices ------------------------------

HANDLER_MODULE = """
import json, os, signal, sys, threading

import boto3

handled = []


def handle(event, context):
    failures = []
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage", {})
        order_id = image["orderId"]["S"]
        if "poison" in image:  # ordered: this one and everything after it are retried
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
            break
        if "crash" in image:
            raise ValueError("cannot process " + order_id)
        if "hang" in image:
            print("handler hangs", file=sys.stderr, flush=True)
            threading.Event().wait(float(image["hang"]["S"]))
        if "drop_leases" in image:
            client = boto3.client("dynamodb", endpoint_url=os.environ["TEST_ENDPOINT"])
            client.delete_table(TableName=image["drop_leases"]["S"])
        handled.append(order_id)
        if "last" in image:
            os.kill(os.getpid(), signal.SIGTERM)  # a stop request, as from a supervisor
    return {"batchItemFailures": failures}
"""


@pytest.fixture
def handler_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, env: Env) -> Any:
    name = f"cli_handler_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(HANDLER_MODULE)
    monkeypatch.setenv("TEST_ENDPOINT", env.cloud.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield tmp_path, name
    sys.modules.pop(name, None)
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def cli_args(env: Env, handler_dir: Any, *extra: str) -> list[str]:
    directory, name = handler_dir
    return [
        "consume",
        "--table",
        env.table,
        "--handler",
        f"{name}.handle",
        "--handler-dir",
        str(directory),
        "--endpoint-url",
        env.cloud.endpoint_url,
        "--region",
        "us-east-1",
        "--lease-table",
        env.lease_table,
        "--max-retries",
        "0",
        *extra,
    ]


def test_cli_on_failure_skip_logs_the_record_and_goes_on(
    env: Env, handler_dir: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    env.put("o-1")
    env.put("o-2", poison=True)
    env.put("o-3")
    env.put("o-4", last=True)
    assert main(cli_args(env, handler_dir, "--on-failure", "skip")) == 0
    assert sys.modules[handler_dir[1]].handled == ["o-1", "o-3", "o-4"]
    (line,) = [line for line in caplog.messages if "skipped record" in line]
    assert 'keys {"orderId": {"S": "o-2"}} sequence number ' in line
    assert "Traceback" not in capsys.readouterr().err
    assert env.row()["checkpoint"]["S"]  # checkpointed past the skipped record


def test_cli_on_failure_queue_sends_only_the_failing_record(
    env: Env, handler_dir: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sqs = env.cloud.client("sqs")
    url = sqs.create_queue(QueueName=f"{env.table}-failed")["QueueUrl"]
    env.put("o-1")
    env.put("o-2", crash=True)  # raises: no record named, so records are retried one by one
    env.put("o-3", last=True)
    assert main(cli_args(env, handler_dir, "--on-failure", url)) == 0
    # o-1 came before the failure in the batch that raised: that whole batch was retried.
    assert sys.modules[handler_dir[1]].handled == ["o-1", "o-1", "o-3"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    (body,) = [json.loads(message["Body"]) for message in messages]
    assert body["record"]["dynamodb"]["Keys"] == {"orderId": {"S": "o-2"}}
    assert "cannot process o-2" in body["error"]
    assert f"sent record of shard {body['shardId']} to {url}" in caplog.text


def test_cli_lease_duration_reaches_the_consumer(
    env: Env, handler_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cdk_streams.consumer

    given: dict[str, Any] = {}

    def consumer(*args: Any, **kwargs: Any) -> Any:
        given.update(kwargs)
        raise KeyboardInterrupt  # stands for Ctrl-C while starting: nothing else runs

    monkeypatch.setattr(cdk_streams.consumer, "Consumer", consumer)
    assert main(cli_args(env, handler_dir, "--lease-duration", "25")) == 0
    assert given["lease_duration"] == 25.0
    given.clear()
    assert main(cli_args(env, handler_dir)) == 0
    assert given["lease_duration"] == 10.0


def test_cli_bad_on_failure_is_a_usage_error(
    env: Env, handler_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli_args(env, handler_dir, "--on-failure", "drop")) == 2
    assert (
        "cdk-streams consume: --on-failure must be stop, skip or an SQS queue URL (https://sqs...), "
        "got 'drop'" in capsys.readouterr().err
    )


def test_cli_exit_status_3_when_aws_cannot_be_reached(
    env: Env, handler_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    args = cli_args(env, handler_dir, "--give-up-after", "0")
    args[args.index(env.cloud.endpoint_url)] = "http://localhost:9"  # nothing listens there
    assert main(args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("cdk-streams consume: cannot reach AWS: DescribeTable failed for 0 s")
    assert not any("Traceback" in line for line in err)


def test_cli_debug_shows_the_traceback_and_keeps_the_exit_status(
    env: Env, handler_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    args = cli_args(env, handler_dir, "--give-up-after", "0", "--debug")
    args[args.index(env.cloud.endpoint_url)] = "http://localhost:9"  # nothing listens there
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("cdk-streams consume: cannot reach AWS: DescribeTable failed for 0 s")
    )


def test_cli_exit_status_4_when_aws_refuses_a_call_while_running(
    env: Env, handler_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    env.put("o-1", drop_leases=env.lease_table)  # the lease table disappears mid-batch
    assert main(cli_args(env, handler_dir)) == 4
    err = capsys.readouterr().err
    assert "cdk-streams consume: stopped by an unexpected error: ResourceNotFoundException" in err
    assert "(--debug shows the traceback)" in err and "Traceback" not in err


def test_cli_exit_status_1_when_the_callback_times_out(
    env: Env, handler_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    env.put("o-1", hang="5")
    assert main(cli_args(env, handler_dir, "--callback-timeout", "0.05")) == 1
    err = capsys.readouterr().err
    assert "cdk-streams consume: stopped: shard " in err
    assert "the callback ran longer than callback_timeout=0.05 s on 1 record(s)" in err
    assert "checkpoint" not in env.row()  # not checkpointed: delivered again after a restart


def test_cli_a_second_sigint_exits_at_once_with_status_130(env: Env, handler_dir: Any) -> None:
    env.put("o-1", hang="60")
    command = [sys.executable, "-m", "cdk_streams.cli", *cli_args(env, handler_dir)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:  # wait until the handler hangs in the batch
            if "handler hangs" in line:
                break
        process.send_signal(signal.SIGINT)
        for line in process.stderr:  # two signals at once may arrive as one: one by one
            if "SIGINT received: finishing the current batch" in line:
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert "SIGINT received again: exiting now" in err
    assert "checkpoint" not in env.row()
