"""The KMS key a stream processor's log group is encrypted with: the table's own."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

#: What CloudWatch Logs does with a log group's key (AWS's documented key policy).
LOGS_KEY_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]


def table_key_for_logs(table: dynamodb.ITable) -> kms.IKey | None:
    """The table's customer-managed key, once its policy lets CloudWatch Logs use it.

    None when the table has no customer-managed key, or when the key is
    imported: its policy cannot be changed from here, and a log group whose key
    refuses CloudWatch Logs fails to create.

    The statement names log groups of the key's account and region, not the
    one log group: the log group refers to the key, so a key policy naming it
    back would be a dependency cycle.
    """
    key = table.encryption_key
    if key is None:
        return None
    stack = Stack.of(key)
    added = key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=LOGS_KEY_ACTIONS,
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    return key if added.statement_added else None
