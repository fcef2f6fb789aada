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

import aws_cdk
from constructs import IConstruct

# cdk-nag 3 reads acknowledgements through aws-cdk-lib's policy-validation API,
# which older aws-cdk-lib releases lack; cdk-nag 3 cannot run on those releases
# either, so there is nothing to acknowledge there.
_VALIDATIONS = getattr(aws_cdk, "Validations", None)
_ACKNOWLEDGMENT = getattr(aws_cdk, "Acknowledgment", None)


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


def acknowledge(scope: IConstruct, reasons: Iterable[Reason]) -> None:
    """Acknowledge each finding on ``scope`` (the exact resource that raises it).

    A no-op on an aws-cdk-lib without ``Validations`` (where cdk-nag 3 cannot run).
    """
    if _VALIDATIONS is None or _ACKNOWLEDGMENT is None:
        return
    _VALIDATIONS.of(scope).acknowledge(
        *(_ACKNOWLEDGMENT(id=item.rule_id, reason=item.reason) for item in reasons)
    )
