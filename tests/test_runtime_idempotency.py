"""IdempotencyGuard with StreamRouter: skip completed records, leases, store failures."""

from __future__ import annotations

import json
import logging

import pytest
import runtime_path
from stream_runtime import ChangeRecord, StreamRouter
from stream_runtime.idempotency import (
    COMPLETED,
    IN_PROGRESS,
    Claim,
    IdempotencyError,
    IdempotencyGuard,
    IdempotencyStoreError,
    InMemoryIdempotencyStore,
    RecordInProgressError,
)

from cdk_streams.testing import StreamEventFactory


class FakeClock:
    def __init__(self, now: float = 2_000_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Context:
    """The parts of the Lambda context the guard reads."""

    def __init__(self, request_id: str, remaining_ms: int = 60_000) -> None:
        self.aws_request_id = request_id
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def f() -> StreamEventFactory:
    return StreamEventFactory(key_names=("orderId",), start_time=1.8e9)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def held(store, record, clock, *, lease_seconds: float, token: str) -> None:
    """``record`` claimed by another invocation (``token``) whose lease runs
    ``lease_seconds`` more: a crashed one, or one still running."""
    store.claim(
        record["eventID"],
        token=token,
        now=clock.now,
        lease_expires=clock.now + lease_seconds,
        expires_at=int(clock.now) + 86400,
    )


def seqs(records: list[dict]) -> list[dict]:
    return [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]


def charging_router(
    guard: IdempotencyGuard, charged: list[str], fail_on: str | None = None
) -> StreamRouter:
    router = StreamRouter(idempotency=guard, metrics=False)

    @router.on_insert
    def charge(record: ChangeRecord) -> None:
        order_id = record.keys["orderId"]
        if order_id == fail_on:
            raise RuntimeError(f"payment service refused {order_id}")
        charged.append(order_id)

    return router


def orders(f: StreamEventFactory, n: int) -> list[dict]:
    return [f.insert({"orderId": f"o-{i}"}) for i in range(1, n + 1)]


def test_redelivered_batch_runs_each_side_effect_once(f, clock):
    store = InMemoryIdempotencyStore()
    charged: list[str] = []
    router = charging_router(IdempotencyGuard(store, clock=clock, sleep=clock.sleep), charged)
    records = orders(f, 3)
    assert router.handler({"Records": records[:2]}, Context("r1")) == {"batchItemFailures": []}
    # A timeout after two records: Lambda delivers the whole batch again.
    assert router.handler({"Records": records}, Context("r2")) == {"batchItemFailures": []}
    assert charged == ["o-1", "o-2", "o-3"]
    assert {item["status"] for item in store.items.values()} == {COMPLETED}
    # Keyed on eventID, kept for a day.
    assert set(store.items) == {r["eventID"] for r in records}
    assert {item["expires_at"] for item in store.items.values()} == {int(clock.now) + 86400}


def test_skipped_records_are_counted_in_the_metrics_line(f, clock):
    from stream_runtime.metrics import BatchMetrics

    lines: list[str] = []
    guard = IdempotencyGuard(InMemoryIdempotencyStore(), clock=clock, sleep=clock.sleep)
    router = StreamRouter(idempotency=guard, metrics=BatchMetrics(clock=clock, write=lines.append))
    router.on_insert(lambda record: None)
    records = orders(f, 3)
    router.handler({"Records": records[:2]}, Context("r1"))
    router.handler({"Records": records}, Context("r2"))
    last = json.loads(lines[-1])
    assert last["DuplicatesSkipped"] == 2
    assert last["Records"] == 3


def test_a_failing_route_releases_its_claim_so_the_retry_runs_at_once(f, clock):
    store = InMemoryIdempotencyStore()
    charged: list[str] = []
    guard = IdempotencyGuard(store, clock=clock, sleep=clock.sleep)
    records = orders(f, 3)
    failing = charging_router(guard, charged, fail_on="o-2")
    assert failing.handler({"Records": records}, Context("r1")) == {
        "batchItemFailures": seqs(records[1:])
    }
    assert records[1]["eventID"] not in store.items  # released
    assert records[2]["eventID"] not in store.items  # never claimed
    # The retry from o-2 runs o-2 and o-3 without waiting for any lease.
    retry = charging_router(guard, charged)
    assert retry.handler({"Records": records[1:]}, Context("r2")) == {"batchItemFailures": []}
    assert charged == ["o-1", "o-2", "o-3"]
    assert clock.slept == []


def test_a_crashed_invocations_claim_is_taken_over_after_its_lease(f, clock):
    store = InMemoryIdempotencyStore()
    record = orders(f, 1)[0]
    # A crashed invocation claimed o-1 and its lease runs 30 s more.
    held(store, record, clock, lease_seconds=30, token="crashed")
    charged: list[str] = []
    router = charging_router(IdempotencyGuard(store, clock=clock, sleep=clock.sleep), charged)
    # 60 s left in this invocation: the guard waits the lease out and takes over.
    assert router.handler({"Records": [record]}, Context("r2", 60_000)) == {"batchItemFailures": []}
    assert charged == ["o-1"]
    assert clock.slept and 30 <= sum(clock.slept) < 31
    assert store.items[record["eventID"]]["status"] == COMPLETED


def test_a_lease_outlasting_the_invocation_fails_the_record_in_order(f, clock, caplog):
    store = InMemoryIdempotencyStore()
    records = orders(f, 3)
    held(store, records[1], clock, lease_seconds=600, token="other")
    charged: list[str] = []
    router = charging_router(IdempotencyGuard(store, clock=clock, sleep=clock.sleep), charged)
    with caplog.at_level(logging.ERROR, logger="stream_runtime"):
        response = router.handler({"Records": records}, Context("r2", 60_000))
    assert response == {"batchItemFailures": seqs(records[1:])}
    assert charged == ["o-1"]
    # It waited as long as it may (max_wait, 30 s) before failing the record, so
    # that a retry at once finds the lease 30 s nearer its end.
    assert sum(clock.slept) == pytest.approx(30)
    assert "RecordInProgressError" in caplog.text
    assert "is in progress in another invocation" in caplog.text
    # The other claim stays: only the holder's token may release it.
    assert store.items[records[1]["eventID"]]["token"] == "other"
    # Once the lease has run out, Lambda's retry takes it over.
    clock.now += 601
    assert router.handler({"Records": records[1:]}, Context("r3")) == {"batchItemFailures": []}
    assert charged == ["o-1", "o-2", "o-3"]


def test_an_expired_completed_entry_no_longer_blocks(f, clock):
    store = InMemoryIdempotencyStore()
    charged: list[str] = []
    guard = IdempotencyGuard(store, ttl_seconds=60, clock=clock, sleep=clock.sleep)
    router = charging_router(guard, charged)
    record = orders(f, 1)[0]
    router.handler({"Records": [record]}, Context("r1"))
    clock.now += 61  # TTL deletion lags; the entry is still there but expired
    router.handler({"Records": [record]}, Context("r2"))
    assert charged == ["o-1", "o-1"]


def test_user_key_groups_records(f, clock):
    store = InMemoryIdempotencyStore()
    charged: list[str] = []
    guard = IdempotencyGuard(
        store, key=lambda record: f"charge#{record.keys['orderId']}", clock=clock
    )
    router = charging_router(guard, charged)
    # Two different changes of the same order: one charge.
    router.handler({"Records": [f.insert({"orderId": "o-1"}), f.insert({"orderId": "o-1"})]})
    assert charged == ["o-1"]
    assert set(store.items) == {"charge#o-1"}


def test_a_key_function_giving_nothing_fails_the_record(f, clock, caplog):
    guard = IdempotencyGuard(InMemoryIdempotencyStore(), key=lambda record: None, clock=clock)
    charged: list[str] = []
    records = orders(f, 2)
    with caplog.at_level(logging.ERROR, logger="stream_runtime"):
        response = charging_router(guard, charged).handler({"Records": records})
    assert response == {"batchItemFailures": seqs(records)}
    assert charged == []
    assert "IdempotencyKeyError" in caplog.text and "must return a non-empty string" in caplog.text


class BrokenStore:
    """A store whose table is gone."""

    def claim(self, key: str, **_: object) -> Claim | None:
        raise IdempotencyStoreError(f"idempotency claim failed: table gone ({key})")

    def complete(self, key: str, **_: object) -> None:
        raise AssertionError("not reached")

    def release(self, key: str, **_: object) -> None:
        raise AssertionError("not reached")


def test_a_store_failure_fails_the_batch_from_that_record(f, clock, caplog):
    charged: list[str] = []
    router = charging_router(IdempotencyGuard(BrokenStore(), clock=clock), charged)
    records = orders(f, 2)
    with caplog.at_level(logging.ERROR, logger="stream_runtime"):
        assert router.handler({"Records": records}) == {"batchItemFailures": seqs(records)}
    assert charged == []
    assert "table gone" in caplog.text


def test_a_failed_complete_fails_the_record_and_releases_it(f, clock):
    class CompleteFails(InMemoryIdempotencyStore):
        def complete(self, key: str, *, token: str, expires_at: int) -> None:
            raise IdempotencyStoreError("idempotency complete failed: throttled")

    store = CompleteFails()
    charged: list[str] = []
    records = orders(f, 2)
    response = charging_router(IdempotencyGuard(store, clock=clock), charged).handler(
        {"Records": records}
    )
    # The side effect ran, but is not recorded: reported, so Lambda retries it.
    assert response == {"batchItemFailures": seqs(records)}
    assert charged == ["o-1"]
    assert store.items == {}


def test_guard_without_store_or_table_name_says_what_to_do(monkeypatch):
    monkeypatch.delenv("IDEMPOTENCY_TABLE_NAME", raising=False)
    with pytest.raises(
        IdempotencyError, match=r"\$IDEMPOTENCY_TABLE_NAME is not set.*idempotency=True"
    ):
        IdempotencyGuard()


def test_guard_from_environment_uses_the_dynamodb_store(monkeypatch):
    from stream_runtime.idempotency_dynamodb import DynamoDBIdempotencyStore

    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", "Claims")
    guard = IdempotencyGuard()
    assert isinstance(guard.store, DynamoDBIdempotencyStore)
    assert guard.store.table_name == "Claims"


def test_ttl_must_be_positive():
    with pytest.raises(IdempotencyError, match="ttl_seconds must be an int >= 1, got 0"):
        IdempotencyGuard(InMemoryIdempotencyStore(), ttl_seconds=0)


def test_in_progress_claim_answer():
    store = InMemoryIdempotencyStore()
    assert store.claim("k", token="a", now=10, lease_expires=20, expires_at=100) is None
    holder = store.claim("k", token="b", now=15, lease_expires=25, expires_at=100)
    assert holder is not None
    assert (holder.status, holder.lease_expires) == (IN_PROGRESS, 20)
    store.release("k", token="b")  # not the holder: nothing happens
    assert store.items["k"]["token"] == "a"
    assert RecordInProgressError("k", 20).lease_expires == 20


def test_importing_the_runtime_and_a_guarded_router_does_not_import_boto3():
    import subprocess
    import sys

    code = (
        "import sys, os; os.environ['IDEMPOTENCY_TABLE_NAME'] = 'Claims'; "
        "import stream_runtime, process_order_changes; "
        "from stream_runtime.idempotency import IdempotencyGuard; IdempotencyGuard(); "
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(runtime_path.LAMBDA_SRC), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    # boto3 is imported when the store first talks to DynamoDB, not before.
    assert out.stdout.split() == ["False", "False"]


def test_the_guard_does_not_wait_longer_than_max_wait(f, clock):
    store = InMemoryIdempotencyStore()
    record = orders(f, 1)[0]
    held(store, record, clock, lease_seconds=45, token="crashed")
    charged: list[str] = []
    guard = IdempotencyGuard(store, max_wait_seconds=30, clock=clock, sleep=clock.sleep)
    router = charging_router(guard, charged)
    # 600 s left, but the lease needs 45 s, more than the guard may wait: it
    # waits 30 s and fails the record.
    response = router.handler({"Records": [record]}, Context("r", 600_000))
    assert response == {"batchItemFailures": seqs([record])}
    assert sum(clock.slept) == pytest.approx(30)
    assert charged == []
    # Lambda's retry, at once: 15 s of the lease are left, within max_wait.
    assert router.handler({"Records": [record]}, Context("r2", 600_000)) == {
        "batchItemFailures": []
    }
    assert sum(clock.slept) == pytest.approx(45, abs=0.01)
    assert charged == ["o-1"]


def test_a_crashed_invocations_claim_is_taken_over_by_the_second_of_quick_retries(f, clock):
    # A function with the default 60 s timeout dies (out of memory, os._exit) just
    # after claiming: its lease is its remaining time, 60 s. Lambda retries at
    # once, again and again. Failing each retry at once would spend all of them
    # within a second, and the record would go to the on-failure destination.
    store = InMemoryIdempotencyStore()
    record = orders(f, 1)[0]
    held(store, record, clock, lease_seconds=60, token="crashed")
    charged: list[str] = []
    router = charging_router(IdempotencyGuard(store, clock=clock, sleep=clock.sleep), charged)
    responses = [
        router.handler({"Records": [record]}, Context(f"retry-{n}", 60_000)) for n in (1, 2)
    ]
    assert responses == [{"batchItemFailures": seqs([record])}, {"batchItemFailures": []}]
    assert charged == ["o-1"]
    assert store.items[record["eventID"]]["status"] == COMPLETED
