"""The cdk-nag findings these constructs acknowledge, and why: all in one place.

cdk-nag 3 reads acknowledgements from ``Validations.of(construct).acknowledge``
metadata on a resource or any of its ancestors. The constructs call
:func:`acknowledge` on the exact construct that holds the finding (never on a
stack or on the construct as a whole), so a user's own resources next to ours
are still checked, and a finding a user brings back by turning a default off
(``point_in_time_recovery=False``, ``tracing=DISABLED``,
``dead_letter_queue_enabled=False`` ...) is theirs to see and to acknowledge.

Only what is inherent to a DynamoDB-stream consumer is acknowledged. What could
be fixed was fixed instead: point-in-time recovery, a TLS-only and encrypted
on-failure queue, explicit memory and timeout, active tracing, the newest
runtime, log retention, and a role of our own in place of the AWS-managed
``AWSLambdaBasicExecutionRole``.

The acknowledgement ids are ``<pack>-<rule>`` or, for rules that report one
finding per offending value, ``<pack>-<rule>[<finding>]``: cdk-nag 3 matches
them exactly, with no prefix matching.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


@dataclass(frozen=True)
class Reason:
    """One acknowledged rule finding: its exact cdk-nag id and why it stays."""

    rule_id: str
    reason: str


#: The stream-read grant's ``dynamodb:ListStreams`` and active tracing's X-Ray
#: writes are the only statements on ``*`` in the function's role policy
#: (tests/test_nag.py checks that); neither action supports resource-level
#: permissions, so the finding is one id with one reason for both.
ROLE_POLICY_WILDCARD = Reason(
    "AwsSolutions-IAM5[Resource::*]",
    "Only dynamodb:ListStreams (Lambda's stream poller needs it, and the action "
    "supports no resource-level permissions) and, with active tracing, "
    "xray:PutTraceSegments and xray:PutTelemetryRecords (X-Ray supports no "
    "resource-level permissions) are granted on '*'. Stream reads are scoped to the "
    "table's stream ARN.",
)

#: The queue that receives the mapping's on-failure records is itself the
#: dead-letter queue: giving it one of its own only moves the problem.
ON_FAILURE_QUEUE_HAS_NO_DLQ = (
    Reason(
        "AwsSolutions-SQS3",
        "This queue is the event-source mapping's on-failure destination, i.e. the "
        "dead-letter queue itself; an alarm on its depth replaces a DLQ of the DLQ.",
    ),
    Reason(
        "Serverless-SQSRedrivePolicy",
        "This queue is the event-source mapping's on-failure destination, i.e. the "
        "dead-letter queue itself; nothing consumes it, so there is nothing to redrive.",
    ),
)

#: Serverless-LambdaDLQ asks for the function's *asynchronous* dead-letter
#: config. A stream consumer is invoked synchronously by its mapping, so that
#: config would never receive anything; the mapping's on-failure destination
#: is the stream equivalent. Acknowledged only when that destination exists.
STREAM_FUNCTION_HAS_ON_FAILURE_DESTINATION = Reason(
    "Serverless-LambdaDLQ",
    "The function is invoked synchronously by its DynamoDB-stream event-source "
    "mapping, where a function DeadLetterConfig never applies; failed batches go "
    "to the mapping's on-failure destination instead.",
)


#: The failure archive bucket holds the mapping's skipped batches and nothing
#: else; access logs would need a second bucket, itself unlogged, for a bucket
#: that only Lambda writes and an operator reads. CloudTrail data events cover
#: access auditing where required.
FAILURE_ARCHIVE_ACCESS_LOGS = Reason(
    "AwsSolutions-S1",
    "This bucket only receives the stream mapping's on-failure records (written by "
    "Lambda, read by the operator replaying them); server access logs would need a "
    "second, itself unlogged bucket. Use CloudTrail S3 data events where access must be "
    "audited.",
)


def failure_archive_object_write(bucket_logical_id: str) -> Reason:
    """Lambda writes each skipped batch as a new object with a random key under the
    failure archive bucket, so the grant names the bucket's objects (``/*``)."""
    return Reason(
        f"AwsSolutions-IAM5[Resource::<{bucket_logical_id}.Arn>/*]",
        "Lambda writes each skipped batch as a new object with a generated key "
        "(aws/lambda/<mapping>/<shard>/<date>/...), so s3:PutObject is granted on the "
        "failure archive bucket's objects; no read or delete is granted.",
    )


def acknowledge(scope: IConstruct, reasons: Iterable[Reason]) -> None:
    """Acknowledge each finding on ``scope`` (the exact resource that raises it)."""
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=item.rule_id, reason=item.reason) for item in reasons)
    )
