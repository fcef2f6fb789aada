"""The custom consumer under faults: long callbacks, lost leases, outages, shutdown errors.

Time is a fake clock shared by the workers and the lease table; retries sleep
on it too, so an "outage of 5 s" takes no real time. The background renewal
thread is driven tick by tick where its timing matters.
"""

from __future__ import annotations

import itertools
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from cdk_streams.consumer import (
    AwsRetry,
    AwsUnreachableError,
    CallbackTimeoutError,
    Consumer,
    ConsumerError,
    DeliveryFailure,
    LeaseTable,
    is_transient,
)
from cdk_streams.local import LocalCloud
from tests.consumer_tables import ConsumerTables

pytestmark = pytest.mark.slow

_names = itertools.count()


class FakeClock:
    """Epoch seconds that move only when told; ``sleep`` moves them."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Flaky:
    """A boto3 client that refuses connections while ``down()`` says so."""

    def __init__(self, client: Any, down: Callable[[], bool]) -> None:
        self._client = client
        self._down = down
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_waiter"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._down():
                self.refused += 1
                raise EndpointConnectionError(endpoint_url="http://localhost:1")
            return attribute(*args, **kwargs)

        return call


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as local:
        yield local


class Env(ConsumerTables):
    def __init__(self, cloud: LocalCloud) -> None:
        n = next(_names)
        super().__init__(cloud, f"faults-{n}", f"faults-{n}-leases")
        self.streams = cloud.client("dynamodbstreams")
        self.clock = FakeClock()

    def put(self, *order_ids: str, **attributes: str) -> None:
        for order_id in order_ids:
            item = {"orderId": {"S": order_id}}
            item.update({name: {"S": value} for name, value in attributes.items()})
            self.ddb.put_item(TableName=self.table, Item=item)

    def consumer(self, **kwargs: Any) -> Consumer:
        options: dict[str, Any] = {
            "lease_table": self.lease_table,
            "dynamodb": self.ddb,
            "dynamodbstreams": self.streams,
            "poll_interval": 0.0,
            "retry_delay": 0.0,
            "clock": self.clock,
            "sleep": self.clock.sleep,
            **kwargs,
        }
        return Consumer(self.table, **options)


@pytest.fixture
def env(cloud: LocalCloud) -> Env:
    return Env(cloud)


def order_ids(records: list[Any]) -> list[str]:
    return [record.keys["orderId"] for record in records]


# -- one worker per shard, always ----------------------------------------------------


def test_a_callback_three_times_longer_than_the_lease_keeps_its_shard(env: Env) -> None:
    """While A's callback runs for 3 leases, B tries to take the shard at every third of one."""
    env.put("o-1", "o-2")
    active: list[str] = []
    overlaps: list[tuple[str, str]] = []
    delivered: list[tuple[str, str]] = []
    workers: dict[str, Consumer] = {}

    def callback_of(worker: str) -> Callable[[list[Any]], None]:
        def callback(records: list[Any]) -> None:
            overlaps.extend((worker, other) for other in active)
            active.append(worker)
            delivered.extend((worker, order_id) for order_id in order_ids(records))
            if worker == "A":
                for _ in range(9):  # 9 thirds of a 1 s lease pass inside the callback
                    env.clock.sleep(1 / 3)
                    workers["A"].renew_leases()  # the background thread's tick
                    workers["B"].coordinate()
                    workers["B"].run_once()
                    assert workers["B"].held_shards == []
            active.remove(worker)

        return callback

    for worker in ("A", "B"):
        workers[worker] = env.consumer(
            callback=callback_of(worker), worker_id=worker, lease_duration=1.0
        )
    workers["A"].coordinate()
    assert workers["A"].run_once() == 2
    assert overlaps == []
    assert delivered == [("A", "o-1"), ("A", "o-2")]
    assert workers["A"].stats.leases_lost == 0 and workers["A"].stats.checkpoints == 1
    assert env.row()["owner"]["S"] == "A"
    workers["A"].close()
    workers["B"].close()


def test_the_background_thread_renews_while_the_run_loop_is_busy(env: Env) -> None:
    a = env.consumer(callback=print, worker_id="A", lease_duration=1.0)
    a.coordinate()
    start = int(env.row()["leaseCounter"]["N"])
    ticks: queue.Queue[None] = queue.Queue()

    def wait(_interval: float) -> bool:
        ticks.get()
        return False

    a.coordinator.start_renewing(1 / 3, wait=wait)
    try:
        for tick in range(1, 4):
            env.clock.sleep(1 / 3)
            ticks.put(None)
            deadline = time.monotonic() + 10
            while int(env.row()["leaseCounter"]["N"]) < start + tick:
                assert time.monotonic() < deadline, "the renewal thread did not renew"
                time.sleep(0.01)
        row = env.row()
        assert int(row["leaseExpiresAt"]["N"]) == int((env.clock.now + 1.0) * 1000)
        assert row["owner"]["S"] == "A"
    finally:
        a.coordinator._stop_renewing.set()
        ticks.put(None)
        a.close()


def test_a_lease_lost_during_the_callback_stops_delivery_before_the_checkpoint(env: Env) -> None:
    env.put("o-1", "o-2", "o-3", "o-4")
    calls: list[list[str]] = []
    thief = LeaseTable(env.ddb, env.lease_table, env.stream_arn, "B", clock=env.clock)

    def callback(records: list[Any]) -> None:
        calls.append(order_ids(records))
        if len(calls) == 1:
            assert thief.steal(shard, "A") is not None  # taken while A is processing

    a = env.consumer(callback=callback, worker_id="A", batch_size=2)
    a.coordinate()
    (shard,) = a.held_shards
    a.run_once()
    for _ in range(3):
        a.run_once()
    assert calls == [["o-1", "o-2"]]  # no second batch, no retry
    assert a.stats.leases_lost == 1 and a.stats.checkpoints == 0
    row = env.row()
    assert row["owner"]["S"] == "B" and "checkpoint" not in row


def test_a_paused_worker_whose_lease_was_taken_never_checkpoints(env: Env) -> None:
    """Paused past its lease (debugger, OS): its batch may run twice, its checkpoint is refused."""
    env.put("o-1")
    seen: dict[str, list[str]] = {"A": [], "B": []}
    b = env.consumer(callback=lambda r: seen["B"].extend(order_ids(r)), worker_id="B")

    def paused(records: list[Any]) -> None:
        seen["A"].extend(order_ids(records))
        env.clock.sleep(11)  # A is frozen for longer than its 10 s lease: nothing renews
        b.coordinate()  # B takes the expired lease and delivers the same batch
        b.run_once()

    a = env.consumer(callback=paused, worker_id="A")
    a.coordinate()
    a.run_once()
    assert seen == {"A": ["o-1"], "B": ["o-1"]}  # the documented at-least-once case
    assert a.stats.leases_lost == 1 and a.stats.checkpoints == 0
    assert env.row()["owner"]["S"] == "B" and b.stats.checkpoints == 1
    b.close()


def test_writes_are_fenced_on_the_counter_not_only_the_owner(env: Env) -> None:
    """A second process with the same worker id took the lease: the first one's write is refused."""
    a = env.consumer(callback=print, worker_id="A")
    a.coordinate()
    (shard,) = a.held_shards
    twin = LeaseTable(env.ddb, env.lease_table, env.stream_arn, "A", clock=env.clock)
    assert twin.take(shard) is not None  # allowed: same owner name, new counter
    assert a.coordinator.checkpoint(shard, "1") is False
    assert a.held_shards == [] and a.stats.leases_lost == 1
    assert "checkpoint" not in env.row()


# -- transient AWS errors -------------------------------------------------------------


def test_an_outage_of_5_s_is_survived_with_nothing_lost_and_the_lease_kept(env: Env) -> None:
    outage = {"from": float("inf"), "until": float("inf")}

    def down() -> bool:
        return outage["from"] <= env.clock.now < outage["until"]

    ddb, streams = Flaky(env.ddb, down), Flaky(env.streams, down)
    got: list[str] = []
    a = env.consumer(
        callback=lambda records: got.extend(order_ids(records)),
        worker_id="A",
        dynamodb=ddb,
        dynamodbstreams=streams,
        batch_size=3,
    )
    ids = [f"o-{i:02d}" for i in range(12)]
    env.put(*ids[:6])
    a.run_once()  # takes the lease, reads 3
    outage.update({"from": env.clock.now, "until": env.clock.now + 5})
    env.put(*ids[6:])  # written during the outage, straight to the service
    for _ in range(10):
        a.run_once()
    assert got == ids  # in order, nothing lost, nothing twice
    assert ddb.refused + streams.refused > 0 and a.aws.retried > 0
    assert env.clock.now >= outage["until"]  # the retries waited the outage out
    assert a.stats.leases_lost == 0 and env.row()["owner"]["S"] == "A"
    assert env.row()["checkpoint"]["S"]
    a.close()


def test_a_batch_read_just_before_an_outage_is_read_again_not_skipped(env: Env) -> None:
    """The lease runs out by this worker's clock between GetRecords and the callback."""
    outage = {"until": float("-inf")}
    ddb = Flaky(env.ddb, lambda: env.clock.now < outage["until"])
    reads = {"n": 0}

    class Streams:
        def __getattr__(self, name: str) -> Any:
            return getattr(env.streams, name)

        def get_records(self, **kwargs: Any) -> Any:
            response = env.streams.get_records(**kwargs)
            reads["n"] += 1
            if reads["n"] == 2:  # AWS goes away right after this read, past the lease
                env.clock.sleep(1.5)
                outage["until"] = env.clock.now + 3
            return response

    got: list[str] = []
    a = env.consumer(
        callback=lambda records: got.extend(order_ids(records)),
        worker_id="A",
        dynamodb=ddb,
        dynamodbstreams=Streams(),
        batch_size=2,
        lease_duration=1.0,
    )
    env.put("o-1", "o-2", "o-3", "o-4", "o-5", "o-6")
    for _ in range(10):
        a.run_once()
    assert got == ["o-1", "o-2", "o-3", "o-4", "o-5", "o-6"]
    assert a.stats.leases_lost == 0 and ddb.refused > 0
    a.close()


def test_an_outage_longer_than_give_up_after_raises_and_close_does_not_mask_it(
    env: Env,
) -> None:
    outage = {"on": False}
    ddb = Flaky(env.ddb, lambda: outage["on"])
    streams = Flaky(env.streams, lambda: outage["on"])
    env.put("o-1")

    def callback(records: list[Any]) -> None:
        outage["on"] = True  # AWS goes away for good during the first batch

    a = env.consumer(
        callback=callback, worker_id="A", dynamodb=ddb, dynamodbstreams=streams, give_up_after=30
    )
    started = env.clock.now
    with pytest.raises(AwsUnreachableError) as caught:
        a.run(handle_signals=False)
    assert str(caught.value).startswith("UpdateItem writing a checkpoint failed for 30 s")
    assert "EndpointConnectionError" in str(caught.value)
    assert env.clock.now - started >= 30
    outage["on"] = False
    assert env.row()["owner"]["S"] == "A"  # the release failed too; the lease runs out


def test_transient_errors_are_told_from_the_others() -> None:
    def client_error(code: str, status: int = 400) -> ClientError:
        return ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
        )

    assert is_transient(EndpointConnectionError(endpoint_url="x"))
    assert is_transient(client_error("ProvisionedThroughputExceededException"))
    assert is_transient(client_error("LimitExceededException"))
    assert is_transient(client_error("Whatever", 503))
    assert not is_transient(client_error("AccessDeniedException"))
    assert not is_transient(client_error("ConditionalCheckFailedException"))
    assert not is_transient(ValueError("x"))


def test_retries_back_off_exponentially_with_jitter_and_give_up_in_time() -> None:
    clock = FakeClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.sleep(seconds)

    retry = AwsRetry(give_up_after=20, clock=clock, sleep=sleep, jitter=lambda lo, hi: hi)

    def refuse() -> None:
        raise EndpointConnectionError(endpoint_url="http://x")

    with pytest.raises(AwsUnreachableError, match=r"^GetRecords failed for 20 s"):
        retry.call("GetRecords", refuse)
    # Doubling ceilings up to 5 s; the last wait ends exactly at the budget.
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 3.7])
    with pytest.raises(ValueError, match="not transient"):
        retry.call("x", lambda: (_ for _ in ()).throw(ValueError("not transient")))


# -- poison records, callback timeout ---------------------------------------------------


def test_failure_scope_record_sends_only_the_poison_record_on(env: Env) -> None:
    env.put("o-1", "o-2")
    env.put("o-3", poison="yes")
    env.put("o-4", "o-5")
    failures: list[DeliveryFailure] = []
    processed: list[str] = []

    def callback(records: list[Any]) -> Any:
        for record in records:
            if "poison" in record.new_image:
                return [record.sequence_number]
            processed.append(record.keys["orderId"])
        return None

    a = env.consumer(
        callback=callback, worker_id="A", failure_scope="record", on_failure=failures.append
    )
    a.coordinate()
    a.run_once()
    (failure,) = failures
    assert [r["dynamodb"]["Keys"]["orderId"]["S"] for r in failure.records] == ["o-3"]
    assert failure.attempts == 4  # the call and 3 retries
    assert processed.count("o-4") == 1 and processed.count("o-5") == 1
    assert sorted(set(processed)) == ["o-1", "o-2", "o-4", "o-5"]
    assert a.stats.skipped == 1
    a.close()


def test_failure_scope_batch_sends_the_rest_of_the_batch_on(env: Env) -> None:
    env.put("o-1")
    env.put("o-2", poison="yes")
    env.put("o-3")
    failures: list[DeliveryFailure] = []

    def callback(records: list[Any]) -> Any:
        return [r.sequence_number for r in records if "poison" in r.new_image]

    a = env.consumer(callback=callback, worker_id="A", max_retries=0, on_failure=failures.append)
    a.coordinate()
    a.run_once()
    (failure,) = failures
    assert [r["dynamodb"]["Keys"]["orderId"]["S"] for r in failure.records] == ["o-2", "o-3"]
    a.close()


def test_the_callback_timeout_stops_without_checkpoint_or_release(env: Env) -> None:
    env.put("o-1")
    release = threading.Event()
    a = env.consumer(
        callback=lambda records: release.wait(10), worker_id="A", callback_timeout=0.01
    )
    try:
        with pytest.raises(CallbackTimeoutError) as caught:
            a.run(handle_signals=False)
    finally:
        release.set()
    assert "the callback ran longer than callback_timeout=0.01 s on 1 record(s)" in str(
        caught.value
    )
    row = env.row()
    # Not released: the call may still be running, so nobody takes the shard before it runs out.
    assert row["owner"]["S"] == "A" and "checkpoint" not in row


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_scope": "rest"}, "failure_scope must be batch or record, got 'rest'"),
        ({"callback_timeout": 0}, "callback_timeout must be positive seconds or None, got 0"),
        ({"give_up_after": -1}, "give_up_after must be 0 or more seconds, got -1"),
    ],
)
def test_bad_fault_settings_say_what_was_given(
    env: Env, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConsumerError) as caught:
        env.consumer(callback=print, **kwargs)
    assert str(caught.value) == message


# -- layering -------------------------------------------------------------------------


def test_importing_the_consumer_loads_neither_moto_nor_the_local_cloud() -> None:
    code = (
        "import sys, cdk_streams.consumer\n"
        "bad = sorted(m for m in sys.modules if m == 'moto' or m.startswith('moto.')"
        " or m.startswith('cdk_streams.local'))\n"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_worker_asks_for_one_lease_at_a_time_and_gets_it_between_batches(env: Env) -> None:
    from test_consumer import FakeStreams  # several shards: the emulator gives one

    streams = FakeStreams({f"shard-{i}": ([i * 10 + 1], None, False) for i in range(1, 5)})
    a = env.consumer(callback=print, worker_id="A", dynamodbstreams=streams)
    b = env.consumer(callback=print, worker_id="B", dynamodbstreams=streams)
    a.coordinate()
    assert len(a.held_shards) == 4
    for _ in range(3):  # B is below its share of 2 in every round, but asks only once
        b.coordinate()
    rows = env.ddb.scan(TableName=env.lease_table, ConsistentRead=True)["Items"]
    assert [r["shardId"]["S"] for r in rows if r.get("wantedBy", {}).get("S") == "B"] == ["shard-4"]
    assert b.stats.leases_stolen == 1 and b.held_shards == []
    a.run_once()  # A delivers its batches and, in the same round, learns of the request
    a.run_once()  # between batches: the hand-over
    b.coordinate()
    assert b.held_shards == ["shard-4"] and len(a.held_shards) == 3
    assert a.stats.leases_lost == 0
    a.close()
    b.close()
