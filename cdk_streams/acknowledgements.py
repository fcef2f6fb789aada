"""Every scanner finding these constructs acknowledge, and why: cdk-nag and checkov, in one place.

Only what is inherent to a DynamoDB-stream consumer is acknowledged. What could
be fixed was fixed instead: point-in-time recovery, a TLS-only on-failure queue
encrypted with the AWS-managed ``alias/aws/sqs`` KMS key, explicit memory and
timeout, active tracing, the newest runtime, log retention, and a role of our
own in place of the AWS-managed ``AWSLambdaBasicExecutionRole``.

Each acknowledgement sits on the exact resource that raises the finding (never
on a stack or on a construct as a whole), so a user's own resources next to
ours are still checked, and a finding a user brings back by turning a default
off (``point_in_time_recovery=False``, ``tracing=DISABLED``,
``dead_letter_queue_enabled=False`` ...) is theirs to see and to acknowledge.
A function passed in with ``function=`` and its role are the user's to judge:
nothing is acknowledged on them.

- **cdk-nag 3** reads ``Validations.of(construct).acknowledge`` metadata on a
  resource or any of its ancestors. Its ids are ``<pack>-<rule>`` or, for rules
  that report one finding per offending value, ``<pack>-<rule>[<finding>]``:
  cdk-nag 3 matches them exactly, with no prefix matching.
- **checkov** reads ``Metadata: {"checkov": {"skip": [{"id", "comment"}]}}`` on
  the CloudFormation resource itself.

The checkov skips are decided from the synthesized L1 resources when the
construct is complete: a hardening option that makes a check pass (a
customer-managed key, a VPC, reserved concurrency) leaves its skip out,
whichever prop set it on the L1 (a raw ``add_property_override`` is not
seen). ``docs/security.md`` lists every acknowledgement of both scanners (a
test keeps it in step with this module).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import aws_cdk
from aws_cdk import CfnResource
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

# cdk-nag 3 reads acknowledgements through aws-cdk-lib's policy-validation API,
# which older aws-cdk-lib releases lack; cdk-nag 3 cannot run on those releases
# either, so there is nothing to acknowledge there.
_VALIDATIONS = getattr(aws_cdk, "Validations", None)
_ACKNOWLEDGMENT = getattr(aws_cdk, "Acknowledgment", None)


@dataclass(frozen=True)
class Reason:
    """One acknowledged finding: its exact scanner id and why it stays."""

    rule_id: str
    reason: str

    @property
    def scanner(self) -> str:
        return "checkov" if self.rule_id.startswith("CKV_") else "cdk-nag"


# -- cdk-nag (AwsSolutions and Serverless packs) ------------------------------

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
    "The function is invoked synchronously by its stream event-source mapping "
    "(DynamoDB or Kinesis), where a function DeadLetterConfig never applies; failed "
    "batches go to the mapping's on-failure destination instead.",
)

# -- checkov ------------------------------------------------------------------

#: CKV_AWS_119 wants a customer-managed key on the table. Skipped only while
#: the table uses the AWS-managed key (StreamTable's default).
TABLE_AWS_MANAGED_KEY = Reason(
    "CKV_AWS_119",
    "The table is encrypted at rest with the AWS-managed key aws/dynamodb: every use "
    "is logged in CloudTrail, and there is no key policy to get wrong, no key to "
    "rotate and no key charge. A customer-managed key only adds the power to revoke "
    "access by key policy or by disabling the key; pass encryption_key to use one.",
)

#: CKV_AWS_158 wants a KMS key on the log group. Skipped only while there is
#: no customer-managed key to use: with one on the table, the processor
#: encrypts its log group with it.
LOG_GROUP_SERVICE_ENCRYPTION = Reason(
    "CKV_AWS_158",
    "CloudWatch Logs encrypts every log group at rest with a service key. The "
    "processor encrypts its log group with the table's customer-managed key when the "
    "table has one; with the AWS-managed table key there is no customer key to use, "
    "and a key made only for the logs would add cost without changing who can read them.",
)

#: CKV_AWS_116: checkov's twin of Serverless-LambdaDLQ, skipped on the same
#: condition (the mapping has an on-failure destination).
FUNCTION_DLQ_IS_THE_ON_FAILURE_DESTINATION = Reason(
    "CKV_AWS_116",
    "The function is invoked synchronously by its stream event-source mapping, and a "
    "function DeadLetterConfig only ever receives failed asynchronous invocations; "
    "batches the mapping gives up on go to its on-failure destination instead.",
)

#: CKV_AWS_117 wants a VPC. Skipped only while the function has no VpcConfig.
FUNCTION_OUTSIDE_VPC = Reason(
    "CKV_AWS_117",
    "Lambda's own poller, not the function, reads the stream, and the function "
    "writes only to CloudWatch Logs and X-Ray: it has no private resource to reach. "
    "A VPC would add network interfaces and a NAT gateway or VPC endpoints for those "
    "AWS APIs without closing any path. Give the function a VPC when its handler "
    "must reach private resources.",
)

#: CKV_AWS_115 wants reserved concurrency. Skipped only while none is set.
FUNCTION_CONCURRENCY_BOUNDED_BY_SHARDS = Reason(
    "CKV_AWS_115",
    "The stream mapping already bounds the function's concurrency: one batch per "
    "shard at a time, times parallelization_factor (1 by default). Reserving "
    "concurrency would take it from the account's shared pool, and a reservation "
    "below shards x parallelization_factor throttles the mapping, which holds "
    "shards back and makes the iterator age grow.",
)


# -- where they go ------------------------------------------------------------


class AcknowledgedProcessor(Protocol):
    """What :func:`acknowledge_processor` reads from a stream processor."""

    @property
    def function(self) -> lambda_.IFunction: ...

    @property
    def role(self) -> iam.Role | None: ...

    @property
    def log_group(self) -> logs.LogGroup | None: ...

    @property
    def dead_letter_queue(self) -> sqs.Queue | None: ...

    @property
    def event_source_mapping(self) -> lambda_.EventSourceMapping: ...


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
    """Acknowledge each cdk-nag finding on ``scope`` (the exact resource that raises it).

    A no-op on an aws-cdk-lib without ``Validations`` (where cdk-nag 3 cannot run).
    """
    if _VALIDATIONS is None or _ACKNOWLEDGMENT is None:
        return
    _VALIDATIONS.of(scope).acknowledge(
        *(_ACKNOWLEDGMENT(id=item.rule_id, reason=item.reason) for item in reasons)
    )


def skip_checkov(resource: CfnResource, reasons: Iterable[Reason]) -> None:
    """Add checkov skips to ``resource``'s template Metadata, keeping any already there.

    Metadata is the one place checkov reads skips from, and no L2 prop writes
    it, so this goes through the L1 resource (``add_metadata`` only, nothing
    else of the resource is touched).
    """
    added = [{"id": item.rule_id, "comment": item.reason} for item in reasons]
    if not added:
        return
    existing: dict[str, Any] = dict(resource.get_metadata("checkov") or {})
    skips = [*existing.get("skip", []), *added]
    resource.add_metadata("checkov", {**existing, "skip": skips})


def acknowledge_table(table: dynamodb.Table) -> None:
    """StreamTable's findings: the AWS-managed key, unless a customer one is set."""
    resource = _l1(table)
    sse = getattr(resource, "sse_specification", None)
    if getattr(sse, "kms_master_key_id", None) is None:
        skip_checkov(resource, [TABLE_AWS_MANAGED_KEY])


def acknowledge_function(function: lambda_.IFunction, *, has_on_failure: bool) -> None:
    """The findings on a stream-consumer function this package created.

    Call it once the function is complete: each hardening option already set on
    the L1 (a VpcConfig, reserved concurrency) keeps its skip out.
    """
    resource = _l1(function)
    if has_on_failure:
        acknowledge(resource, [STREAM_FUNCTION_HAS_ON_FAILURE_DESTINATION])
    skips = [FUNCTION_DLQ_IS_THE_ON_FAILURE_DESTINATION] if has_on_failure else []
    if getattr(resource, "vpc_config", None) is None:
        skips.append(FUNCTION_OUTSIDE_VPC)
    if getattr(resource, "reserved_concurrent_executions", None) is None:
        skips.append(FUNCTION_CONCURRENCY_BOUNDED_BY_SHARDS)
    skip_checkov(resource, skips)


def acknowledge_processor(processor: AcknowledgedProcessor) -> None:
    """StreamProcessor's findings, on the resources it created; call it last."""
    has_on_failure = getattr(_l1(processor.event_source_mapping), "destination_config", None)
    if processor.role is not None:
        default_policy = processor.role.node.try_find_child("DefaultPolicy")
        if default_policy is not None:
            acknowledge(_l1(default_policy), [ROLE_POLICY_WILDCARD])
    if processor.log_group is not None:  # the processor made the function
        acknowledge_function(processor.function, has_on_failure=has_on_failure is not None)
        log_group = _l1(processor.log_group)
        if getattr(log_group, "kms_key_id", None) is None:
            skip_checkov(log_group, [LOG_GROUP_SERVICE_ENCRYPTION])
    if processor.dead_letter_queue is not None:
        acknowledge(_l1(processor.dead_letter_queue), ON_FAILURE_QUEUE_HAS_NO_DLQ)


def _l1(construct: IConstruct) -> CfnResource:
    resource = construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to acknowledge on")
    return resource
