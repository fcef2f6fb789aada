"""The function settings users expect reach the synthesized function."""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamHandlerCode, StreamProcessor
from cdk_streams.processor import newest_python_runtime
from tests.stacks import new_stack, only, orders_table


@pytest.fixture(scope="module")
def settings():
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, restrict_default_security_group=False)
    group = ec2.SecurityGroup(stack, "Group", vpc=vpc, allow_all_outbound=True)
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Layer", "arn:aws:lambda:us-east-1:123456789012:layer:tools:3"
    )
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=lambda_.Architecture.X86_64,
        layers=[layer],
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        security_groups=[group],
        reserved_concurrent_executions=4,
        function_name="orders-cdc",
        description="Orders change data capture",
    )
    template = Template.from_stack(stack)
    return only(template, "AWS::Lambda::Function")["Properties"], template


def test_runtime_is_pinned(settings):
    function, _ = settings
    assert function["Runtime"] == "python3.12"


def test_architecture_layers_name_description_concurrency(settings):
    function, _ = settings
    assert function["Architectures"] == ["x86_64"]
    assert function["Layers"] == ["arn:aws:lambda:us-east-1:123456789012:layer:tools:3"]
    assert function["FunctionName"] == "orders-cdc"
    assert function["Description"] == "Orders change data capture"
    assert function["ReservedConcurrentExecutions"] == 4


def test_vpc_subnets_and_security_groups(settings):
    function, template = settings
    config = function["VpcConfig"]
    assert [g["Fn::GetAtt"][0] for g in config["SecurityGroupIds"]] == [
        next(k for k in template.find_resources("AWS::EC2::SecurityGroup") if k.startswith("Group"))
    ]
    isolated = {k for k in template.find_resources("AWS::EC2::Subnet") if "Isolated" in k}
    assert {s["Ref"] for s in config["SubnetIds"]} == isolated
    # The function's own role may manage its network interfaces in the VPC.
    role = next(
        r["Properties"]
        for k, r in template.find_resources("AWS::IAM::Role").items()
        if k.startswith("ProcessorServiceRole")
    )
    assert "AWSLambdaVPCAccessExecutionRole" in str(role["ManagedPolicyArns"])


def test_defaults_newest_runtime_and_arm64():
    stack = new_stack()
    StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )
    function = only(Template.from_stack(stack), "AWS::Lambda::Function")["Properties"]
    assert function["Runtime"] == newest_python_runtime().name
    assert function["Architectures"] == ["arm64"]
    for absent in (
        "Layers",
        "VpcConfig",
        "FunctionName",
        "Description",
        "ReservedConcurrentExecutions",
    ):
        assert absent not in function
