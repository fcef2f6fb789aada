"""Small builders the construct tests share."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamTable
from cdk_streams.processor import newest_python_runtime

ENV = cdk.Environment(account="123456789012", region="us-east-1")


def new_stack(app: cdk.App | None = None, name: str = "Test") -> cdk.Stack:
    """A stack with a fixed environment and no bootstrap-version rule, so
    templates hold only what the constructs made."""
    return cdk.Stack(
        app or cdk.App(),
        name,
        env=ENV,
        synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


def orders_table(stack: cdk.Stack, id: str = "Orders", **kwargs) -> StreamTable:
    return StreamTable(
        stack,
        id,
        partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
        **kwargs,
    )


def processor_error(props: Any) -> str:
    """The StreamsValidationError message of a sample StreamProcessor on a fresh stack
    with these props (a dict, or a function of the stack giving one); fails the test
    when no error is raised."""
    import pytest

    from cdk_streams import StreamHandlerCode, StreamProcessor, StreamsValidationError

    stack = new_stack()
    given = props(stack) if callable(props) else props
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            code=StreamHandlerCode.sample(),
            **given,
        )
    return str(error.value)


def user_function(
    stack: cdk.Stack,
    id: str = "Function",
    *,
    runtime: lambda_.Runtime | None = None,
    **props: Any,
) -> lambda_.Function:
    """A function a user builds with aws-cdk-lib alone (inline code; the newest
    Python runtime unless ``runtime`` says otherwise), ``props`` added."""
    return lambda_.Function(
        stack,
        id,
        runtime=runtime or newest_python_runtime(),
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
        **props,
    )


def imported_function(stack: cdk.Stack) -> lambda_.IFunction:
    """A deployed function ``orders-consumer`` imported with its role, as a user passes
    one they did not build in this app."""
    return lambda_.Function.from_function_attributes(
        stack,
        "Existing",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:orders-consumer",
        role=iam.Role.from_role_name(stack, "ExistingRole", "orders-consumer-role"),
    )


def resources_of(template: Template, kind: str) -> dict:
    return template.find_resources(kind)


def only(template: Template, kind: str) -> dict:
    """The one resource of ``kind``; fails if there are none or several."""
    found = template.find_resources(kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))
