"""What a value in a synthesized template refers to, across the stacks of one app.

A template names other resources with intrinsics: ``Ref`` and ``Fn::GetAtt`` for
its own, ``Fn::ImportValue`` for another stack's. CDK writes a cross-stack
reference (a ``StreamProcessor`` in another stack than its table, say) as an
import of an export that the other stack declares in its ``Outputs``; the
export's ``Value`` names the resource in that stack. ``cdk-streams summary``
and ``plan --app-dir`` both read references through :class:`TemplateReferences`.

Plain JSON reading: no CDK, no AWS calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Resource types that hold a DynamoDB table (``TableV2`` synthesizes a GlobalTable).
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")


@dataclass(frozen=True)
class Target:
    """The resource a value refers to, and the stack that holds it."""

    stack: str
    logical_id: str
    #: Empty when the stack has no resource of that id (a parameter, ``AWS::Region``).
    resource: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def kind(self) -> str:
        return str(self.resource.get("Type", ""))

    @property
    def properties(self) -> Mapping[str, Any]:
        return self.resource.get("Properties") or {}

    def name_from(self, stack: str) -> str:
        """The logical id, with its stack in front when seen from another stack."""
        return (
            self.logical_id if stack == self.stack else resource_path(self.stack, self.logical_id)
        )


def resource_path(stack: str, logical_id: str) -> str:
    """``Stack/LogicalId``: a resource named among the stacks of an app."""
    return f"{stack}/{logical_id}"


def imported_export(value: Any) -> str | None:
    """The export name in ``{"Fn::ImportValue": name}``, when the name is a plain string."""
    if isinstance(value, dict):
        name = value.get("Fn::ImportValue")
        if isinstance(name, str):
            return name
    return None


class TemplateReferences:
    """Resolves references among the templates of one app, by stack name."""

    def __init__(self, templates: Mapping[str, Mapping[str, Any]]) -> None:
        self._templates = templates
        #: Export name -> (the exporting stack, the output's Value).
        self._exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for output in (template.get("Outputs") or {}).values():
                name = ((output or {}).get("Export") or {}).get("Name")
                if isinstance(name, str):
                    self._exports[name] = (stack, output.get("Value"))

    def resolved(self, stack: str, value: Any) -> tuple[str, Any]:
        """``value`` with its import replaced by the exported value, and the stack that wrote it.

        ``value`` as it is when it imports nothing, or an export no stack of the
        app declares (another app's, or one whose name is itself an intrinsic).
        """
        seen: set[str] = set()
        # An export that imports itself back cannot deploy; the guard keeps a
        # hand-written template from looping for ever.
        while (name := imported_export(value)) in self._exports and name not in seen:
            seen.add(name)
            stack, value = self._exports[name]
        return stack, value

    def target(self, stack: str, value: Any) -> Target | None:
        """The resource ``value``, written in ``stack``'s template, refers to; None when none."""
        stack, value = self.resolved(stack, value)
        if not isinstance(value, dict):
            return None
        if isinstance(value.get("Ref"), str):
            logical_id = value["Ref"]
        elif "Fn::GetAtt" in value:
            attribute = value["Fn::GetAtt"]
            # JSON templates write [id, attribute]; "id.attribute" is the short form.
            logical_id = str(attribute[0] if isinstance(attribute, list) else attribute)
            logical_id = logical_id.split(".")[0]
        else:
            return None
        resources = self._templates.get(stack, {}).get("Resources") or {}
        return Target(stack, logical_id, resources.get(logical_id) or {})
