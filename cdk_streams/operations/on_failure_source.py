"""Where skipped batches are recorded: an SQS queue (also fed by SNS) or S3 objects.

Each on-failure record Lambda wrote becomes a :class:`FailureMessage`: the
batch's place in the stream (:class:`BatchInfo`, read from the record's
``DDBStreamBatchInfo`` or ``KinesisBatchInfo``, the shapes of
:mod:`cdk_streams.streams.on_failure`) and, for S3, the records themselves
(``payload.Records``).

A source hands out every message once per run and then either removes a
message (every record in it succeeded) or releases it, leaving it in place for
a later run: an SQS message becomes visible again at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..streams.records import DYNAMODB, KINESIS, RecordShape, shape_of
from .errors import OperationError


class UnreadableMessage(ValueError):
    """A message that is not a Lambda on-failure record of a stream batch."""


@dataclass(frozen=True)
class BatchInfo:
    """Where a skipped batch is in its stream: shard and sequence range, inclusive."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    batch_size: int
    #: ``approximateArrivalOfFirstRecord`` as written (ISO 8601).
    first_arrival: str
    function_arn: str | None
    condition: str | None

    @property
    def shape(self) -> RecordShape:
        return shape_of(self.stream_arn)

    @property
    def where(self) -> str:
        return f"{self.stream_arn} {self.shard_id} {self.start}..{self.end}"


def parse_on_failure_record(record: Mapping[str, Any]) -> BatchInfo:
    """The batch an on-failure record (SQS body, SNS message or S3 object) describes.

    An SNS notification envelope (an SQS queue subscribed to the topic without
    raw delivery) is unwrapped first.
    """
    if record.get("Type") == "Notification" and isinstance(record.get("Message"), str):
        try:
            record = json.loads(record["Message"])
        except ValueError as error:
            raise UnreadableMessage(f"SNS message is not JSON: {error}") from error
    for shape in (DYNAMODB, KINESIS):
        info = record.get(shape.batch_info_key)
        if isinstance(info, Mapping):
            break
    else:
        raise UnreadableMessage(
            f"no {DYNAMODB.batch_info_key} or {KINESIS.batch_info_key}: not a stream "
            "on-failure record"
        )
    try:
        request = record.get("requestContext") or {}
        return BatchInfo(
            stream_arn=str(info["streamArn"]),
            shard_id=str(info["shardId"]),
            start=str(info["startSequenceNumber"]),
            end=str(info["endSequenceNumber"]),
            batch_size=int(info["batchSize"]),
            first_arrival=str(info.get("approximateArrivalOfFirstRecord", "")),
            function_arn=request.get("functionArn"),
            condition=request.get("condition"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableMessage(
            f"{shape.batch_info_key} lacks or garbles {error}: not a stream on-failure record"
        ) from error


@dataclass
class FailureMessage:
    """One on-failure record, as a source handed it out."""

    #: The SQS message id or the S3 key.
    id: str
    info: BatchInfo | None
    #: The records, when the source holds them (S3); None for SQS and SNS.
    records: list[dict[str, Any]] | None = None
    #: Why it cannot be read, when ``info`` is None.
    problem: str | None = None
    #: The whole on-failure record, as received.
    body: Any = None
    handle: Any = field(default=None, repr=False)


class FailureSource(Protocol):
    """A place that holds on-failure records."""

    @property
    def description(self) -> str: ...

    def messages(self) -> Iterator[FailureMessage]:
        """Every message, each once per run."""
        ...

    def remove(self, message: FailureMessage) -> None:
        """Delete a message whose records all succeeded."""
        ...

    def release(self, message: FailureMessage) -> None:
        """Leave a message in place, ready for a later run."""
        ...


def _parse(message_id: str, text: str, handle: Any) -> FailureMessage:
    try:
        body = json.loads(text)
    except ValueError as error:
        return FailureMessage(message_id, None, problem=f"not JSON: {error}", handle=handle)
    if not isinstance(body, dict):
        return FailureMessage(message_id, None, problem="not a JSON object", handle=handle)
    try:
        info = parse_on_failure_record(body)
    except UnreadableMessage as error:
        return FailureMessage(message_id, None, problem=str(error), body=body, handle=handle)
    records = None
    payload = body.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("Records"), list):
        records = payload["Records"]
    return FailureMessage(message_id, info, records=records, body=body, handle=handle)


class SqsSource:
    """The messages of an SQS queue (an on-failure queue, or one subscribed to an SNS topic).

    Every message is received once, kept invisible for ``visibility_timeout``
    seconds while the run works on it, then deleted or made visible again.

    :param sqs: a boto3 ``sqs`` client.
    :param queue_url: the queue's URL.
    :param visibility_timeout: seconds a received message stays hidden: longer
        than the run. @default 900.
    :param wait_seconds: long-poll seconds of each receive, so an almost empty
        queue is not mistaken for an empty one. @default 1.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        *,
        visibility_timeout: int = 900,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self._visibility = visibility_timeout
        self._wait = wait_seconds

    @property
    def description(self) -> str:
        return f"queue {self.queue_url}"

    def messages(self) -> Iterator[FailureMessage]:
        seen: set[str] = set()
        while True:
            received = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=self._wait,
                VisibilityTimeout=self._visibility,
            ).get("Messages", [])
            fresh = [m for m in received if m["MessageId"] not in seen]
            if not fresh:
                return
            for message in fresh:
                seen.add(message["MessageId"])
                yield _parse(message["MessageId"], message["Body"], message["ReceiptHandle"])

    def remove(self, message: FailureMessage) -> None:
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.handle)

    def release(self, message: FailureMessage) -> None:
        self._sqs.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=message.handle, VisibilityTimeout=0
        )


class S3Source:
    """The on-failure objects of an S3 destination under a prefix.

    :param s3: a boto3 ``s3`` client.
    :param bucket: the bucket.
    :param prefix: e.g. ``aws/lambda/<mapping UUID>/``. @default - the whole bucket.
    """

    def __init__(self, s3: Any, bucket: str, prefix: str = "") -> None:
        self._s3 = s3
        self.bucket = bucket
        self.prefix = prefix

    @property
    def description(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def messages(self) -> Iterator[FailureMessage]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for entry in page.get("Contents", []):
                key = entry["Key"]
                body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                message = _parse(key, body.decode("utf-8", "replace"), key)
                if message.info is not None and message.records is None:
                    message.info, message.problem = None, "no payload.Records: not an S3 record"
                yield message

    def remove(self, message: FailureMessage) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=message.handle)

    def release(self, message: FailureMessage) -> None:
        return None  # an object stays where it is


def parse_source(location: str, *, wait_seconds: int = 1) -> Callable[[Any], FailureSource]:
    """Check what ``--from`` names (a queue URL, a queue ARN, or ``s3://bucket/prefix``)
    without any AWS call; return what opens it, given the clients.

    Apart so that a mistyped ``--from`` is the error reported, before the
    region or the credentials are looked at.
    """
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise OperationError(f"--from s3://BUCKET/PREFIX needs a bucket, got {location!r}")
        return lambda clients: S3Source(clients("s3"), bucket, prefix)
    if location.startswith(("https://", "http://")):
        return lambda clients: SqsSource(clients("sqs"), location, wait_seconds=wait_seconds)
    if location.startswith("arn:") and location.split(":")[2:3] == ["sqs"]:
        parts = location.split(":")
        if len(parts) != 6 or not all(parts[3:]):
            raise OperationError(
                f"--from as a queue ARN must be arn:aws:sqs:REGION:ACCOUNT:QUEUE, got {location!r}"
            )

        def by_arn(clients: Any) -> FailureSource:
            url = clients("sqs").get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])
            return SqsSource(clients("sqs"), url["QueueUrl"], wait_seconds=wait_seconds)

        return by_arn
    raise OperationError(
        f"--from must be an SQS queue URL, a queue ARN or s3://bucket/prefix, got {location!r}"
    )


def open_source(clients: Any, location: str, *, wait_seconds: int = 1) -> FailureSource:
    """The source ``--from`` names (:func:`parse_source`), opened.

    :param clients: returns a boto3 client for a service name.
    """
    return parse_source(location, wait_seconds=wait_seconds)(clients)
