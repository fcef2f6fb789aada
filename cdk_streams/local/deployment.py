"""What one deploy into the local cloud created: its stacks, resources, outputs and
where each function's code is, with look-ups by logical id."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..template_references import TABLE_TYPES


class LocalCloudError(RuntimeError):
    """The local cloud could not start, deploy or find something."""


@dataclass(frozen=True)
class Resource:
    """One deployed resource."""

    stack: str
    logical_id: str
    type: str
    physical_id: str


@dataclass
class Deployment:
    """What one :meth:`LocalCloud.deploy` created."""

    assembly_dir: Path
    #: Stack name -> its outputs (OutputKey -> OutputValue).
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    #: Function name -> the code directory the local runtime runs.
    function_code: dict[str, Path] = field(default_factory=dict)
    #: Function name -> the directory its code was built from (its ``handler_dir``),
    #: for the functions whose template says so.
    function_sources: dict[str, Path] = field(default_factory=dict)
    #: The stacks deployed, dependencies first.
    stacks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def find(self, resource_type: str | tuple[str, ...], contains: str = "") -> Resource:
        """The one resource of ``resource_type`` (a type or several) whose logical id
        starts with ``contains`` or, failing that, contains it."""
        types = (resource_type,) if isinstance(resource_type, str) else resource_type
        of_type = [r for r in self.resources if r.type in types]
        matches = [r for r in of_type if r.logical_id.startswith(contains)] or [
            r for r in of_type if contains in r.logical_id
        ]
        if len(matches) != 1:
            known = (
                ", ".join(f"{r.stack}/{r.logical_id}" for r in self.resources if r.type in types)
                or "none"
            )
            raise LocalCloudError(
                f"expected one {' or '.join(types)} whose logical id contains {contains!r}, "
                f"found {len(matches)}; deployed: {known}"
            )
        return matches[0]

    def table_name(self, contains: str = "") -> str:
        """The physical name of the one table (``Table`` or ``TableV2``) whose logical id
        starts with ``contains``."""
        return self.find(TABLE_TYPES, contains).physical_id

    def function_name(self, contains: str = "") -> str:
        """The physical name of the one function whose logical id contains ``contains``."""
        return self.find("AWS::Lambda::Function", contains).physical_id

    def queue_url(self, contains: str = "") -> str:
        """The URL of the one queue whose logical id contains ``contains``."""
        return self.find("AWS::SQS::Queue", contains).physical_id
