"""FailureArchive: an S3 bucket that keeps every batch a stream mapping skips, records included.

An SQS or SNS on-failure record names only the shard and sequence range of a
skipped batch; the records stay in the stream for 24 h and are then gone. An
S3 on-failure destination (since 2024-11) receives the whole invocation
payload, so a skipped batch can be replayed (``cdk-streams redrive --from
s3://...``) long after the stream dropped it.

``StreamProcessor(failure_destination="s3")`` builds one (construct id
``FailureArchive``) instead of the on-failure queue. The bucket is encrypted
(S3-managed keys), TLS-only, blocks all public access, enforces bucket-owner
object ownership, and expires objects after :data:`DEFAULT_RETENTION` (a
lifecycle rule). Because no queue depth exists to alarm on, the mapping
publishes its EventCount metrics and :class:`~cdk_streams.alarms.StreamAlarms`'
``OnFailureArchived`` alarm fires when any batch is delivered to the bucket.
"""

from __future__ import annotations

from typing import Never

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import acknowledgements
from .prop_types import reject_unknown

#: How long a skipped batch is kept: a month to notice the alarm and replay it.
DEFAULT_RETENTION = Duration.days(30)
#: The values ``StreamProcessor(failure_destination=...)`` accepts.
FAILURE_DESTINATIONS = ("sqs", "s3")


@jsii.implements(lambda_.IEventSourceDlq)
class ArchiveDestination:
    """A mapping's S3 on-failure destination that grants only what Lambda needs.

    aws-cdk-lib's ``S3OnFailureDestination`` grants the function read, write
    and delete on the whole bucket; Lambda needs ``s3:PutObject`` on the
    objects and ``s3:ListBucket`` on the bucket, so a compromised handler
    cannot read or erase the archive.
    """

    def __init__(self, bucket: s3.IBucket) -> None:
        self.bucket = bucket

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        target_handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects("*")]
            )
        )
        target_handler.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        role = target_handler.role
        policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
        bucket_resource = self.bucket.node.default_child
        policy_resource = policy.node.default_child if policy is not None else None
        if policy_resource is not None and isinstance(bucket_resource, s3.CfnBucket):
            logical_id = Stack.of(bucket_resource).resolve(
                Stack.of(bucket_resource).get_logical_id(bucket_resource)
            )
            acknowledgements.acknowledge(
                policy_resource, [acknowledgements.failure_archive_object_write(logical_id)]
            )
        return lambda_.DlqDestinationConfig(destination=self.bucket.bucket_arn)


class FailureArchive(Construct):
    """The S3 bucket a mapping's skipped batches go to; ``StreamAlarms`` alarms on it.

    :param retention: how long objects are kept (lifecycle expiration).
        @default 30 days.
    :param removal_policy: what happens to the bucket when the stack is
        deleted. @default RETAIN: the skipped batches may be the only copy left.

    Exposes ``bucket`` and ``destination`` (the mapping's ``on_failure``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        retention: Duration = DEFAULT_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        **unknown: Never,
    ) -> None:
        super().__init__(scope, id)
        reject_unknown(self, unknown)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireSkippedBatches",
                    expiration=retention,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
        )
        bucket_resource = self.bucket.node.default_child
        assert bucket_resource is not None  # an L2 Bucket always has its CfnBucket
        acknowledgements.acknowledge(
            bucket_resource, [acknowledgements.FAILURE_ARCHIVE_ACCESS_LOGS]
        )
        self.destination: lambda_.IEventSourceDlq = ArchiveDestination(self.bucket)
