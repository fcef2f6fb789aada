"""App shapes the local cloud cannot deploy, found in the synthesized templates
before the deploy starts: one line each, naming the resource type and the way
around it (rather than a CloudFormation error after a long deploy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .assembly import StackArtifact

#: Resource types whose creation runs Lambda code inside CloudFormation.
_CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"

#: Whether moto's CloudFormation creates a resource type.
Supports = Callable[[str], bool]


def find_blockers(
    stacks: Sequence[StackArtifact],
    region: str,
    supports: Supports,
    *,
    account: str | None = None,
) -> list[str]:
    """One line per shape in ``stacks`` that the local cloud (one account, one region)
    cannot deploy."""
    problems: list[str] = []
    for stack in stacks:
        if account is not None and stack.account is not None and stack.account != account:
            problems.append(
                f"stack {stack.name} is bound to account {stack.account}; the local cloud is "
                f"account {account}: take the stack's account from CDK_DEFAULT_ACCOUNT "
                "(cdk.Environment(account=os.environ.get('CDK_DEFAULT_ACCOUNT'))), which the "
                "local cloud sets"
            )
        if stack.region is not None and stack.region != region:
            problems.append(
                f"stack {stack.name} is bound to region {stack.region}; the local cloud is one "
                f"region ({region}): take the stack's region from CDK_DEFAULT_REGION "
                "(cdk.Environment(region=os.environ.get('CDK_DEFAULT_REGION'))), which the "
                "local cloud sets"
            )
        problems.extend(_stack_blockers(stack, region, supports))
    return problems


def _stack_blockers(stack: StackArtifact, region: str, supports: Supports) -> Iterator[str]:
    resources = stack.resources
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = str(resource.get("Type", ""))
        where = f"{stack.name}/{logical_id}"
        if kind.startswith("Custom::") or kind == _CUSTOM_RESOURCE:
            yield (
                f"{kind} ({where}) is a custom resource: CloudFormation would run its Lambda "
                "function, which the local cloud cannot do; create it only outside the local "
                "cloud (for example behind a context flag: -c local=true)"
            )
        elif kind == "AWS::DynamoDB::GlobalTable":
            others = sorted(
                r["Region"]
                for r in (resource.get("Properties") or {}).get("Replicas") or []
                if isinstance(r, dict)
                and isinstance(r.get("Region"), str)
                and r["Region"] != region
            )
            if others:
                yield (
                    f"{kind} ({where}) has replicas in {', '.join(others)}; the local cloud is "
                    f"one region ({region}): add the other replicas only outside the local cloud "
                    "(for example behind a context flag: -c local=true)"
                )
        for target, attribute in _get_atts(resource.get("Properties")):
            target_type = str((resources.get(target) or {}).get("Type", ""))
            if target_type and not supports(target_type):
                yield (
                    f"{target_type} ({stack.name}/{target}) is not supported by the local cloud, "
                    f"and {where} reads its {attribute}; create both only outside the local cloud "
                    "(for example behind a context flag: -c local=true)"
                )


def _get_atts(value: Any) -> Iterator[tuple[str, str]]:
    """Every ``Fn::GetAtt`` (logical id, attribute) inside a template value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::GetAtt" and isinstance(inner, list) and len(inner) == 2:
                yield str(inner[0]), str(inner[1])
            elif key == "Fn::GetAtt" and isinstance(inner, str) and "." in inner:
                target, _, attribute = inner.partition(".")
                yield target, attribute
            else:
                yield from _get_atts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _get_atts(inner)
