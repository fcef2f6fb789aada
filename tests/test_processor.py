"""StreamProcessor: function, mapping, on-failure queue and IAM, with defaults and variants."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from aws_cdk.aws_lambda_event_sources import SnsDlq

from cdk_streams import (
    IStreamProcessor,
    StreamHandlerCode,
    StreamProcessor,
)
from cdk_streams.processor import newest_python_runtime
from tests.stacks import imported_function, new_stack, only, orders_table, processor_error


@pytest.fixture(scope="module")
def defaults():
    stack = new_stack()
    table = orders_table(stack)
    processor = StreamProcessor(
        stack, "Processor", table=table.table, code=StreamHandlerCode.sample()
    )
    return processor, Template.from_stack(stack), stack


def test_mapping_defaults_are_the_safe_ones(defaults):
    _, template, _ = defaults
    mapping = only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["BatchSize"] == 100
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["MaximumRetryAttempts"] == 10
    assert mapping["MaximumRecordAgeInSeconds"] == 3600
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["ParallelizationFactor"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Enabled"] is True
    assert "MaximumBatchingWindowInSeconds" not in mapping
    assert "FilterCriteria" not in mapping
    assert mapping["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    queue_id = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert queue_id.startswith("ProcessorDeadLetterQueue")


def test_on_failure_queue_is_encrypted_tls_only_and_kept_14_days(defaults):
    processor, template, _ = defaults
    assert processor.dead_letter_queue is not None
    queue = only(template, "AWS::SQS::Queue")["Properties"]
    assert queue["KmsMasterKeyId"] == "alias/aws/sqs"
    assert "SqsManagedSseEnabled" not in queue
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    policy = only(template, "AWS::SQS::QueuePolicy")["Properties"]["PolicyDocument"]
    assert any(
        s["Effect"] == "Deny"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Action"] == "sqs:*"
        for s in policy["Statement"]
    )


def test_function_defaults(defaults):
    _, template, _ = defaults
    function = only(template, "AWS::Lambda::Function")["Properties"]
    assert function["Runtime"] == newest_python_runtime().name
    assert function["Handler"] == "process_order_changes.handler"
    assert function["MemorySize"] == 256
    assert function["Timeout"] == 60
    assert function["TracingConfig"] == {"Mode": "Active"}
    log_group = only(template, "AWS::Logs::LogGroup")["Properties"]
    assert log_group["RetentionInDays"] == 30
    assert function["LoggingConfig"]["LogGroup"]["Ref"].startswith("ProcessorLogGroup")


def test_newest_python_runtime_is_the_highest_minor():
    minors = [int(n.split("_")[2]) for n in dir(lambda_.Runtime) if n.startswith("PYTHON_3_")]
    assert newest_python_runtime().name == f"python3.{max(minors)}"


def test_iam_is_least_privilege(defaults):
    _, template, _ = defaults
    statements = only(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"]["Statement"]
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if "*" in a], actions
    by_action = {
        a: s["Resource"]
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    # Reading the stream is scoped to this table's stream; only ListStreams
    # (which has no resource-level permissions) and X-Ray need "*".
    for action in ("dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"):
        assert by_action[action]["Fn::GetAtt"][1] == "StreamArn"
    assert by_action["sqs:SendMessage"]["Fn::GetAtt"][0].startswith("ProcessorDeadLetterQueue")
    wildcard = sorted(a for a, r in by_action.items() if r == "*")
    assert wildcard == ["dynamodb:ListStreams", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    # No write access to the table at all.
    assert not [a for a in actions if a.startswith("dynamodb:") and "Item" in a]


@pytest.mark.parametrize("imported", [False, True], ids=["TableV2", "imported TableV2"])
def test_a_table_v2_gets_list_streams_on_star(imported: bool):
    # TableV2's grant_stream_read scopes ListStreams to the stream ARN, which IAM
    # never matches for that action (aws-cdk#34575); Lambda's poller needs it.
    stack = new_stack()
    if imported:
        table = dynamodb.TableV2.from_table_attributes(
            stack,
            "Orders",
            table_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/Orders",
            table_stream_arn=(
                "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"
            ),
        )
    else:
        table = dynamodb.TableV2(
            stack,
            "Orders",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            dynamo_stream=dynamodb.StreamViewType.NEW_IMAGE,
        )
    StreamProcessor(stack, "Processor", table=table, code=StreamHandlerCode.sample())
    policy = only(Template.from_stack(stack), "AWS::IAM::Policy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    on_star = [s for s in statements if s["Resource"] == "*"]
    assert any("dynamodb:ListStreams" in (s["Action"], *s["Action"]) for s in on_star), statements


def test_seed_values_and_every_mapping_prop_reach_the_template():
    stack = new_stack()
    table = orders_table(stack)
    pattern = lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.is_equal("INSERT")})
    StreamProcessor(
        stack,
        "Processor",
        table=table.table,
        starting_position=lambda_.StartingPosition.LATEST,
        batch_size=100,
        max_batching_window=Duration.seconds(5),
        retry_attempts=-1,
        max_record_age=None,
        bisect_batch_on_error=False,
        parallelization_factor=4,
        report_batch_item_failures=False,
        filters=[pattern],
        tumbling_window=Duration.seconds(30),
        enabled=False,
        memory_size=512,
        timeout=Duration.seconds(30),
        environment={"STAGE": "test"},
        code=StreamHandlerCode.sample(),
    )
    template = Template.from_stack(stack)
    mapping = only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["MaximumRetryAttempts"] == -1
    assert "MaximumRecordAgeInSeconds" not in mapping
    assert mapping["BisectBatchOnFunctionError"] is False
    assert mapping["ParallelizationFactor"] == 4
    assert "FunctionResponseTypes" not in mapping
    assert mapping["TumblingWindowInSeconds"] == 30
    assert mapping["Enabled"] is False
    assert mapping["FilterCriteria"] == {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'}]}
    function = only(template, "AWS::Lambda::Function")["Properties"]
    assert function["MemorySize"] == 512
    assert function["Timeout"] == 30
    assert function["Environment"] == {"Variables": {"STAGE": "test"}}


def test_no_on_failure_destination_when_turned_off():
    stack = new_stack()
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        dead_letter_queue_enabled=False,
        code=StreamHandlerCode.sample(),
    )
    template = Template.from_stack(stack)
    assert processor.dead_letter_queue is None
    template.resource_count_is("AWS::SQS::Queue", 0)
    assert (
        "DestinationConfig" not in only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    )


def test_an_on_failure_destination_with_the_destination_turned_off_is_refused():
    def props(stack: cdk.Stack) -> dict:
        return {"on_failure": sns.Topic(stack, "Failures"), "dead_letter_queue_enabled": False}

    assert processor_error(props) == (
        "Test/Processor: dead_letter_queue_enabled=False turns the on-failure destination off, "
        "so it must not be combined with on_failure; got both (keep on_failure for a "
        "destination of your own, or drop it for none)"
    )


def test_user_on_failure_destination_replaces_the_queue():
    stack = new_stack()
    topic = sns.Topic(stack, "Failures")
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        on_failure=SnsDlq(topic),
        code=StreamHandlerCode.sample(),
    )
    template = Template.from_stack(stack)
    assert processor.dead_letter_queue is None
    template.resource_count_is("AWS::SQS::Queue", 0)
    destination = only(template, "AWS::Lambda::EventSourceMapping")["Properties"][
        "DestinationConfig"
    ]["OnFailure"]["Destination"]
    assert destination == {"Ref": stack.get_logical_id(topic.node.default_child)}


def test_existing_function_gets_the_mapping_and_stream_read_grant():
    stack = new_stack()
    table = orders_table(stack)
    existing = lambda_.Function(
        stack,
        "Mine",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c):\n    return {}"),
    )
    processor = StreamProcessor(stack, "Processor", table=table.table, function=existing)
    template = Template.from_stack(stack)
    assert processor.function is existing
    assert processor.log_group is None
    template.resource_count_is("AWS::Lambda::Function", 1)
    mapping = only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["FunctionName"] == {"Ref": stack.get_logical_id(existing.node.default_child)}
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": [
                                    "dynamodb:DescribeStream",
                                    "dynamodb:GetRecords",
                                    "dynamodb:GetShardIterator",
                                ]
                            }
                        )
                    ]
                )
            }
        },
    )


def test_imported_table_with_stream_arn():
    stack = new_stack()
    stream_arn = (
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    )
    table = dynamodb.Table.from_table_attributes(
        stack, "Imported", table_name="orders", table_stream_arn=stream_arn
    )
    StreamProcessor(stack, "Processor", table=table, code=StreamHandlerCode.sample())
    template = Template.from_stack(stack)
    assert (
        only(template, "AWS::Lambda::EventSourceMapping")["Properties"]["EventSourceArn"]
        == stream_arn
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Resource": stream_arn,
                                "Action": Match.array_with(["dynamodb:GetRecords"]),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_table_from_another_stack_and_two_processors_on_one_table():
    app = cdk.App()
    data = new_stack(app, "Data")
    table = orders_table(data).table
    compute = new_stack(app, "Compute")
    first = StreamProcessor(compute, "Billing", table=table, code=StreamHandlerCode.sample())
    second = StreamProcessor(
        compute, "Shipping", table=table, batch_size=10, code=StreamHandlerCode.sample()
    )
    template = Template.from_stack(compute)
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 2
    assert sorted(m["Properties"]["BatchSize"] for m in mappings.values()) == [10, 100]
    # The stream ARN crosses stacks as an import of the data stack's export.
    for mapping in mappings.values():
        assert "Fn::ImportValue" in mapping["Properties"]["EventSourceArn"]
    assert first.function is not second.function
    assert compute.dependencies == [data]


def _asset_dir(assembly: cdk.cx_api.CloudAssembly, template: dict) -> Path:
    function = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    )
    return Path(assembly.directory) / function["Metadata"]["aws:asset:path"]


def test_handler_dir_asset_carries_user_code_and_runtime_without_docker(tmp_path):
    handler_dir = tmp_path / "handlers"
    handler_dir.mkdir()
    (handler_dir / "billing.py").write_text(
        "from stream_runtime import StreamRouter\nrouter = StreamRouter()\n"
        "def handler(event, context):\n    return router.handler(event, context)\n"
    )
    (handler_dir / "__pycache__").mkdir()
    (handler_dir / "__pycache__" / "billing.cpython-311.pyc").write_bytes(b"junk")
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context={"aws:cdk:enable-asset-metadata": True})
    stack = new_stack(app)
    StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        handler_dir=handler_dir,
        handler="billing.handler",
    )
    assembly = app.synth()
    template = assembly.get_stack_artifact(stack.artifact_id).template
    function = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    )
    assert function["Properties"]["Handler"] == "billing.handler"
    asset = _asset_dir(assembly, template)
    assert (asset / "billing.py").is_file()
    assert (asset / "stream_runtime" / "__init__.py").is_file()
    assert (asset / "stream_runtime" / "router.py").is_file()
    assert not (asset / "__pycache__").exists()
    # Only the user's code and the runtime: not the sample handler.
    assert not (asset / "process_order_changes.py").exists()


def test_default_asset_is_the_bundled_sample(tmp_path):
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context={"aws:cdk:enable-asset-metadata": True})
    stack = new_stack(app)
    StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, code=StreamHandlerCode.sample()
    )
    assembly = app.synth()
    asset = _asset_dir(assembly, assembly.get_stack_artifact(stack.artifact_id).template)
    assert (asset / "process_order_changes.py").is_file()
    assert (asset / "stream_runtime" / "router.py").is_file()
    files = [p for p in asset.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix == ".pyc"]
    # Tiny, stdlib-only asset.
    assert sum(p.stat().st_size for p in files) < 200_000
    imports_sdk = [
        p.name
        for p in files
        if p.suffix == ".py" and ("import boto3" in p.read_text() or "botocore" in p.read_text())
    ]
    # Only the opt-in idempotency store talks to AWS, through the boto3 the
    # Lambda runtime provides, imported on first use (never bundled).
    assert imports_sdk == ["idempotency_dynamodb.py"]


def test_template_json_round_trips(defaults):
    _, template, _ = defaults
    original = template.to_json()
    text = json.dumps(original, allow_nan=False)
    # No unresolved CDK token leaked into the template as a placeholder string.
    assert "${Token[" not in text
    round_tripped = json.loads(text)
    assert round_tripped == original
    # The round-tripped template is still a whole stack: same resources, same mapping.
    again = Template.from_json(round_tripped)
    assert again.to_json()["Resources"].keys() == original["Resources"].keys()
    again.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 100, "StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 10},
    )


# -- the bundled runtime's per-batch metrics and max_record_age, for StreamAlarms


RUNTIME_METRICS = {
    # method: (metric name, default statistic, default period in s)
    "metric_records": ("Records", "Sum", 300),
    "metric_record_failures": ("Failures", "Sum", 300),
    "metric_processing_lag": ("ProcessingLag", "Maximum", 60),
}


def _emf_metrics(namespace: str | None = None) -> tuple[str, list[list[str]], dict[str, str]]:
    """The namespace, dimensions and metric units of one line the runtime really writes."""
    from stream_runtime.metrics import BatchMetrics

    document = BatchMetrics(namespace=namespace, function_name="f", clock=lambda: 10.0).document(
        records=2, failures=1, oldest_created=9.0, duration_ms=3.0
    )
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    return directive["Namespace"], directive["Dimensions"], units


@pytest.mark.parametrize("method", list(RUNTIME_METRICS))
def test_runtime_metrics_read_what_the_runtime_writes(defaults, method):
    processor, _, stack = defaults
    metric = getattr(processor, method)()
    name, statistic, period = RUNTIME_METRICS[method]
    namespace, dimensions, units = _emf_metrics()
    assert (metric.namespace, metric.metric_name) == (namespace, name) == ("CdkStreams", name)
    assert (metric.statistic, metric.period.to_seconds()) == (statistic, period)
    assert metric.unit.value.lower() == units[name].lower()  # jsii spells it MILLISECONDS
    assert dimensions == [list(metric.dimensions)] == [["FunctionName"]]
    assert stack.resolve(metric.dimensions) == {
        "FunctionName": stack.resolve(processor.function.function_name)
    }


@pytest.mark.parametrize("method", list(RUNTIME_METRICS))
def test_runtime_metrics_use_the_functions_namespace_and_any_metric_option(method):
    stack = new_stack()
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        environment={"STREAM_METRICS_NAMESPACE": "Shop/Orders"},
    )
    metric = getattr(processor, method)(
        period=Duration.minutes(1), statistic="Average", label="L", color="#ff0000"
    )
    assert metric.namespace == _emf_metrics("Shop/Orders")[0] == "Shop/Orders"
    assert (metric.period.to_seconds(), metric.statistic, metric.label, metric.color) == (
        60,
        "Average",
        "L",
        "#ff0000",
    )


def test_record_failures_of_a_function_passed_in():
    stack = new_stack()
    existing = imported_function(stack)
    processor = StreamProcessor(
        stack, "Processor", table=orders_table(stack).table, function=existing
    )
    metric = processor.metric_record_failures()
    # The runtime's default namespace: the function's environment is not known here.
    assert metric.namespace == "CdkStreams"
    assert stack.resolve(metric.dimensions) == {"FunctionName": "orders-consumer"}


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("default", 3600), (Duration.minutes(10), 600), (None, None)],
    ids=["default 1 h", "10 min", "none"],
)
def test_max_record_age_is_exposed_for_the_alarms(given, seconds):
    stack = new_stack()
    props = {} if given == "default" else {"max_record_age": given}
    processor = StreamProcessor(
        stack,
        "Processor",
        table=orders_table(stack).table,
        code=StreamHandlerCode.sample(),
        **props,
    )
    exposed = processor.max_record_age
    assert (None if exposed is None else exposed.to_seconds()) == seconds
    assert processor.alarms.max_record_age is exposed
    assert isinstance(processor, IStreamProcessor)
