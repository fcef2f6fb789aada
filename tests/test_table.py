"""StreamTable: the stream is on with every view type, and the defaults hold."""

from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from tests.stacks import new_stack, only, orders_table


@pytest.fixture(scope="module")
def defaults():
    stack = new_stack()
    construct = orders_table(stack)
    return construct, Template.from_stack(stack)


def test_defaults_stream_billing_pitr_encryption_and_retain(defaults):
    _, template = defaults
    table = only(template, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # AWS-managed KMS key: SSE on, no key id of ours.
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["KeySchema"] == [{"AttributeName": "orderId", "KeyType": "HASH"}]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_exposes_an_itable_with_its_stream_arn(defaults):
    construct, _ = defaults
    assert construct.table.table_stream_arn is not None
    assert construct.view_type is dynamodb.StreamViewType.NEW_AND_OLD_IMAGES


@pytest.mark.parametrize("view_type", list(dynamodb.StreamViewType))
def test_every_view_type(view_type):
    stack = new_stack()
    orders_table(stack, view_type=view_type)
    Template.from_stack(stack).has_resource_properties(
        "AWS::DynamoDB::Table", {"StreamSpecification": {"StreamViewType": view_type.value}}
    )


def test_customer_managed_key_and_opt_outs():
    stack = new_stack()
    key = kms.Key(stack, "Key")
    orders_table(
        stack,
        encryption_key=key,
        point_in_time_recovery=False,
        removal_policy=RemovalPolicy.DESTROY,
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.NUMBER),
    )
    template = Template.from_stack(stack)
    table = only(template, "AWS::DynamoDB::Table")
    props = table["Properties"]
    sse = props["SSESpecification"]
    assert sse["SSEEnabled"] is True
    assert sse["SSEType"] == "KMS"
    key_id = stack.get_logical_id(key.node.default_child)
    assert sse["KMSMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}
    assert props["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}
    assert table["DeletionPolicy"] == "Delete"


def test_other_table_settings_pass_through():
    stack = new_stack()
    construct = orders_table(
        stack,
        time_to_live_attribute="expiresAt",
        deletion_protection=True,
        table_name="orders",
    )
    construct.table.add_global_secondary_index(
        index_name="byCustomer",
        partition_key=dynamodb.Attribute(name="customerId", type=dynamodb.AttributeType.STRING),
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "orders",
            "DeletionProtectionEnabled": True,
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            "GlobalSecondaryIndexes": [Match.object_like({"IndexName": "byCustomer"})],
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
