"""TemplateReferences: what a template value refers to, across the stacks of one app.

The shapes CDK writes are checked on a real synth in tests/test_app_mappings.py;
these are the ones it does not write.
"""

from __future__ import annotations

from typing import Any

from cdk_streams.summary import summarize_template
from cdk_streams.template_references import Target, TemplateReferences

TABLE = {"Type": "AWS::DynamoDB::Table", "Properties": {}}


def _exporting(name: str, value: Any) -> dict[str, Any]:
    return {
        "Resources": {"Orders": TABLE},
        "Outputs": {"Out": {"Value": value, "Export": {"Name": name}}},
    }


def test_an_import_is_followed_to_the_exporting_stacks_resource() -> None:
    references = TemplateReferences(
        {"Data": _exporting("Data:OrdersStream", {"Fn::GetAtt": ["Orders", "StreamArn"]})}
    )
    target = references.target("Consumer", {"Fn::ImportValue": "Data:OrdersStream"})
    assert target == Target("Data", "Orders")
    assert target is not None and target.kind == "AWS::DynamoDB::Table"
    assert (target.name_from("Consumer"), target.name_from("Data")) == ("Data/Orders", "Orders")


def test_ref_and_both_forms_of_get_att_name_the_stacks_own_resource() -> None:
    references = TemplateReferences({"Data": {"Resources": {"Orders": TABLE}}})
    for value in (
        {"Ref": "Orders"},
        {"Fn::GetAtt": ["Orders", "Arn"]},
        {"Fn::GetAtt": "Orders.Arn"},
    ):
        target = references.target("Data", value)
        assert target is not None and target.kind == "AWS::DynamoDB::Table", value
    # A parameter or a pseudo parameter: named, but no resource.
    region = references.target("Data", {"Ref": "AWS::Region"})
    assert region == Target("Data", "AWS::Region") and region.kind == ""


def test_an_export_of_a_literal_resolves_to_the_literal_and_no_resource() -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024"
    references = TemplateReferences({"Data": _exporting("OrdersStream", arn)})
    imported = {"Fn::ImportValue": "OrdersStream"}
    assert references.resolved("Consumer", imported) == ("Data", arn)
    assert references.target("Consumer", imported) is None


def test_an_export_no_stack_declares_stays_as_written() -> None:
    references = TemplateReferences({"Data": _exporting("Mine", {"Ref": "Orders"})})
    for value in (
        {"Fn::ImportValue": "AnotherAppsExport"},
        {"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-Mine"}},
    ):
        assert references.resolved("Consumer", value) == ("Consumer", value)
        assert references.target("Consumer", value) is None


def test_exports_that_import_each_other_end() -> None:
    references = TemplateReferences(
        {
            "A": _exporting("FromA", {"Fn::ImportValue": "FromB"}),
            "B": _exporting("FromB", {"Fn::ImportValue": "FromA"}),
        }
    )
    assert references.target("C", {"Fn::ImportValue": "FromA"}) is None


def test_the_summary_names_an_export_from_outside_the_app() -> None:
    template = {
        "Resources": {
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"EventSourceArn": {"Fn::ImportValue": "OtherApp:OrdersStream"}},
            }
        }
    }
    (mapping,) = summarize_template("Consumer", template)[1:]
    assert mapping.startswith(
        "  mapping  Mapping: from export OtherApp:OrdersStream (not in this app), start None"
    )
