"""DynamoDBIdempotencyStore against a real DynamoDB API (moto's server, in-process).

Proves the conditional writes: a claim succeeds only on a free key, a held
or completed key answers who holds it, an expired lease or TTL frees the key,
release drops only its own claim; and that a missing or unreachable table is
a clear error that fails the batch from that record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import runtime_path  # noqa: F401
from botocore.config import Config
from moto.server import ThreadedMotoServer
from stream_runtime import ChangeRecord, StreamRouter
from stream_runtime.idempotency import (
    COMPLETED,
    IN_PROGRESS,
    IdempotencyGuard,
    IdempotencyStoreError,
)
from stream_runtime.idempotency_dynamodb import DynamoDBIdempotencyStore

from cdk_streams.testing import StreamEventFactory

NOW = 2_000_000_000.0


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.stop()


def client_for(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def client(endpoint: str) -> Any:
    return client_for(endpoint)


@pytest.fixture
def store(client: Any, request: pytest.FixtureRequest) -> Iterator[DynamoDBIdempotencyStore]:
    name = f"claims-{request.node.name[:40]}".replace("[", "-").replace("]", "")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield DynamoDBIdempotencyStore(name, client=client)
    client.delete_table(TableName=name)


def item(store: DynamoDBIdempotencyStore, key: str) -> dict | None:
    answer = store.client.get_item(
        TableName=store.table_name, Key={"id": {"S": key}}, ConsistentRead=True
    )
    return answer.get("Item")


def claim(store: DynamoDBIdempotencyStore, key: str, token: str, now: float, lease: float) -> Any:
    return store.claim(key, token=token, now=now, lease_expires=lease, expires_at=int(now) + 3600)


def test_claim_is_conditional_and_answers_the_holder(store):
    assert claim(store, "k", "a", NOW, NOW + 30) is None
    stored = item(store, "k")
    assert stored is not None
    assert stored["status"] == {"S": IN_PROGRESS}
    assert stored["token"] == {"S": "a"}
    assert stored["expiration"] == {"N": str(int(NOW) + 3600)}
    holder = claim(store, "k", "b", NOW + 10, NOW + 40)
    assert holder is not None
    assert (holder.status, holder.lease_expires) == (IN_PROGRESS, NOW + 30)
    assert item(store, "k")["token"] == {"S": "a"}  # unchanged by the refused claim


def test_an_expired_lease_is_taken_over(store):
    assert claim(store, "k", "crashed", NOW, NOW + 30) is None
    assert claim(store, "k", "b", NOW + 31, NOW + 90) is None
    assert item(store, "k")["token"] == {"S": "b"}


def test_completed_blocks_until_its_expiration(store):
    assert claim(store, "k", "a", NOW, NOW + 30) is None
    store.complete("k", token="a", expires_at=int(NOW) + 100)
    assert item(store, "k")["status"] == {"S": COMPLETED}
    holder = claim(store, "k", "b", NOW + 50, NOW + 80)
    assert holder is not None and holder.status == COMPLETED
    # Past its expiration (TTL deletion may lag): free again.
    assert claim(store, "k", "c", NOW + 101, NOW + 130) is None


def test_release_drops_only_its_own_claim(store):
    assert claim(store, "k", "a", NOW, NOW + 30) is None
    store.release("k", token="b")
    assert item(store, "k") is not None
    store.release("k", token="a")
    assert item(store, "k") is None
    store.release("k", token="a")  # gone already: nothing to do, no error


def test_router_with_the_dynamodb_store_runs_a_redelivered_record_once(store):
    f = StreamEventFactory(key_names=("orderId",), start_time=1.8e9)
    records = [f.insert({"orderId": f"o-{i}"}) for i in range(3)]
    charged: list[str] = []
    router = StreamRouter(idempotency=IdempotencyGuard(store, clock=lambda: NOW), metrics=False)
    router.on_insert(lambda record: charged.append(record.keys["orderId"]))
    router.handler({"Records": records[:2]}, None)
    router.handler({"Records": records}, None)
    assert charged == ["o-0", "o-1", "o-2"]
    assert item(store, records[0]["eventID"])["status"] == {"S": COMPLETED}


def failing_router(store: DynamoDBIdempotencyStore, ran: list[str]) -> StreamRouter:
    router = StreamRouter(idempotency=IdempotencyGuard(store, clock=lambda: NOW), metrics=False)

    @router.on_insert
    def route(record: ChangeRecord) -> None:
        ran.append(record.keys["orderId"])

    return router


def test_a_missing_table_fails_the_batch_with_a_clear_error(client, caplog):
    f = StreamEventFactory(key_names=("orderId",), start_time=1.8e9)
    records = [f.insert({"orderId": "o-1"}), f.insert({"orderId": "o-2"})]
    store = DynamoDBIdempotencyStore("NoSuchTable", client=client)
    with pytest.raises(
        IdempotencyStoreError, match=r"table 'NoSuchTable' does not exist; create it"
    ):
        claim(store, "k", "a", NOW, NOW + 30)
    ran: list[str] = []
    with caplog.at_level(logging.ERROR, logger="stream_runtime"):
        response = failing_router(store, ran).handler({"Records": records}, None)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]
    }
    assert ran == []
    assert "does not exist" in caplog.text


def test_an_unreachable_endpoint_fails_the_batch_with_a_clear_error(caplog):
    # Nothing listens on port 9 (discard) on localhost: connection refused.
    store = DynamoDBIdempotencyStore("Claims", client=client_for("http://localhost:9"))
    f = StreamEventFactory(key_names=("orderId",), start_time=1.8e9)
    records = [f.insert({"orderId": "o-1"})]
    ran: list[str] = []
    with caplog.at_level(logging.ERROR, logger="stream_runtime"):
        response = failing_router(store, ran).handler({"Records": records}, None)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert ran == []
    assert "cannot reach DynamoDB for the idempotency table 'Claims'" in caplog.text
