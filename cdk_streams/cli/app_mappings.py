"""The stream event-source mappings a synthesized app deploys, read from its cloud assembly.

``cdk-streams plan --app-dir`` takes its mapping settings from here.

A template names the function, the stream and the on-failure destination with
intrinsics (``Ref``, ``Fn::GetAtt``); :func:`app_mappings` resolves them
against the template's own resources to placeholder ARNs of the right kind, so
:meth:`MappingConfig.from_cloudformation` reads the settings exactly as it
reads a deployed mapping's. The function's memory and architecture come along,
since they price its duration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..local.assembly import AssemblyError, CloudAssembly
from ..streams.settings import MappingConfig

_ACCOUNT = "arn:aws:{service}:us-east-1:123456789012:{resource}"
#: Lambda's defaults when a template leaves them out.
DEFAULT_MEMORY_MB = 128
DEFAULT_ARCHITECTURE = "x86_64"


@dataclass(frozen=True)
class AppMapping:
    """One ``AWS::Lambda::EventSourceMapping`` of a synthesized stack."""

    stack: str
    logical_id: str
    config: MappingConfig
    memory_mb: int
    architecture: str


def _referenced(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _placeholder_arn(value: Any, resources: dict[str, Any], name: str) -> str:
    """An ARN for a template value: itself when a string, else one of the referenced kind."""
    if isinstance(value, str):
        return value
    target = _referenced(value)
    kind = resources.get(target or "", {}).get("Type", "")
    if kind == "AWS::SQS::Queue":
        return _ACCOUNT.format(service="sqs", resource=target)
    if kind == "AWS::SNS::Topic":
        return _ACCOUNT.format(service="sns", resource=target)
    if kind == "AWS::S3::Bucket":
        return f"arn:aws:s3:::{target}"
    if kind == "AWS::Kinesis::Stream":
        return _ACCOUNT.format(service="kinesis", resource=f"stream/{target}")
    if kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
        return _ACCOUNT.format(service="dynamodb", resource=f"table/{target}/stream/synth")
    raise AssemblyError(f"{name}: cannot tell what {json.dumps(value)} refers to")


def mappings_in_template(stack: str, template: dict[str, Any]) -> list[AppMapping]:
    """The stream mappings of one CloudFormation template."""
    resources: dict[str, Any] = template.get("Resources", {})
    found = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        props = dict(resource.get("Properties", {}))
        source = _placeholder_arn(props.get("EventSourceArn"), resources, logical_id)
        if ":sqs:" in source:
            continue  # a queue mapping, not a stream
        destination = (props.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        if destination is not None:
            props["DestinationConfig"] = {
                "OnFailure": {"Destination": _placeholder_arn(destination, resources, logical_id)}
            }
        function_id = _referenced(props.get("FunctionName")) or str(props.get("FunctionName"))
        function = resources.get(function_id, {}).get("Properties", {})
        config = MappingConfig.from_cloudformation(
            props,
            uuid=logical_id,
            function_arn=_ACCOUNT.format(service="lambda", resource=f"function:{function_id}"),
            event_source_arn=source,
        )
        architectures = function.get("Architectures") or [DEFAULT_ARCHITECTURE]
        found.append(
            AppMapping(
                stack=stack,
                logical_id=logical_id,
                config=config,
                memory_mb=int(function.get("MemorySize", DEFAULT_MEMORY_MB)),
                architecture=str(architectures[0]),
            )
        )
    return found


def app_mappings(assembly_dir: str | Path) -> list[AppMapping]:
    """The stream mappings of every stack in a cloud assembly directory (``cdk.out``)."""
    found: list[AppMapping] = []
    for stack in CloudAssembly.read(assembly_dir).stacks:
        found.extend(mappings_in_template(stack.name, stack.template))
    return found
