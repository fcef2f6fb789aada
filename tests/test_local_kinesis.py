"""Kinesis Data Streams for DynamoDB in the local cloud.

The real CDK CLI deploys tests/fixtures/kinesis_app: a table that streams to a
Kinesis stream, and the same stream_runtime handler on the Kinesis stream, on
the table's DynamoDB stream, and on the Kinesis stream behind an INSERT-only
filter. moto ignores the table's KinesisStreamSpecification, so the local
cloud forwards the changes itself (cdk_streams.local.kinesis).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.local import Deployment, LocalCloud
from cdk_streams.streams.records import change_document

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "fixtures" / "kinesis_app"
KEYS = [f"k-{n}" for n in range(5)]


class Env:
    def __init__(self, cloud: LocalCloud, deployment: Deployment, record_dir: Path) -> None:
        self.cloud = cloud
        self.deployment = deployment
        self.record_dir = record_dir
        self.report = None

    def seen(self, role: str) -> list[dict[str, Any]]:
        path = self.record_dir / f"{role}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def queue(self, contains: str) -> list[dict[str, Any]]:
        return list(self.cloud.queue_messages(self.deployment.queue_url(contains)))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    record_dir = tmp_path_factory.mktemp("records")
    with LocalCloud() as cloud:
        deployment = cloud.deploy(
            cwd=APP, env={"CDK_STREAMS_RECORD_DIR": str(record_dir), "CDK_VALIDATION": "false"}
        )
        ddb = cloud.client("dynamodb")
        table = deployment.table_name("Orders")
        # Per key: insert, two modifies, then a remove on every other key; key k-3's
        # second modify is poison.
        for version in range(3):
            for pk in KEYS:
                item = {"pk": {"S": pk}, "version": {"N": str(version)}}
                if pk == "k-3" and version == 2:
                    item["poison"] = {"BOOL": True}
                ddb.put_item(TableName=table, Item=item)
        for pk in KEYS[::2]:
            ddb.delete_item(TableName=table, Key={"pk": {"S": pk}})
        environment = Env(cloud, deployment, record_dir)
        environment.report = cloud.drain()
        yield environment


WRITTEN = 3 * len(KEYS) + len(KEYS[::2])  # 18 changes, 1 poison


def test_every_change_reaches_the_kinesis_stream_in_the_dynamodb_format(env: Env) -> None:
    kinesis = env.cloud.client("kinesis")
    name = env.deployment.find("AWS::Kinesis::Stream", "Orders").physical_id
    (shard,) = kinesis.list_shards(StreamName=name)["Shards"]
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert len(records) == WRITTEN
    first = json.loads(records[0]["Data"])
    assert first["eventSource"] == "aws:dynamodb"
    assert first["recordFormat"] == "application/json"
    assert first["tableName"] == env.deployment.table_name("Orders")
    assert first["eventName"] == "INSERT"
    assert first["dynamodb"]["Keys"] == {"pk": {"S": "k-0"}}
    # Milliseconds, as Kinesis Data Streams for DynamoDB writes it.
    assert first["dynamodb"]["ApproximateCreationDateTime"] > 10**12


def test_the_same_handler_sees_the_same_changes_from_kinesis_and_the_dynamodb_stream(
    env: Env,
) -> None:
    def changes(role: str) -> list[tuple[Any, ...]]:
        return [
            (r["pk"], r["event"], r["version"], r["old_version"], tuple(r["changed"]), r["size"])
            for r in env.seen(role)
        ]

    from_kinesis, from_stream = changes("FromKinesis"), changes("FromStream")
    assert len(from_kinesis) == WRITTEN - 1  # all but the poison change
    assert from_kinesis == from_stream
    sources = {r["source"] for r in env.seen("FromKinesis")}
    assert sources == {"aws:kinesis"}
    assert {r["source"] for r in env.seen("FromStream")} == {"aws:dynamodb"}
    # Per key, in written order.
    for pk in KEYS:
        versions = [v for key, event, v, *_ in from_kinesis if key == pk and event != "REMOVE"]
        expected = [0, 1] if pk == "k-3" else [0, 1, 2]
        assert versions == expected, pk


def test_failures_are_identified_by_the_kinesis_sequence_number(env: Env) -> None:
    counts = env.report.for_function("-FromKinesisFunction")
    assert (counts.read, counts.succeeded, counts.failed) == (WRITTEN, WRITTEN - 1, 1)
    (message,) = env.queue("FromKinesisDeadLetterQueue")
    info = message["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"].startswith("arn:aws:kinesis:us-east-1:")
    kinesis_sequences = {r["seq"] for r in env.seen("FromKinesis")}
    assert info["startSequenceNumber"] not in kinesis_sequences  # the poison one
    (stream_message,) = env.queue("FromStreamDeadLetterQueue")
    assert "DDBStreamBatchInfo" in stream_message


def test_kinesis_filters_see_the_change_under_data(env: Env) -> None:
    seen = env.seen("KinesisInserts")
    assert [r["event"] for r in seen] == ["INSERT"] * len(KEYS)
    counts = env.report.for_function("-KinesisInsertsFunction")
    assert (counts.read, counts.filtered) == (WRITTEN, WRITTEN - len(KEYS))


def test_change_document_carries_images_in_lambdas_json() -> None:
    from datetime import UTC, datetime

    record = {
        "eventID": "e-1",
        "eventName": "MODIFY",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 11, 24, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}},
            "OldImage": {"pk": {"S": "a"}},
            "SizeBytes": 12,
        },
    }
    document = change_document(record, table_name="Orders", region="eu-west-1")
    assert document["dynamodb"]["ApproximateCreationDateTime"] == 1795478400000
    assert document["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    assert document["awsRegion"] == "eu-west-1"
    assert document["userIdentity"] is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"starting_position": "AT_TIMESTAMP"},
            "starting_position must be TRIM_HORIZON or LATEST, got 'AT_TIMESTAMP'",
        ),
        ({"limit": 10_001}, "limit must be 1..10000, got 10001"),
    ],
)
def test_kinesis_reader_refuses_what_the_api_would(settings: dict, message: str) -> None:
    from cdk_streams.streams.kinesis_reader import KinesisReader
    from cdk_streams.streams.shard_reader import StreamReaderError

    with pytest.raises(StreamReaderError) as error:
        KinesisReader(None, "arn:aws:kinesis:us-east-1:1:stream/s", **settings)
    assert str(error.value) == message


class _FakeKinesis:
    """Two shards, the second a child of the first, which closes after one read."""

    def __init__(self) -> None:
        self.list_calls = 0
        self.shards = [{"ShardId": "parent"}]

    def list_shards(self, **_: Any) -> dict[str, Any]:
        self.list_calls += 1
        return {"Shards": list(self.shards)}

    def get_shard_iterator(self, *, ShardId: str, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": f"{ShardId}:0"}

    def get_records(self, *, ShardIterator: str, **_: Any) -> dict[str, Any]:
        shard, position = ShardIterator.split(":")
        if shard == "parent":
            self.shards.append({"ShardId": "child", "ParentShardId": "parent"})
            return {"Records": [{"SequenceNumber": "1"}], "NextShardIterator": None}
        return {"Records": [], "NextShardIterator": f"{shard}:{int(position) + 1}"}


def test_kinesis_reader_lists_shards_once_a_second_and_at_once_after_a_shard_closes() -> None:
    from cdk_streams.streams.kinesis_reader import KinesisReader

    now = [0.0]
    client = _FakeKinesis()
    reader = KinesisReader(client, "arn:aws:kinesis:us-east-1:1:stream/s", clock=lambda: now[0])
    first = reader.read()  # start: one ListShards; the parent closes
    assert [(s.shard_id, len(s.records)) for s in first] == [("parent", 1)]
    assert client.list_calls == 1
    second = reader.read()  # the closed parent forces a ListShards, which finds the child
    assert [s.shard_id for s in second] == ["child"]
    assert client.list_calls == 2
    for _ in range(5):
        reader.read()  # idle polls within the second: no more ListShards
    assert client.list_calls == 2
    now[0] = 1.5
    reader.read()
    assert client.list_calls == 3


def test_kinesis_reader_resumes_after_a_checkpoint_with_the_kinesis_parameter() -> None:
    from cdk_streams.streams.kinesis_reader import KinesisReader

    calls: list[dict[str, Any]] = []

    class Client:
        def list_shards(self, **_: Any) -> dict[str, Any]:
            return {"Shards": [{"ShardId": "s-1"}]}

        def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {"ShardIterator": "it"}

        def get_records(self, **_: Any) -> dict[str, Any]:
            return {"Records": [{"SequenceNumber": "9"}], "NextShardIterator": "it"}

    reader = KinesisReader(Client(), "arn:aws:kinesis:us-east-1:1:stream/s")
    reader.start()
    assert reader.seek("s-1", "7")
    assert reader.read_shard("s-1").records == [{"SequenceNumber": "9"}]
    assert calls[-1] == {
        "StreamName": "s",
        "ShardId": "s-1",
        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "StartingSequenceNumber": "7",
    }
    assert reader.shard("s-1").last_sequence_number == "9"
