"""A short, human summary of what a synthesized stack would deploy: tables and
their streams, functions, and each event-source mapping's settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .streams.settings import (
    API_NAMES,
    LAMBDA_BATCH_SIZE,
    LAMBDA_MAX_BATCHING_WINDOW_SECONDS,
    LAMBDA_MEMORY_MB,
    LAMBDA_PARALLELIZATION_FACTOR,
    UNLIMITED,
    filter_patterns,
    on_failure_destination,
    reports_batch_item_failures,
)
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
                f"{props.get('MemorySize', LAMBDA_MEMORY_MB)} MB, "
                f"timeout {props.get('Timeout', 3)} s"
            )
        elif kind == "AWS::Lambda::EventSourceMapping":
            lines.append(f"  mapping  {logical_id}: {_mapping_settings(props, name)}")
        elif kind in ("AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Kinesis::Stream"):
            lines.append(f"  {kind.split('::')[1].lower():8} {logical_id}")
    return lines


def _mapping_settings(props: dict[str, Any], name: Callable[[Any], str]) -> str:
    # The template's own values, not MappingConfig's: a CDK token (a Ref to a
    # parameter, say) is shown as written where MappingConfig wants a number.
    def setting(prop: str, default: Any = None) -> Any:
        return props.get(API_NAMES[prop], default)

    def on_off(value: Any) -> str:
        return "on" if value else "off"

    failure = on_failure_destination(setting("on_failure"))
    partial = reports_batch_item_failures(setting("report_batch_item_failures"))
    parts = [
        f"from {name(setting('event_source_arn'))}",
        f"start {setting('starting_position')}",
        f"batch {setting('batch_size', LAMBDA_BATCH_SIZE)}",
        f"window {setting('max_batching_window', LAMBDA_MAX_BATCHING_WINDOW_SECONDS)} s",
        f"retries {setting('retry_attempts', UNLIMITED)}",
        f"max age {setting('max_record_age', UNLIMITED)} s",
        f"bisect {on_off(setting('bisect_batch_on_error'))}",
        f"parallel {setting('parallelization_factor', LAMBDA_PARALLELIZATION_FACTOR)}",
        f"partial batch {on_off(partial)}",
        f"filters {len(filter_patterns(setting('filters')))}",
        f"on failure -> {name(failure) if failure else 'none'}",
    ]
    if setting("tumbling_window"):
        parts.append(f"tumbling window {setting('tumbling_window')} s")
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
