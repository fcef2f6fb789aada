"""`plan --app-dir` and `summary` on an app whose stacks reference each other:
tests/fixtures/shapes_app (the app `local up` deploys in tests/test_local_up.py),
synthesized once for the module by the real CDK CLI, as both commands do.

Its shapes: a processor in another stack than its table (an import of a
CDK-made export), a processor on a table imported from an explicit export, and
a TableV2 (``AWS::DynamoDB::GlobalTable``) with its processor.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.cli import main
from cdk_streams.cli.app_dir import synthesize
from cdk_streams.cli.app_mappings import app_mappings
from cdk_streams.summary import summarize_assembly

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parent / "fixtures" / "shapes_app"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shapes.out")
    synthesize(APP, out, stdout=io.StringIO())
    return out


def _template(assembly: Path, stack: str) -> dict[str, Any]:
    return json.loads((assembly / f"{stack}.template.json").read_text())


def _only(assembly: Path, stack: str, kind: str) -> str:
    (logical_id,) = (
        logical_id
        for logical_id, resource in _template(assembly, stack)["Resources"].items()
        if resource["Type"] == kind
    )
    return logical_id


def test_the_app_has_the_shapes_these_tests_are_about(assembly: Path) -> None:
    consumer = _template(assembly, "ShapesConsumer")["Resources"]
    source = consumer[_only(assembly, "ShapesConsumer", "AWS::Lambda::EventSourceMapping")]
    assert set(source["Properties"]["EventSourceArn"]) == {"Fn::ImportValue"}
    ledger = _template(assembly, "ShapesGlobal")["Resources"][
        _only(assembly, "ShapesGlobal", "AWS::DynamoDB::GlobalTable")
    ]
    # TableV2 keeps its keys and stream at the top level, as a Table does.
    assert ledger["Properties"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert ledger["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_each_mapping_reads_the_stream_of_the_table_it_refers_to(assembly: Path) -> None:
    orders = _only(assembly, "ShapesTables", "AWS::DynamoDB::Table")
    ledger = _only(assembly, "ShapesGlobal", "AWS::DynamoDB::GlobalTable")
    sources = {m.stack: m.settings().config.event_source_arn for m in app_mappings(assembly)}
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/{}/stream/synth"
    assert sources == {
        # CDK's own export of the table's StreamArn, imported by the other stack.
        "ShapesConsumer": stream.format(orders),
        # The app's explicit export (a CfnOutput), imported by name.
        "ShapesImported": stream.format(orders),
        "ShapesGlobal": stream.format(ledger),
    }
    consumer = next(m for m in app_mappings(assembly) if m.stack == "ShapesConsumer")
    queue = _only(assembly, "ShapesConsumer", "AWS::SQS::Queue")
    assert consumer.settings().config.on_failure == (f"arn:aws:sqs:us-east-1:123456789012:{queue}")
    assert (consumer.settings().memory_mb, consumer.settings().architecture) == (256, "arm64")


def test_plan_reads_a_processor_in_another_stack_than_its_table(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = _only(assembly, "ShapesConsumer", "AWS::Lambda::EventSourceMapping")
    argv = ["plan", "--app-dir", str(assembly), "--writes-per-second", "50", "--duration", "1m"]
    code = main([*argv, "--mapping", mapping, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    settings = json.loads(out)["settings"]
    assert settings["source"] == f"mapping from {assembly}"
    assert (settings["retry_attempts"], settings["memory_mb"]) == (10, 256)


def test_summary_shows_the_table_v2_and_names_another_stacks_table_by_its_stack(
    assembly: Path,
) -> None:
    lines = summarize_assembly(assembly)
    orders = _only(assembly, "ShapesTables", "AWS::DynamoDB::Table")
    ledger = _only(assembly, "ShapesGlobal", "AWS::DynamoDB::GlobalTable")
    assert f"  table    {ledger}: keys pk (hash); stream NEW_AND_OLD_IMAGES" in lines
    sources = {
        stack: next(line for line in lines[lines.index(f"{stack}:") :] if "  mapping  " in line)
        for stack in ("ShapesConsumer", "ShapesImported", "ShapesGlobal")
    }
    assert f": from ShapesTables/{orders}, start TRIM_HORIZON," in sources["ShapesConsumer"]
    assert f": from ShapesTables/{orders}, start TRIM_HORIZON," in sources["ShapesImported"]
    # A table of the mapping's own stack keeps its plain logical id.
    assert f": from {ledger}, start TRIM_HORIZON," in sources["ShapesGlobal"]
    queue = _only(assembly, "ShapesConsumer", "AWS::SQS::Queue")
    assert sources["ShapesConsumer"].endswith(f", on failure -> {queue}")
