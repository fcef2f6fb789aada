"""A short, human summary of what a synthesized stack would deploy: tables and
their streams, functions, and each event-source mapping's settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .template_references import TABLE_TYPES, TemplateReferences, imported_export


def summarize_template(
    stack_name: str, template: dict[str, Any], references: TemplateReferences | None = None
) -> list[str]:
    """Lines describing the stream pipeline in one CloudFormation template.

    :param references: the app's stacks, to name what this one imports from
        them. @default None: the template alone.
    """
    references = references or TemplateReferences({stack_name: template})

    def name(value: Any) -> str:
        return _name(value, stack_name, references)

    resources = template.get("Resources", {})
    lines = [f"{stack_name}:"]
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in TABLE_TYPES:
            keys = ", ".join(
                f"{k['AttributeName']} ({k['KeyType'].lower()})" for k in props.get("KeySchema", [])
            )
            view = props.get("StreamSpecification", {}).get("StreamViewType", "no stream")
            kinesis = props.get("KinesisStreamSpecification", {}).get("StreamArn")
            to_kinesis = f"; changes to Kinesis {name(kinesis)}" if kinesis else ""
            lines.append(f"  table    {logical_id}: keys {keys}; stream {view}{to_kinesis}")
        elif kind == "AWS::Lambda::Function":
            lines.append(
                f"  function {logical_id}: {props.get('Runtime')} {props.get('Handler')}, "
                f"{props.get('MemorySize', 128)} MB, timeout {props.get('Timeout', 3)} s"
            )
        elif kind == "AWS::Lambda::EventSourceMapping":
            lines.append(f"  mapping  {logical_id}: {_mapping_settings(props, name)}")
        elif kind in ("AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Kinesis::Stream"):
            lines.append(f"  {kind.split('::')[1].lower():8} {logical_id}")
    return lines


def _mapping_settings(props: dict[str, Any], name: Callable[[Any], str]) -> str:
    failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    destination = name(failure) if failure else "none"
    parts = [
        f"from {name(props.get('EventSourceArn'))}",
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


def _name(value: Any, stack: str, references: TemplateReferences) -> str:
    """What a value names: a resource's logical id (``Stack/Id`` when another stack's)."""
    target = references.target(stack, value)
    if target is not None:
        return target.name_from(stack)
    _, plain = references.resolved(stack, value)
    export = imported_export(plain)
    return f"export {export} (not in this app)" if export else json.dumps(plain)


def summarize_assembly(assembly_dir: str | Path) -> list[str]:
    """Summaries of every stack in a cloud assembly directory (``cdk.out``)."""
    manifest = json.loads((Path(assembly_dir) / "manifest.json").read_text())
    templates: dict[str, dict[str, Any]] = {}
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = artifact["properties"]["templateFile"]
        templates[name] = json.loads((Path(assembly_dir) / template_file).read_text())
    references = TemplateReferences(templates)
    return [
        line
        for name, template in templates.items()
        for line in summarize_template(name, template, references)
    ]
