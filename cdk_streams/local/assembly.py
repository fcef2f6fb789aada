"""Reading a cloud assembly (what ``cdk synth`` writes): its stacks in dependency
order, their templates, and where each function's code is.

Plain JSON reading: no moto, no CDK, no AWS calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..handler_code import HANDLER_DIR_METADATA


class AssemblyError(RuntimeError):
    """The cloud assembly is missing or does not say what the local cloud needs."""


@dataclass(frozen=True)
class FunctionAsset:
    """Where one ``AWS::Lambda::Function``'s code is."""

    logical_id: str
    #: The staged code (a directory or a zip) inside the assembly.
    staged: Path
    #: The directory the code was built from, when the assembly says so
    #: (a ``handler_dir``); what ``--watch`` watches.
    source: Path | None


@dataclass
class StackArtifact:
    """One stack of the assembly."""

    artifact_id: str
    name: str
    template: dict[str, Any]
    #: Ids of the stacks this one depends on.
    dependencies: list[str] = field(default_factory=list)
    #: ``aws://account/region`` of the stack, or unknown-account/unknown-region.
    environment: str = ""

    @property
    def resources(self) -> dict[str, Any]:
        resources = self.template.get("Resources") or {}
        return resources if isinstance(resources, dict) else {}

    @property
    def account(self) -> str | None:
        """The stack's account, or None when the stack is environment-agnostic."""
        parts = self.environment.removeprefix("aws://").split("/")
        account = parts[0] if len(parts) == 2 else ""
        return None if not account or account.startswith("unknown-") else account

    @property
    def region(self) -> str | None:
        """The stack's region, or None when the stack is environment-agnostic."""
        region = self.environment.rsplit("/", 1)[-1] if self.environment else ""
        return None if not region or region.startswith("unknown-") else region

    def resources_of(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if isinstance(resource, dict) and resource.get("Type") in types:
                yield logical_id, resource


@dataclass
class CloudAssembly:
    """A synthesized cloud assembly directory."""

    directory: Path
    #: Every stack, dependencies before dependants.
    stacks: list[StackArtifact]

    @classmethod
    def read(cls, directory: str | Path) -> CloudAssembly:
        """Read ``manifest.json`` and every stack template under ``directory``."""
        root = Path(directory)
        try:
            manifest = json.loads((root / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise AssemblyError(f"{root} is not a cloud assembly: {error}") from error
        artifacts: Mapping[str, Any] = manifest.get("artifacts") or {}
        stacks: dict[str, StackArtifact] = {}
        for artifact_id, artifact in artifacts.items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            properties = artifact.get("properties") or {}
            template_file = properties.get("templateFile", f"{artifact_id}.template.json")
            template = json.loads((root / template_file).read_text())
            stacks[artifact_id] = StackArtifact(
                artifact_id=artifact_id,
                name=properties.get("stackName", artifact_id),
                template=template,
                dependencies=list(artifact.get("dependencies") or []),
                environment=str(artifact.get("environment") or ""),
            )
        return cls(root, _dependency_order(stacks))

    def select(self, names: Sequence[str]) -> list[StackArtifact]:
        """The stacks named (by artifact id or stack name), in dependency order; all when empty.

        :raises AssemblyError: a name is not a stack of the assembly.
        """
        if not names:
            return list(self.stacks)
        wanted = set(names)
        known = {s.artifact_id for s in self.stacks} | {s.name for s in self.stacks}
        missing = sorted(wanted - known)
        if missing:
            raise AssemblyError(
                f"stacks {missing} are not in the app; it has {[s.name for s in self.stacks]}"
            )
        return [s for s in self.stacks if s.artifact_id in wanted or s.name in wanted]

    def function_assets(self, stack: StackArtifact, app_dir: Path) -> dict[str, FunctionAsset]:
        """Logical id -> code location of each function in ``stack`` with asset code."""
        assets = {}
        for logical_id, resource in stack.resources_of("AWS::Lambda::Function"):
            metadata = resource.get("Metadata") or {}
            staged = metadata.get("aws:asset:path")
            if not staged:
                continue
            source = metadata.get(HANDLER_DIR_METADATA)
            assets[logical_id] = FunctionAsset(
                logical_id,
                self.directory / staged,
                (app_dir / source).resolve() if source else None,
            )
        return assets


def _dependency_order(stacks: Mapping[str, StackArtifact]) -> list[StackArtifact]:
    """Stacks with dependencies first, keeping the manifest's order otherwise."""
    ordered: list[StackArtifact] = []
    seen: set[str] = set()

    def visit(artifact_id: str, path: tuple[str, ...]) -> None:
        if artifact_id in seen or artifact_id not in stacks:
            return
        if artifact_id in path:
            raise AssemblyError(f"stacks depend on each other in a cycle: {' -> '.join(path)}")
        for dependency in stacks[artifact_id].dependencies:
            visit(dependency, (*path, artifact_id))
        seen.add(artifact_id)
        ordered.append(stacks[artifact_id])

    for artifact_id in stacks:
        visit(artifact_id, ())
    return ordered
