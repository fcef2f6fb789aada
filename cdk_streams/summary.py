"""A short, human summary of what a synthesized stack would deploy: tables and
their streams, functions, and each event-source mapping's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def summarize_template(stack_name: str, template: dict[str, Any]) -> list[str]:
    """Lines describing the stream pipeline in one CloudFormation template."""
    resources = template.get("Resources", {})
    lines = [f"{stack_name}:"]
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            keys = ", ".join(
                f"{k['AttributeName']} ({k['KeyType'].lower()})" for k in props.get("KeySchema", [])
            )
            view = props.get("StreamSpecification", {}).get("StreamViewType", "no stream")
            kinesis = props.get("KinesisStreamSpecification", {}).get("StreamArn")
            to_kinesis = f"; changes to Kinesis {_ref_name(kinesis)}" if kinesis else ""
            lines.append(f"  table    {logical_id}: keys {keys}; stream {view}{to_kinesis}")
        elif kind == "AWS::Lambda::Function":
            lines.append(
                f"  function {logical_id}: {props.get('Runtime')} {props.get('Handler')}, "
                f"{props.get('MemorySize', 128)} MB, timeout {props.get('Timeout', 3)} s"
            )
        elif kind == "AWS::Lambda::EventSourceMapping":
            lines.append(f"  mapping  {logical_id}: {_mapping_settings(props)}")
        elif kind in ("AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Kinesis::Stream"):
            lines.append(f"  {kind.split('::')[1].lower():8} {logical_id}")
    return lines


def _mapping_settings(props: dict[str, Any]) -> str:
    failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    destination = _ref_name(failure) if failure else "none"
    parts = [
        f"from {_ref_name(props.get('EventSourceArn'))}",
        f"start {props.get('StartingPosition')}",
        f"batch {props.get('BatchSize', 100)}",
        f"window {props.get('MaximumBatchingWindowInSeconds', 0)} s",
        f"retries {props.get('MaximumRetryAttempts', -1)}",
        f"max age {props.get('MaximumRecordAgeInSeconds', -1)} s",
        f"bisect {'on' if props.get('BisectBatchOnFunctionError') else 'off'}",
        f"parallel {props.get('ParallelizationFactor', 1)}",
        "partial batch "
        + ("on" if "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []) else "off"),
        f"filters {len(props.get('FilterCriteria', {}).get('Filters', []))}",
        f"on failure -> {destination}",
    ]
    if props.get("TumblingWindowInSeconds"):
        parts.append(f"tumbling window {props['TumblingWindowInSeconds']} s")
    return ", ".join(parts)


def _ref_name(value: Any) -> str:
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
        if "Ref" in value:
            return value["Ref"]
    return json.dumps(value)


def summarize_assembly(assembly_dir: str | Path) -> list[str]:
    """Summaries of every stack in a cloud assembly directory (``cdk.out``)."""
    manifest = json.loads((Path(assembly_dir) / "manifest.json").read_text())
    lines: list[str] = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = artifact["properties"]["templateFile"]
        template = json.loads((Path(assembly_dir) / template_file).read_text())
        lines.extend(summarize_template(name, template))
    return lines
