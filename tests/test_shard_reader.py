"""The DynamoDB Streams reader against a fake Streams API: lineage order, starting positions, expiry."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from cdk_streams.streams.dynamodb_reader import StreamReader
from cdk_streams.streams.records import lambda_record
from cdk_streams.streams.shard_reader import StreamReaderError

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"


class FakeStreams:
    """Shards as lists of sequence numbers; closed shards end after their records."""

    def __init__(self) -> None:
        self.shards: dict[str, dict[str, Any]] = {}
        self.expire_next = False
        self.describe_calls = 0

    def add_shard(
        self, shard_id: str, seqs: list[int], *, parent: str | None = None, closed: bool = False
    ) -> None:
        self.shards[shard_id] = {"seqs": seqs, "parent": parent, "closed": closed}

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict:
        self.describe_calls += 1
        ids = list(self.shards)
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = ids[start : start + 2]  # two per page, to exercise pagination
        shards = []
        for shard_id in page:
            shard = self.shards[shard_id]
            numbers = {"StartingSequenceNumber": "0"}
            if shard["closed"]:
                numbers["EndingSequenceNumber"] = "999999"
            entry = {"ShardId": shard_id, "SequenceNumberRange": numbers}
            if shard["parent"]:
                entry["ParentShardId"] = shard["parent"]
            shards.append(entry)
        description: dict[str, Any] = {"StreamStatus": "ENABLED", "Shards": shards}
        if start + 2 < len(ids):
            description["LastEvaluatedShardId"] = page[-1]
        return {"StreamDescription": description}

    def get_shard_iterator(
        self,
        StreamArn: str,
        ShardId: str,
        ShardIteratorType: str,
        SequenceNumber: str | None = None,
    ) -> dict:
        if ShardId not in self.shards:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetShardIterator")
        seqs = self.shards[ShardId]["seqs"]
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER" and int(SequenceNumber or 0) < seqs[0]:
            # The records up to the checkpoint and some after it were trimmed.
            raise ClientError({"Error": {"Code": "TrimmedDataAccessException"}}, "GetShardIterator")
        position = {
            "TRIM_HORIZON": 0,
            "LATEST": len(seqs),
            "AFTER_SEQUENCE_NUMBER": next(
                (i + 1 for i, s in enumerate(seqs) if str(s) == SequenceNumber), 0
            ),
        }[ShardIteratorType]
        return {"ShardIterator": f"{ShardId}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict:
        if self.expire_next:
            self.expire_next = False
            raise ClientError({"Error": {"Code": "ExpiredIteratorException"}}, "GetRecords")
        shard_id, position = ShardIterator.split("|")
        shard = self.shards[shard_id]
        chunk = shard["seqs"][int(position) : int(position) + Limit]
        end = int(position) + len(chunk)
        records = [
            {"eventID": str(s), "eventName": "INSERT", "dynamodb": {"SequenceNumber": str(s)}}
            for s in chunk
        ]
        response: dict[str, Any] = {"Records": records}
        if not (shard["closed"] and end >= len(shard["seqs"])):
            response["NextShardIterator"] = f"{shard_id}|{end}"
        return response


def read_all(reader: StreamReader, rounds: int = 10) -> list[tuple[str, int]]:
    out = []
    for _ in range(rounds):
        for batch in reader.read():
            out += [(batch.shard_id, int(r["dynamodb"]["SequenceNumber"])) for r in batch.records]
    return out


def test_children_are_read_only_after_their_parent_is_exhausted() -> None:
    fake = FakeStreams()
    fake.add_shard("child", [20, 21], parent="parent")  # listed first on purpose
    fake.add_shard("parent", [10, 11, 12], closed=True)
    fake.add_shard("other", [30])
    reader = StreamReader(fake, ARN, limit=2)
    got = read_all(reader)
    parent_done = max(i for i, (s, _) in enumerate(got) if s == "parent")
    child_first = min(i for i, (s, _) in enumerate(got) if s == "child")
    assert parent_done < child_first
    assert sorted(seq for _, seq in got) == [10, 11, 12, 20, 21, 30]
    assert reader.shard("parent").exhausted and reader.parent_of("child") == "parent"


def test_latest_starts_after_what_is_there_and_skips_closed_shards() -> None:
    fake = FakeStreams()
    fake.add_shard("old", [1, 2], closed=True)
    fake.add_shard("open", [3, 4], parent="old")
    reader = StreamReader(fake, ARN, starting_position="LATEST")
    reader.start()
    fake.shards["open"]["seqs"] += [5, 6]  # written after start()
    fake.shards["open"]["closed"] = True  # then the shard splits
    fake.add_shard("new", [7], parent="open")  # a shard that appears later: read from its start
    reader.rediscover_interval = 0
    assert sorted(seq for _, seq in read_all(reader)) == [5, 6, 7]
    assert reader.shard("old").skipped


def test_checkpoints_resume_after_the_sequence_number() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1, 2, 3, 4])
    reader = StreamReader(fake, ARN, checkpoints={"a": "2"})
    assert [seq for _, seq in read_all(reader)] == [3, 4]


def test_an_expired_iterator_is_renewed_after_the_last_record_read() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1, 2, 3, 4])
    reader = StreamReader(fake, ARN, limit=2)
    first = read_all(reader, rounds=1)
    fake.expire_next = True
    rest = read_all(reader, rounds=3)
    assert [s for _, s in first + rest] == [1, 2, 3, 4]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(
        StreamReaderError, match="starting_position must be TRIM_HORIZON or LATEST, got 'AT'"
    ):
        StreamReader(FakeStreams(), ARN, starting_position="AT")
    with pytest.raises(StreamReaderError, match=r"limit must be 1\.\.1000, got 0"):
        StreamReader(FakeStreams(), ARN, limit=0)


def test_a_disabled_stream_is_refused() -> None:
    fake = FakeStreams()
    fake.describe_stream = lambda **kw: {"StreamDescription": {"StreamStatus": "DISABLED"}}  # type: ignore[method-assign]
    with pytest.raises(StreamReaderError, match=f"stream {ARN} is disabled"):
        StreamReader(fake, ARN).start()


def test_lambda_record_has_the_runtime_shape() -> None:
    from datetime import UTC, datetime

    raw = {
        "eventID": "e",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 1, 0, 0, 1, 700000, tzinfo=UTC),
            "Keys": {"pk": {"B": b"\x00\x01"}},
            "NewImage": {
                "pk": {"B": b"\x00\x01"},
                "bs": {"BS": [b"a"]},
                "m": {"M": {"b": {"B": b"z"}}},
                "l": {"L": [{"B": b"y"}]},
            },
            "SequenceNumber": "1",
            "SizeBytes": 9,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
    }
    record = lambda_record(raw, stream_arn=ARN)
    assert list(record)[:7] == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert record["awsRegion"] == "eu-west-1" and record["eventSourceARN"] == ARN
    stream = record["dynamodb"]
    assert stream["ApproximateCreationDateTime"] == 1767225601.0  # whole seconds, a number
    assert stream["Keys"] == {"pk": {"B": "AAE="}}
    assert stream["NewImage"]["bs"] == {"BS": ["YQ=="]}
    assert stream["NewImage"]["m"] == {"M": {"b": {"B": "eg=="}}}
    assert stream["NewImage"]["l"] == {"L": [{"B": "eQ=="}]}
    assert record["userIdentity"]["principalId"] == "dynamodb.amazonaws.com"
    assert raw["dynamodb"]["Keys"] == {"pk": {"B": b"\x00\x01"}}  # the input is not changed


# -- the ShardReader verbs: seek and forget ----------------------------------------------


def test_both_readers_satisfy_the_shard_reader_protocol() -> None:
    from cdk_streams.streams.kinesis_reader import KinesisReader
    from cdk_streams.streams.shard_reader import ShardReader

    assert isinstance(StreamReader(FakeStreams(), ARN), ShardReader)
    assert isinstance(KinesisReader(None, "arn:aws:kinesis:us-east-1:1:stream/s"), ShardReader)


def test_seek_resumes_right_after_a_checkpoint_whatever_was_read_before() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1, 2, 3, 4, 5])
    reader = StreamReader(fake, ARN, limit=4)
    assert [s for _, s in read_all(reader, rounds=1)] == [1, 2, 3, 4]
    assert reader.seek("a", "2") is True  # another reader checkpointed only up to 2
    assert [int(r["dynamodb"]["SequenceNumber"]) for r in reader.read_shard("a").records] == [
        3,
        4,
        5,
    ]
    assert reader.shard("a").last_sequence_number == "5"


def test_seek_without_a_checkpoint_starts_at_the_given_position() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1, 2])
    reader = StreamReader(fake, ARN)
    reader.start()
    assert reader.seek("a", None, starting_position="LATEST")
    assert reader.read_shard("a").records == []  # LATEST is resolved at the first read
    fake.shards["a"]["seqs"].append(3)
    assert [r["eventID"] for r in reader.read_shard("a").records] == ["3"]
    with pytest.raises(StreamReaderError, match="got 'AT_TIMESTAMP'"):
        reader.seek("a", None, starting_position="AT_TIMESTAMP")


def test_seek_keeps_the_latest_iterator_fixed_at_start() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1])
    reader = StreamReader(fake, ARN, starting_position="LATEST")
    reader.start()  # "from now on" means now: after record 1
    fake.shards["a"]["seqs"] += [2, 3]
    assert reader.seek("a", None, starting_position="LATEST")  # a lease taken later
    assert [r["eventID"] for r in reader.read_shard("a").records] == ["2", "3"]


def test_seek_reports_a_shard_that_is_gone() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1])
    reader = StreamReader(fake, ARN)
    reader.start()
    assert reader.seek("trimmed", "7") is False
    assert fake.describe_calls == 2  # it looked again before saying so


def test_a_forgotten_shard_is_not_read_until_sought() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1, 2])
    fake.add_shard("b", [3])
    reader = StreamReader(fake, ARN)
    reader.start()
    reader.forget("a")
    assert reader.readable() == ["b"]
    with pytest.raises(StreamReaderError, match="shard a was forgotten; seek it before reading"):
        reader.read_shard("a")
    reader.seek("a", "1")
    assert [r["eventID"] for r in reader.read_shard("a").records] == ["2"]


def test_reading_a_closed_shard_to_its_end_says_so() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [1], closed=True)
    reader = StreamReader(fake, ARN)
    reader.start()
    first = reader.read_shard("a")
    assert first.end and reader.shard("a").done and reader.shard("a").closed
    assert reader.read_shard("a").records == []


def test_a_trimmed_shard_is_dropped_once_done_or_forgotten() -> None:
    fake = FakeStreams()
    fake.add_shard("parent", [1], closed=True)
    fake.add_shard("child", [2], parent="parent")
    fake.add_shard("forgotten", [3], closed=True)
    fake.add_shard("unread", [4], closed=True)
    reader = StreamReader(fake, ARN, checkpoints={"parent": "0", "forgotten": "0"})
    reader.start()
    assert reader.read_shard("parent").end
    reader.forget("forgotten")
    # 24 h after they closed, the stream stops listing them.
    for trimmed in ("parent", "forgotten", "unread"):
        del fake.shards[trimmed]
    assert reader.discover() == []
    # The forgotten shard is dropped, with the checkpoint given for it. The parent
    # stays while its child is known, so the child is still ordered after it; the
    # one not read to its end yet stays, to be read until it reports its end.
    assert reader.shard_ids() == ["parent", "child", "unread"]
    assert "forgotten" not in reader._checkpoints
    assert reader.parent_of("child") == "parent"
    assert [(b.shard_id, b.end) for b in reader.read()] == [("child", False), ("unread", True)]
    reader.discover()
    assert reader.shard_ids() == ["parent", "child"]
    # The child closes, is read to its end and trimmed in turn: both go.
    fake.shards["child"]["closed"] = True
    assert reader.read_shard("child").end
    del fake.shards["child"]
    reader.discover()
    assert reader.shard_ids() == ["parent"]
    reader.discover()
    assert reader.shard_ids() == []
    # A caller that still holds a dropped id gets no parent, not a KeyError.
    assert reader.parent_of("child") is None
    with pytest.raises(KeyError):
        reader.shard("parent")
    # Seeking a dropped shard finds it gone, as for any trimmed shard.
    assert reader.seek("forgotten", "3") is False


def test_a_listing_that_fails_half_way_drops_nothing() -> None:
    fake = FakeStreams()
    for shard_id in ("a", "b", "c"):
        fake.add_shard(shard_id, [1], closed=True)
    reader = StreamReader(fake, ARN)
    reader.start()
    for shard_id in ("a", "b", "c"):
        assert reader.read_shard(shard_id).end
    describe = fake.describe_stream

    def second_page_fails(StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict:
        if ExclusiveStartShardId:
            raise ClientError({"Error": {"Code": "LimitExceededException"}}, "DescribeStream")
        return describe(StreamArn)

    fake.describe_stream = second_page_fails  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        reader.discover()
    assert reader.shard_ids() == ["a", "b", "c"]


def test_a_checkpoint_past_the_retention_period_goes_on_from_the_oldest_record() -> None:
    fake = FakeStreams()
    fake.add_shard("a", [5, 6])  # 1..4 were trimmed
    reader = StreamReader(fake, ARN, checkpoints={"a": "2"})
    assert [seq for _, seq in read_all(reader)] == [5, 6]
