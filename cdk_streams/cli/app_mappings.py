"""The stream event-source mappings a synthesized app deploys, read from its cloud assembly.

``cdk-streams plan --app-dir`` takes its mapping settings from here.

A template names the function, the stream and the on-failure destination with
intrinsics (``Ref``, ``Fn::GetAtt``, and ``Fn::ImportValue`` when they are in
another stack); :meth:`AppMapping.settings` resolves them through
:class:`~cdk_streams.template_references.TemplateReferences` to placeholder
ARNs of the right kind, so :meth:`MappingConfig.from_cloudformation` reads the
settings exactly as it reads a deployed mapping's. The function's memory and
architecture come along, since they price its duration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..local.assembly import AssemblyError, CloudAssembly
from ..streams.arns import placeholder_arn
from ..streams.settings import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_MEMORY_MB,
    MappingConfig,
    on_failure_destination,
)
from ..template_references import (
    TABLE_TYPES,
    TemplateReferences,
    imported_export,
    resource_path,
)


@dataclass(frozen=True)
class MappingSettings:
    """What ``plan`` simulates of a mapping: its settings and its function's size."""

    config: MappingConfig
    memory_mb: int
    architecture: str


@dataclass(frozen=True)
class AppMapping:
    """One stream ``AWS::Lambda::EventSourceMapping`` of a synthesized app.

    Its references are resolved only by :meth:`settings`: a mapping whose source
    cannot be told must not stop ``plan --mapping`` from reading another one.
    """

    stack: str
    logical_id: str
    properties: dict[str, Any] = field(repr=False)
    references: TemplateReferences = field(repr=False, compare=False)

    @property
    def path(self) -> str:
        """``Stack/LogicalId``: the mapping when another stack has one of the same id."""
        return resource_path(self.stack, self.logical_id)

    def settings(self) -> MappingSettings:
        """The mapping's settings, with placeholder ARNs for what it names.

        :raises AssemblyError: a reference is to nothing this app deploys.
        """
        props = dict(self.properties)
        source = self._placeholder_arn(props.get("EventSourceArn"))
        destination = on_failure_destination(props.get("DestinationConfig"))
        if destination is not None:
            props["DestinationConfig"] = {
                "OnFailure": {"Destination": self._placeholder_arn(destination)}
            }
        function = self.references.target(self.stack, props.get("FunctionName"))
        function_id = function.logical_id if function else str(props.get("FunctionName"))
        function_props = function.properties if function else {}
        config = MappingConfig.from_cloudformation(
            props,
            uuid=self.logical_id,
            function_arn=placeholder_arn("lambda", f"function:{function_id}"),
            event_source_arn=source,
        )
        architectures = function_props.get("Architectures") or [LAMBDA_ARCHITECTURE]
        return MappingSettings(
            config=config,
            memory_mb=int(function_props.get("MemorySize", LAMBDA_MEMORY_MB)),
            architecture=str(architectures[0]),
        )

    def reads_a_queue(self) -> bool:
        """Whether the source is an SQS queue: a queue mapping, not a stream's.

        False when the source cannot be told: it may be a stream, which
        :meth:`settings` then says it cannot read.
        """
        try:
            return ":sqs:" in self._placeholder_arn(self.properties.get("EventSourceArn"))
        except AssemblyError:
            return False

    def _placeholder_arn(self, value: Any) -> str:
        """An ARN for a template value: itself (or what it imports) when a string, else one
        of the referenced kind."""
        _, plain = self.references.resolved(self.stack, value)
        if isinstance(plain, str):
            return plain
        target = self.references.target(self.stack, value)
        kind, name = (target.kind, target.logical_id) if target else ("", "")
        if kind == "AWS::SQS::Queue":
            return placeholder_arn("sqs", name)
        if kind == "AWS::SNS::Topic":
            return placeholder_arn("sns", name)
        if kind == "AWS::S3::Bucket":
            return placeholder_arn("s3", name)
        if kind == "AWS::Kinesis::Stream":
            return placeholder_arn("kinesis", f"stream/{name}")
        if kind in TABLE_TYPES:
            return placeholder_arn("dynamodb", f"table/{name}/stream/synth")
        export = imported_export(plain)
        unknown = f" (no stack of the app exports {export})" if export else ""
        raise AssemblyError(
            f"{self.logical_id}: cannot tell what {json.dumps(value)} refers to{unknown}"
        )


def app_mappings(assembly_dir: str | Path) -> list[AppMapping]:
    """The stream mappings of every stack in a cloud assembly directory (``cdk.out``)."""
    stacks = CloudAssembly.read(assembly_dir).stacks
    references = TemplateReferences({stack.name: stack.template for stack in stacks})
    found = (
        AppMapping(stack.name, logical_id, dict(resource.get("Properties") or {}), references)
        for stack in stacks
        for logical_id, resource in stack.resources_of("AWS::Lambda::EventSourceMapping")
    )
    return [mapping for mapping in found if not mapping.reads_a_queue()]
