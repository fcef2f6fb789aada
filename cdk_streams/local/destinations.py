"""Send Lambda's on-failure record to a mapping's destination: SQS, SNS or S3."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from .runner import RunnerError

#: Returns a boto3 client for a service name ("sqs", "sns", "s3").
ClientFactory = Callable[[str], Any]


class OnFailureSender:
    """Delivers on-failure records the way Lambda does, through the public APIs.

    * SQS: the record is the message body (JSON).
    * SNS: the record is the message (JSON).
    * S3: an object holding the record plus the invocation ``payload``, under
      ``aws/lambda/<mapping>/<shard>/YYYY/MM/DD/<time>-<uuid>``.

    :param client: a client factory, e.g. ``LocalCloud.client``.
    """

    def __init__(self, client: ClientFactory) -> None:
        self._client = client
        self._queue_urls: dict[str, str] = {}

    def __call__(self, arn: str, record: dict[str, Any], event: dict[str, Any]) -> None:
        parts = arn.split(":")
        service = parts[2] if len(parts) > 5 else ""
        if service == "sqs":
            url = self._queue_urls.get(arn)
            if url is None:
                url = self._client("sqs").get_queue_url(
                    QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
                )["QueueUrl"]
                self._queue_urls[arn] = url
            self._client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(record))
        elif service == "sns":
            self._client("sns").publish(TopicArn=arn, Message=json.dumps(record))
        elif service == "s3":
            info = record["DDBStreamBatchInfo"]
            stamp = time.strftime("%Y/%m/%d/%Y-%m-%dT%H.%M.%S", time.gmtime())
            mapping = record["requestContext"].get("mappingUuid", "mapping")
            key = f"aws/lambda/{mapping}/{info['shardId']}/{stamp}-{uuid.uuid4()}"
            body = dict(record, payload=event)
            self._client("s3").put_object(Bucket=parts[5], Key=key, Body=json.dumps(body))
        else:
            raise RunnerError(
                f"on-failure destination must be an SQS queue, SNS topic or S3 bucket ARN, "
                f"got {arn!r}"
            )
