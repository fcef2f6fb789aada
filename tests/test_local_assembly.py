"""Cloud-assembly reading and the shapes refused before a deploy starts (no deploy here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cdk_streams.local import LocalCloud, LocalCloudError
from cdk_streams.local import cloud as cloud_module
from cdk_streams.local.assembly import AssemblyError, CloudAssembly, StackArtifact
from cdk_streams.local.preflight import find_blockers


def _write_assembly(root: Path, stacks: dict[str, tuple[dict[str, Any], list[str]]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {}
    for name, (template, dependencies) in stacks.items():
        (root / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {"templateFile": f"{name}.template.json"},
            "dependencies": [*dependencies, f"{name}.assets"],
        }
        artifacts[f"{name}.assets"] = {"type": "cdk:asset-manifest"}
    (root / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return root


def test_stacks_come_in_dependency_order(tmp_path: Path) -> None:
    assembly = CloudAssembly.read(
        _write_assembly(
            tmp_path,
            {
                "Consumer": ({}, ["Tables", "Shared"]),
                "Tables": ({}, ["Shared"]),
                "Shared": ({}, []),
            },
        )
    )
    assert [s.name for s in assembly.stacks] == ["Shared", "Tables", "Consumer"]
    assert [s.name for s in assembly.select(["Consumer", "Shared"])] == ["Shared", "Consumer"]
    with pytest.raises(AssemblyError, match=r"stacks \['Nope'\] are not in the app; it has"):
        assembly.select(["Nope"])


def test_a_dependency_cycle_is_named(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match="stacks depend on each other in a cycle: A -> B"):
        CloudAssembly.read(_write_assembly(tmp_path, {"A": ({}, ["B"]), "B": ({}, ["A"])}))


def test_not_an_assembly(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match="is not a cloud assembly"):
        CloudAssembly.read(tmp_path)


def test_function_assets_and_their_handler_dir(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"aws:asset:path": "asset.abc", "cdk_streams:handler_dir": "src"},
            },
            "Sample": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.x"}},
            "Inline": {"Type": "AWS::Lambda::Function", "Properties": {}},
        }
    }
    assembly = CloudAssembly.read(_write_assembly(tmp_path / "out", {"S": (template, [])}))
    assets = assembly.function_assets(assembly.stacks[0], tmp_path / "app")
    assert set(assets) == {"Fn", "Sample"}
    assert assets["Fn"].staged == tmp_path / "out" / "asset.abc"
    assert assets["Fn"].source == (tmp_path / "app" / "src").resolve()
    assert assets["Sample"].source is None


def _stack(resources: dict[str, Any], environment: str = "") -> StackArtifact:
    return StackArtifact("S", "S", {"Resources": resources}, environment=environment)


def _supports(resource_type: str) -> bool:
    return not resource_type.startswith("Custom::") and resource_type != "AWS::Pipes::Pipe"


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        (
            _stack({"Retention": {"Type": "Custom::LogRetention"}}),
            "Custom::LogRetention (S/Retention) is a custom resource: CloudFormation would run "
            "its Lambda function, which the local cloud cannot do; create it only outside the "
            "local cloud (for example behind a context flag: -c local=true)",
        ),
        (
            _stack(
                {
                    "T": {
                        "Type": "AWS::DynamoDB::GlobalTable",
                        "Properties": {
                            "Replicas": [
                                {"Region": {"Ref": "AWS::Region"}},
                                {"Region": "eu-west-1"},
                            ]
                        },
                    }
                }
            ),
            "AWS::DynamoDB::GlobalTable (S/T) has replicas in eu-west-1; the local cloud is one "
            "region (us-east-1): add the other replicas only outside the local cloud",
        ),
        (
            _stack(
                {
                    "Pipe": {"Type": "AWS::Pipes::Pipe"},
                    "Q": {
                        "Type": "AWS::SQS::Queue",
                        "Properties": {"X": {"Fn::GetAtt": ["Pipe", "Arn"]}},
                    },
                }
            ),
            "AWS::Pipes::Pipe (S/Pipe) is not supported by the local cloud, and S/Q reads its Arn",
        ),
        (
            _stack({}, environment="aws://123456789012/eu-west-1"),
            "stack S is bound to region eu-west-1; the local cloud is one region (us-east-1): "
            "take the stack's region from CDK_DEFAULT_REGION",
        ),
    ],
)
def test_shapes_the_local_cloud_cannot_deploy_are_named(stack: StackArtifact, message: str) -> None:
    (problem,) = find_blockers([stack], "us-east-1", _supports)
    assert problem.startswith(message)
    assert "\n" not in problem


def test_a_stack_in_another_account_is_named() -> None:
    stack = _stack({}, environment="aws://111111111111/us-east-1")
    (problem,) = find_blockers([stack], "us-east-1", _supports, account="123456789012")
    assert problem.startswith(
        "stack S is bound to account 111111111111; the local cloud is account 123456789012: "
        "take the stack's account from CDK_DEFAULT_ACCOUNT"
    )
    same = _stack({}, environment="aws://123456789012/us-east-1")
    assert find_blockers([same], "us-east-1", _supports, account="123456789012") == []


def test_supported_shapes_pass() -> None:
    stack = _stack(
        {
            "T": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {"Replicas": [{"Region": "us-east-1"}]},
            },
            "Q": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"X": {"Fn::GetAtt": ["T", "StreamArn"]}},
            },
        },
        environment="aws://unknown-account/unknown-region",
    )
    assert find_blockers([stack], "us-east-1", _supports) == []


class _FakeDriver:
    """Stands in for the CDK CLI: synth writes a prepared assembly; deploy must not run."""

    template: ClassVar[dict[str, Any]] = {}
    deployed: ClassVar[list[str]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def bootstrap(self, environment: str, *, cwd: Path) -> None:
        pass

    def synth(self, app_dir: Path, out: Path, context: Any) -> None:
        _write_assembly(out, {"Observed": (self.template, [])})

    def deploy(self, *args: Any) -> None:
        self.deployed.append("deploy")


def test_a_shape_that_cannot_deploy_fails_before_the_deploy_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cdk.json").write_text("{}")
    _FakeDriver.template = {"Resources": {"Logs": {"Type": "Custom::LogRetention"}}}
    monkeypatch.setattr(cloud_module, "CdkDriver", _FakeDriver)
    monkeypatch.setattr(
        cloud_module.LocalCloud, "_cdk_command", lambda self, app_dir, env: (["cdk"], dict(env))
    )
    with LocalCloud() as cloud, pytest.raises(LocalCloudError) as error:
        cloud.deploy(tmp_path)
    assert str(error.value).startswith(
        "cannot deploy locally: Custom::LogRetention (Observed/Logs) is a custom resource"
    )
    assert _FakeDriver.deployed == []
