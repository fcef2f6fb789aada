"""The one place cdk_streams.local relies on moto's internals. These tests fail first
when a moto upgrade changes how moto delivers (and drops) stream records."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from cdk_streams.local import LocalCloud, LocalCloudError, moto_patch
from tests.zip_functions import create_zip_function


def test_the_patched_method_still_exists_with_the_expected_signature() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models.table import StreamShard

    original = LambdaBackend.send_dynamodb_items
    assert tuple(inspect.signature(original).parameters) == moto_patch.EXPECTED_PARAMETERS
    # StreamShard.add still hands records to it, and clears them when it returns something.
    source = inspect.getsource(StreamShard.add)
    assert "send_dynamodb_items" in source and "self.items = []" in source
    moto_patch.check_compatible()


def test_a_changed_signature_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda.models import LambdaBackend

    monkeypatch.setattr(LambdaBackend, "send_dynamodb_items", lambda self, arn: None)
    with pytest.raises(moto_patch.MotoPatchError, match=r"has parameters \('self', 'arn'\)"):
        moto_patch.check_compatible()
    monkeypatch.delattr(LambdaBackend, "send_dynamodb_items")
    with pytest.raises(moto_patch.MotoPatchError, match="send_dynamodb_items is gone"):
        moto_patch.check_compatible()


def test_kinesis_delivery_is_patched_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.kinesis.models import Stream

    original = LambdaBackend.send_kinesis_message
    assert tuple(inspect.signature(original).parameters) == moto_patch.EXPECTED_KINESIS_PARAMETERS
    # put_record still hands records to it.
    assert "send_kinesis_message" in inspect.getsource(Stream.put_record)
    monkeypatch.setattr(LambdaBackend, "send_kinesis_message", lambda self, name: None)
    with pytest.raises(moto_patch.MotoPatchError, match=r"send_kinesis_message has parameters"):
        moto_patch.check_compatible()
    monkeypatch.delattr(LambdaBackend, "send_kinesis_message")
    with pytest.raises(moto_patch.MotoPatchError, match="send_kinesis_message is gone"):
        moto_patch.check_compatible()


def test_taking_over_replaces_both_deliveries_and_giving_back_restores_them() -> None:
    from moto.awslambda.models import LambdaBackend

    dynamodb, kinesis = LambdaBackend.send_dynamodb_items, LambdaBackend.send_kinesis_message
    moto_patch.take_over_stream_delivery()
    try:
        assert moto_patch.is_taken_over()
        assert LambdaBackend.send_kinesis_message is not kinesis
    finally:
        moto_patch.give_back_stream_delivery()
    assert not moto_patch.is_taken_over()
    assert LambdaBackend.send_dynamodb_items is dynamodb
    assert LambdaBackend.send_kinesis_message is kinesis


def _table_with_stream(ddb: Any, view_type: str) -> dict[str, Any]:
    """Table "T" (key ``pk``) with a stream of ``view_type``; its description."""
    description: dict[str, Any] = ddb.create_table(
        TableName="T",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
    )["TableDescription"]
    return description


def test_records_survive_a_mapping_and_the_patch_is_undone_on_stop() -> None:
    with LocalCloud() as cloud:
        ddb, lam = cloud.client("dynamodb"), cloud.client("lambda")
        # After the first client, which waits for the patch: alone in a process
        # this test used to look before the emulator's start had applied it.
        assert moto_patch.is_taken_over()
        table = _table_with_stream(ddb, "NEW_IMAGE")
        create_zip_function(
            cloud, "f", "def handler(event, context):\n    return len(event['Records'])\n"
        )
        lam.create_event_source_mapping(
            EventSourceArn=table["LatestStreamArn"],
            FunctionName="f",
            StartingPosition="TRIM_HORIZON",
            BatchSize=10,
        )
        for n in range(3):
            ddb.put_item(TableName="T", Item={"pk": {"S": f"k{n}"}})
        streams = cloud.client("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"][
            "Shards"
        ][0]["ShardId"]
        iterator = streams.get_shard_iterator(
            StreamArn=table["LatestStreamArn"], ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 3

        # A function created through the API (not deployed from an assembly) runs from
        # the zip moto stored, through the runner.
        cloud.refresh_mappings()
        report = cloud.drain(timeout=30)
        assert report.totals.succeeded == 3
        assert cloud.invoke("f", {"Records": [1, 2]}).payload == 2
    assert not moto_patch.is_taken_over()


def test_every_stream_write_reaches_the_write_listener_with_its_arn() -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.kinesis.models import Stream

    add, put = StreamShard.add, Stream.put_record
    seen: list[str | None] = []
    with LocalCloud() as cloud:
        ddb, kinesis = cloud.client("dynamodb"), cloud.client("kinesis")
        moto_patch.notify_writes(seen.append)  # instead of the cloud's runner
        table = _table_with_stream(ddb, "KEYS_ONLY")
        ddb.put_item(TableName="T", Item={"pk": {"S": "a"}})
        ddb.delete_item(TableName="T", Key={"pk": {"S": "a"}})
        kinesis.create_stream(StreamName="K", ShardCount=1)
        arn = kinesis.describe_stream_summary(StreamName="K")["StreamDescriptionSummary"][
            "StreamARN"
        ]
        kinesis.put_record(StreamName="K", Data=b"1", PartitionKey="p")
        kinesis.put_records(StreamName="K", Records=[{"Data": b"2", "PartitionKey": "p"}] * 2)
        assert StreamShard.add is not add and Stream.put_record is not put
    assert seen == [table["LatestStreamArn"]] * 2 + [arn] * 3
    # Stopping gives moto its own methods back.
    assert StreamShard.add is add and Stream.put_record is put


def test_the_server_finds_each_hosts_backend_as_moto_does_and_remembers_it() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    own = DomainDispatcherApplication.get_backend_for_host
    dispatcher = DomainDispatcherApplication(create_backend_app)
    hosts = ["kinesis.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "dynamodb"]
    expected = [own(dispatcher, host) for host in hosts]
    moto_patch.take_over_stream_delivery()
    try:
        assert DomainDispatcherApplication.get_backend_for_host is not own
        assert [dispatcher.get_backend_for_host(host) for host in hosts] == expected
        assert expected == ["kinesis", "sqs", "dynamodb"]
        assert set(moto_patch._backends_by_host) == set(hosts)
        assert dispatcher.get_backend_for_host(None) is None
    finally:
        moto_patch.give_back_stream_delivery()
    assert DomainDispatcherApplication.get_backend_for_host is own
    assert moto_patch._backends_by_host == {}


def test_only_one_local_cloud_per_process() -> None:
    with (
        LocalCloud(),
        pytest.raises(LocalCloudError, match="another LocalCloud is already running"),
    ):
        LocalCloud().start()


def test_using_a_stopped_cloud_is_refused() -> None:
    cloud = LocalCloud()
    with pytest.raises(LocalCloudError, match="the local cloud is not running"):
        cloud.client("dynamodb")


def test_deploy_needs_a_cdk_app(tmp_path) -> None:
    with LocalCloud() as cloud, pytest.raises(LocalCloudError, match=r"has no cdk\.json"):
        cloud.deploy(cwd=tmp_path)


def test_code_of_an_unknown_function_is_reported() -> None:
    with (
        LocalCloud() as cloud,
        pytest.raises(moto_patch.MotoPatchError, match="cannot read the code of function 'nope'"),
    ):
        cloud.code_dir("nope")


# -- CloudFormation: what the CDK CLI deploys through change sets ---------------------------


def _deploy_with_change_set(cloud: LocalCloud, name: str, template: dict) -> dict:
    """As the CDK CLI deploys: CreateChangeSet (CREATE), then ExecuteChangeSet."""
    import json

    cfn = cloud.client("cloudformation")
    cfn.create_change_set(
        StackName=name,
        ChangeSetName="cdk-deploy-change-set",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
    )
    cfn.execute_change_set(ChangeSetName="cdk-deploy-change-set", StackName=name)
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


_QUEUE = {"Type": "AWS::SQS::Queue", "Properties": {}}


def test_change_sets_record_outputs_and_exports_that_other_stacks_import() -> None:
    with LocalCloud() as cloud:
        producer = _deploy_with_change_set(
            cloud,
            "Producer",
            {
                "Resources": {"Queue": _QUEUE},
                "Outputs": {
                    "QueueArn": {
                        "Value": {"Fn::GetAtt": ["Queue", "Arn"]},
                        "Export": {"Name": "queue-arn"},
                    }
                },
            },
        )
        (output,) = producer["Outputs"]
        assert output["OutputKey"] == "QueueArn" and output["ExportName"] == "queue-arn"
        assert output["OutputValue"].startswith("arn:aws:sqs:us-east-1:123456789012:Producer-")
        consumer = _deploy_with_change_set(
            cloud,
            "Consumer",
            {
                "Resources": {"Other": _QUEUE},
                "Outputs": {"Imported": {"Value": {"Fn::ImportValue": "queue-arn"}}},
            },
        )
        assert consumer["Outputs"][0]["OutputValue"] == output["OutputValue"]
        exports = cloud.client("cloudformation").list_exports()["Exports"]
        assert [(e["Name"], e["Value"]) for e in exports] == [("queue-arn", output["OutputValue"])]


def test_alarms_deploy_and_a_dashboard_reads_their_arn() -> None:
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 2,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmDescription": "errors",
        },
    }
    dashboard = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardBody": {
                "Fn::Join": [
                    "",
                    ['{"widgets":[{"alarms":["', {"Fn::GetAtt": ["Alarm", "Arn"]}, '"]}]}'],
                ]
            }
        },
    }
    with LocalCloud() as cloud:
        _deploy_with_change_set(cloud, "Watch", {"Resources": {"Alarm": alarm, "Board": dashboard}})
        cloudwatch = cloud.client("cloudwatch")
        (described,) = cloudwatch.describe_alarms()["MetricAlarms"]
        assert described["AlarmName"].startswith("Watch-Alarm-")
        assert (described["MetricName"], described["EvaluationPeriods"]) == ("Errors", 2)
        assert described["Dimensions"] == [{"Name": "FunctionName", "Value": "f"}]
        assert described["TreatMissingData"] == "notBreaching"
        (entry,) = cloudwatch.list_dashboards()["DashboardEntries"]
        body = cloudwatch.get_dashboard(DashboardName=entry["DashboardName"])["DashboardBody"]
        assert described["AlarmArn"] in body


def test_a_global_table_deploys_as_its_replica_here_with_its_stream() -> None:
    table = {
        "Type": "AWS::DynamoDB::GlobalTable",
        "Properties": {
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "gsi", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "byGsi",
                    "KeySchema": [{"AttributeName": "gsi", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "Replicas": [{"Region": {"Ref": "AWS::Region"}}],
        },
    }
    with LocalCloud() as cloud:
        stack = _deploy_with_change_set(
            cloud,
            "Global",
            {
                "Resources": {"Ledger": table},
                "Outputs": {"Stream": {"Value": {"Fn::GetAtt": ["Ledger", "StreamArn"]}}},
            },
        )
        (resource,) = cloud.client("cloudformation").describe_stack_resources(StackName="Global")[
            "StackResources"
        ]
        assert resource["ResourceType"] == "AWS::DynamoDB::GlobalTable"
        described = cloud.client("dynamodb").describe_table(
            TableName=resource["PhysicalResourceId"]
        )["Table"]
        assert described["StreamSpecification"] == {
            "StreamEnabled": True,
            "StreamViewType": "NEW_IMAGE",
        }
        assert described["GlobalSecondaryIndexes"][0]["IndexName"] == "byGsi"
        assert stack["Outputs"][0]["OutputValue"] == described["LatestStreamArn"]


def test_the_resource_types_are_gone_again_after_stop() -> None:
    from moto.cloudformation import parsing

    with LocalCloud():
        assert moto_patch.supports_resource_type("AWS::DynamoDB::GlobalTable")
        assert "AWS::CloudWatch::Alarm" in parsing.get_model_map()
    assert "AWS::DynamoDB::GlobalTable" not in parsing.get_model_map()
    assert "AWS::CloudWatch::Alarm" not in parsing.get_model_map()
    assert not moto_patch.supports_resource_type("Custom::Anything")


def test_a_changed_execute_change_set_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudformation.models import CloudFormationBackend

    monkeypatch.setattr(CloudFormationBackend, "execute_change_set", lambda self, name: None)
    with pytest.raises(moto_patch.MotoPatchError, match=r"execute_change_set has parameters"):
        moto_patch.check_compatible()


def test_stopping_the_server_ends_its_thread_and_frees_the_port() -> None:
    import socket

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_patch.stop_server(server)
    assert server._thread is not None and not server._thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=1).close()
