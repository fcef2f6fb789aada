"""Send Lambda's on-failure record to a mapping's destination: SQS, SNS or S3.

What is sent is built by :mod:`cdk_streams.streams.on_failure`; this module
only puts it through the public APIs, as Lambda does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from ..streams.on_failure import FailedBatch, destination_record, s3_key, s3_object
from .runner import RunnerError

#: Returns a boto3 client for a service name ("sqs", "sns", "s3").
ClientFactory = Callable[[str], Any]


class OnFailureSender:
    """Delivers on-failure records the way Lambda does, through the public APIs.

    * SQS: the record is the message body (JSON).
    * SNS: the record is the message (JSON).
    * S3: an object holding the record plus the invocation ``payload``, under
      ``aws/lambda/<mapping UUID>/<shardId>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``.

    :param client: a client factory, e.g. ``LocalCloud.client``.
    :param new_object_id: the unique tail of an S3 key. @default - a random UUID.
    """

    def __init__(
        self,
        client: ClientFactory,
        *,
        new_object_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._client = client
        self._new_object_id = new_object_id
        self._queue_urls: dict[str, str] = {}

    def __call__(self, arn: str, batch: FailedBatch) -> None:
        parts = arn.split(":")
        service = parts[2] if len(parts) > 5 else ""
        if service == "sqs":
            url = self._queue_urls.get(arn)
            if url is None:
                url = self._client("sqs").get_queue_url(
                    QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
                )["QueueUrl"]
                self._queue_urls[arn] = url
            body = json.dumps(destination_record(batch))
            self._client("sqs").send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self._client("sns").publish(TopicArn=arn, Message=json.dumps(destination_record(batch)))
        elif service == "s3":
            self._client("s3").put_object(
                Bucket=parts[5],
                Key=s3_key(batch, object_id=self._new_object_id()),
                Body=json.dumps(s3_object(batch)),
            )
        else:
            raise RunnerError(
                f"on-failure destination must be an SQS queue, SNS topic or S3 bucket ARN, "
                f"got {arn!r}"
            )
