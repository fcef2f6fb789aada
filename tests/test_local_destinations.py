"""OnFailureSender (cdk_streams.local.destinations) against fake SQS, SNS and S3
clients: what reaches each destination, and the S3 key with the mapping's UUID."""

from __future__ import annotations

import json
from typing import Any

from cdk_streams.local.destinations import OnFailureSender
from cdk_streams.streams.on_failure import FailedBatch, destination_record, s3_object

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
MAPPING = "6c4a3f1e-2b7d-4e8f-9a0b-1c2d3e4f5a6b"
# 2027-01-15T08:00:00Z
FAILED_AT = 1_800_000_000.0

BATCH = FailedBatch(
    mapping_uuid=MAPPING,
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
    stream_arn=STREAM,
    shard_id="shardId-00000001800000000000-abcdef01",
    records=[
        {
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": "100", "ApproximateCreationDateTime": FAILED_AT},
        }
    ],
    condition="RetryAttemptsExhausted",
    invoke_count=3,
    request_id="req-1",
    function_error="Unhandled",
    failed_at=FAILED_AT,
)


class FakeClients:
    """Records every call made through any client it hands out."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, service: str) -> Any:
        clients = self

        class Client:
            def __getattr__(self, operation: str) -> Any:
                def call(**kwargs: Any) -> dict[str, Any]:
                    clients.calls.append((service, operation, kwargs))
                    return {"QueueUrl": "http://queue/dlq"}

                return call

        return Client()


def test_sqs_gets_the_record_as_the_message_body() -> None:
    clients = FakeClients()
    sender = OnFailureSender(clients)
    sender("arn:aws:sqs:us-east-1:123456789012:dlq", BATCH)
    sender("arn:aws:sqs:us-east-1:123456789012:dlq", BATCH)
    lookups = [c for c in clients.calls if c[1] == "get_queue_url"]
    assert lookups == [
        ("sqs", "get_queue_url", {"QueueName": "dlq", "QueueOwnerAWSAccountId": "123456789012"})
    ]  # looked up once, then remembered
    sends = [c for c in clients.calls if c[1] == "send_message"]
    assert len(sends) == 2
    assert sends[0][2]["QueueUrl"] == "http://queue/dlq"
    assert json.loads(sends[0][2]["MessageBody"]) == destination_record(BATCH)


def test_sns_gets_the_record_as_the_message() -> None:
    clients = FakeClients()
    OnFailureSender(clients)("arn:aws:sns:us-east-1:123456789012:alerts", BATCH)
    [(service, operation, kwargs)] = clients.calls
    assert (service, operation, kwargs["TopicArn"]) == (
        "sns",
        "publish",
        "arn:aws:sns:us-east-1:123456789012:alerts",
    )
    assert json.loads(kwargs["Message"]) == destination_record(BATCH)


def test_s3_gets_the_full_payload_under_the_mapping_uuid() -> None:
    clients = FakeClients()
    OnFailureSender(clients, new_object_id=lambda: "obj-1")("arn:aws:s3:::failures", BATCH)
    [(service, operation, kwargs)] = clients.calls
    assert (service, operation, kwargs["Bucket"]) == ("s3", "put_object", "failures")
    assert kwargs["Key"] == (
        f"aws/lambda/{MAPPING}/shardId-00000001800000000000-abcdef01/"
        "2027/01/15/2027-01-15T08.00.00-obj-1"
    )
    assert json.loads(kwargs["Body"]) == s3_object(BATCH)
    assert json.loads(kwargs["Body"])["payload"]["Records"] == BATCH.records
