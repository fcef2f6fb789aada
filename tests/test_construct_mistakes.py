"""Every mistake a new user can make with the constructs is the house error at synth.

``<construct path>: <prop> must be <allowed>, got <value>``, naming the fix
where there is one; never a jsii or Node stack trace, never a silent deploy.
"""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import json
import re
from pathlib import Path

import pytest
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from cdk_streams import (
    StreamHandlerCode,
    StreamPipeline,
    StreamProcessor,
    StreamsValidationError,
)
from tests.stacks import new_stack, only, orders_table

HOUSE = re.compile(r"^Test/[\w/]+: .+ must be .+, got .+$", re.DOTALL)
KEY = dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING)
SAMPLE = {"code": StreamHandlerCode.sample()}


def _error(build) -> str:
    stack = new_stack()
    with pytest.raises(StreamsValidationError) as caught:
        build(stack)
    message = str(caught.value)
    assert HOUSE.match(message), message
    return message


def _processor(stack, **props):
    return StreamProcessor(stack, "Processor", table=orders_table(stack).table, **props)


# -- the function must be chosen ---------------------------------------------


def test_neither_handler_dir_nor_function_shows_both_ways():
    message = _error(lambda stack: _processor(stack))
    assert message == (
        "Test/Processor: handler_dir or function must be set, got neither. Pass "
        "handler_dir='src' with handler='module.function' for your code (stream_runtime is "
        "bundled in), or function=<your aws_lambda.IFunction> (build its code with "
        "StreamHandlerCode.from_directory). For the bundled Orders sample, pass "
        "code=StreamHandlerCode.sample()"
    )


@pytest.fixture(scope="module")
def users_cdc(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("users_cdc")
    (directory / "users_cdc.py").write_text(
        "from stream_runtime import StreamRouter\n\nrouter = StreamRouter()\nhandler = router.handler\n"
    )
    return directory


def test_a_misspelt_handler_function_is_refused(users_cdc):
    message = _error(
        lambda stack: _processor(stack, handler_dir=users_cdc, handler="users_cdc.handle")
    )
    assert message == (
        "Test/Processor: handler must be a function that users_cdc.py defines or assigns at "
        "module level (def handle(event, context): ... or handle = router.handler), got "
        "'users_cdc.handle', which users_cdc.py does not define; did you mean "
        "users_cdc.handler?"
    )


def test_code_and_handler_dir_together_are_refused(users_cdc):
    message = _error(
        lambda stack: _processor(
            stack,
            code=StreamHandlerCode.sample(),
            handler_dir=users_cdc,
            handler="users_cdc.handler",
        )
    )
    assert message.startswith(
        "Test/Processor: handler_dir and handler must be left unset with code="
    )


def test_code_of_the_wrong_type():
    message = _error(lambda stack: _processor(stack, code="src/"))
    assert message == (
        "Test/Processor: code must be a StreamHandlerCode (StreamHandlerCode.sample() or "
        "StreamHandlerCode.from_directory(dir, handler=...)), got 'src/'"
    )


# -- tables and filters -------------------------------------------------------


def test_table_v2_without_a_stream_names_dynamo_stream():
    def build(stack):
        table = dynamodb.TableV2(stack, "Orders", partition_key=KEY)
        StreamProcessor(stack, "Processor", table=table, **SAMPLE)

    assert _error(build) == (
        "Test/Processor: table must be a table with a stream, got a TableV2 without one. "
        "Pass dynamo_stream=StreamViewType.NEW_AND_OLD_IMAGES to aws_dynamodb.TableV2"
    )


def test_table_v2_with_a_stream_is_accepted():
    stack = new_stack()
    table = dynamodb.TableV2(
        stack, "Orders", partition_key=KEY, dynamo_stream=dynamodb.StreamViewType.NEW_IMAGE
    )
    processor = StreamProcessor(stack, "Processor", table=table, **SAMPLE)
    table_id = stack.resolve(stack.get_logical_id(table.node.default_child))
    (mapping,) = _mappings(stack)
    # The TableV2 synthesizes as AWS::DynamoDB::GlobalTable: its StreamArn, not a table ARN.
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert mapping["FunctionName"] == stack.resolve(processor.function.function_name)
    Template.from_stack(stack).has_resource_properties(
        "AWS::DynamoDB::GlobalTable", {"StreamSpecification": {"StreamViewType": "NEW_IMAGE"}}
    )


def test_a_table_without_a_stream_names_both_spellings():
    def build(stack):
        table = dynamodb.Table(stack, "Orders", partition_key=KEY)
        StreamProcessor(stack, "Processor", table=table, **SAMPLE)

    message = _error(build)
    assert "stream=StreamViewType.NEW_AND_OLD_IMAGES to aws_dynamodb.Table" in message
    assert "dynamo_stream= to aws_dynamodb.TableV2" in message


# -- a Kinesis stream the table does not stream to ------------------------------

KINESIS_ALLOWED = (
    "Test/Processor: kinesis_stream must be the Kinesis stream the table streams to "
    "(kinesis_stream= on aws_dynamodb.Table, or StreamTable(create_kinesis_stream=True) and "
    "its .kinesis_stream), got "
)
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/"


def _on_kinesis(table_of, stream_of):
    """Builds a processor on ``table_of(stack)`` reading ``stream_of(stack, table)``."""

    def build(stack):
        table = table_of(stack)
        StreamProcessor(
            stack, "Processor", table=table, kinesis_stream=stream_of(stack, table), **SAMPLE
        )

    return build


def _stream(stack, _table=None, id="Changes"):
    return kinesis.Stream(stack, id)


def _imported(name, id=None):
    return lambda stack, _table=None: kinesis.Stream.from_stream_arn(stack, id or name, ARN + name)


def _table_to(stream_of):
    return lambda stack: dynamodb.Table(
        stack, "Orders", partition_key=KEY, kinesis_stream=stream_of(stack)
    )


def _stream_table(**props):
    return lambda stack: orders_table(stack, **props).table


def _same_path_in_another_stack(stack, _table):
    # Its GetAtt is the table's own stream's: logical IDs repeat across stacks.
    other = new_stack(stack.node.scope, "Other")
    return orders_table(other, create_kinesis_stream=True).kinesis_stream


@pytest.mark.parametrize(
    ("build", "got"),
    [
        pytest.param(
            _on_kinesis(_stream_table(create_kinesis_stream=True), _stream),
            "the Stream at Test/Changes; the Table at Test/Orders/Table streams to the Stream "
            "at Test/Orders/KinesisStream",
            id="an unrelated stream",
        ),
        pytest.param(
            _on_kinesis(_stream_table(create_kinesis_stream=True), _same_path_in_another_stack),
            "the Stream at Other/Orders/KinesisStream; the Table at Test/Orders/Table streams "
            "to the Stream at Test/Orders/KinesisStream",
            id="another stack's stream at the same path",
        ),
        pytest.param(
            _on_kinesis(_table_to(_imported("a")), _imported("b")),
            f"{ARN + 'b'!r}; the Table at Test/Orders streams to {ARN + 'a'!r}",
            id="another imported stream",
        ),
        pytest.param(
            _on_kinesis(
                lambda stack: dynamodb.TableV2(
                    stack, "Orders", partition_key=KEY, kinesis_stream=_stream(stack, id="Other")
                ),
                _stream,
            ),
            "the Stream at Test/Changes; the TableV2 at Test/Orders streams to another one",
            id="a TableV2 streaming to another stream",
        ),
    ],
)
def test_a_kinesis_stream_the_table_does_not_stream_to_is_refused(build, got):
    # The function would read a stream that never carries the table's changes.
    assert _error(build) == KINESIS_ALLOWED + got


@pytest.mark.parametrize(
    ("table_of", "table"),
    [
        pytest.param(
            lambda stack: dynamodb.Table(stack, "Orders", partition_key=KEY),
            "the Table at Test/Orders",
            id="a Table",
        ),
        pytest.param(_stream_table(), "the Table at Test/Orders/Table", id="a StreamTable"),
        pytest.param(
            lambda stack: dynamodb.TableV2(stack, "Orders", partition_key=KEY),
            "the TableV2 at Test/Orders",
            id="a TableV2",
        ),
    ],
)
def test_a_kinesis_stream_on_a_table_with_no_destination_synth_sees_is_a_warning(table_of, table):
    from aws_cdk.assertions import Annotations as Found

    from cdk_streams.table_stream import KINESIS_NOT_FED_WARNING

    stack = new_stack()
    _on_kinesis(table_of, _stream)(stack)
    warnings = Found.from_stack(stack).find_warning("*", Match.any_value())
    # A warning, not an error: an escape hatch (add_property_override) may set a
    # destination these properties do not show.
    assert [(w.id, w.entry.data) for w in warnings] == [
        (
            "/Test/Processor",
            "kinesis_stream is the Stream at Test/Changes, but synth sees no Kinesis "
            f"destination on {table} (kinesis_stream= on aws_dynamodb.Table, or "
            "StreamTable(create_kinesis_stream=True)): the function would read a stream that "
            "never carries the table's changes. If the table streams to it through an escape "
            f"hatch, acknowledge this warning. [ack: {KINESIS_NOT_FED_WARNING}]",
        )
    ]


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            _on_kinesis(
                _stream_table(create_kinesis_stream=True),
                lambda stack, table: table.node.scope.kinesis_stream,
            ),
            id="a StreamTable's own stream",
        ),
        pytest.param(
            _on_kinesis(
                _stream_table(create_kinesis_stream=True),
                lambda stack, table: kinesis.Stream.from_stream_arn(
                    stack, "Imported", table.node.scope.kinesis_stream.stream_arn
                ),
            ),
            id="its stream imported by its ARN",
        ),
        pytest.param(
            _on_kinesis(
                lambda stack: dynamodb.TableV2(
                    stack, "Orders", partition_key=KEY, kinesis_stream=_stream(stack)
                ),
                lambda stack, table: stack.node.find_child("Changes"),
            ),
            id="a TableV2's stream",
        ),
        pytest.param(
            _on_kinesis(_table_to(_imported("a")), _imported("a", "Again")),
            id="one ARN imported twice",
        ),
        pytest.param(
            _on_kinesis(
                lambda stack: dynamodb.Table.from_table_attributes(
                    stack, "Orders", table_name="orders", table_stream_arn=ARN + "x"
                ),
                _stream,
            ),
            id="an imported table, whose destination synth cannot know",
        ),
        pytest.param(
            _on_kinesis(_table_to(_stream), _imported("changes")),
            id="a literal ARN for a stream of the app, which may be the same",
        ),
    ],
)
def test_the_kinesis_stream_the_table_streams_to_is_accepted(build):
    build(new_stack())


def _mappings(stack) -> list[dict]:
    """The Properties of every event-source mapping in the stack's template."""
    return [
        resource["Properties"]
        for resource in Template.from_stack(stack).to_json()["Resources"].values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
    ]


def _image_filter(image: str) -> dict:
    return lambda_.FilterCriteria.filter(
        {"dynamodb": {image: {"status": {"S": lambda_.FilterRule.is_equal("SHIPPED")}}}}
    )


@pytest.mark.parametrize(
    ("view_type", "image", "carried", "instead"),
    [
        (dynamodb.StreamViewType.NEW_IMAGE, "OldImage", "Keys, NewImage", "NewImage or Keys"),
        (dynamodb.StreamViewType.KEYS_ONLY, "NewImage", "Keys", "Keys"),
        (dynamodb.StreamViewType.OLD_IMAGE, "NewImage", "Keys, OldImage", "OldImage or Keys"),
    ],
)
def test_a_filter_on_an_image_the_stream_does_not_carry(view_type, image, carried, instead):
    def build(stack):
        table = orders_table(stack, view_type=view_type).table
        StreamProcessor(stack, "Processor", table=table, filters=[_image_filter(image)], **SAMPLE)

    assert _error(build) == (
        f"Test/Processor: filters[0].pattern.dynamodb.{image} must be on an image the table's "
        f"{view_type.value} stream carries ({carried}), got {image}: this filter would drop "
        f"every record. Filter on {instead}, or give the table a NEW_AND_OLD_IMAGES stream "
        "(StreamTable(view_type=...), Table(stream=...) or TableV2(dynamo_stream=...))"
    )


@pytest.mark.parametrize(
    ("branches", "refused"),
    [
        # Every branch needs OldImage, which a NEW_IMAGE stream never carries.
        ([{"OldImage": {"s": {"S": ["x"]}}}, {"OldImage": {"t": {"S": ["y"]}}}], True),
        # One branch can match on NewImage alone: records may still get through.
        ([{"OldImage": {"s": {"S": ["x"]}}}, {"NewImage": {"t": {"S": ["y"]}}}], False),
    ],
)
def test_an_or_refuses_an_image_only_when_every_branch_needs_it(branches, refused):
    pattern = json.dumps({"$or": [{"dynamodb": branch} for branch in branches]})

    def build(stack):
        table = orders_table(stack, view_type=dynamodb.StreamViewType.NEW_IMAGE).table
        StreamProcessor(stack, "Processor", table=table, filters=[{"pattern": pattern}], **SAMPLE)

    if refused:
        assert _error(build).startswith(
            "Test/Processor: filters[0].pattern.dynamodb.OldImage must be on an image the "
            "table's NEW_IMAGE stream carries (Keys, NewImage), got OldImage"
        )
    else:  # accepted: one branch can match on NewImage alone
        stack = new_stack()
        build(stack)
        (mapping,) = _mappings(stack)
        assert mapping["FilterCriteria"] == {"Filters": [{"Pattern": pattern}]}


def test_a_filter_on_a_carried_image_and_on_an_imported_table_is_accepted():
    stack = new_stack()
    table = orders_table(stack, view_type=dynamodb.StreamViewType.NEW_IMAGE).table
    new = StreamProcessor(stack, "New", table=table, filters=[_image_filter("NewImage")], **SAMPLE)
    imported_stream = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/x"
    imported = dynamodb.Table.from_table_attributes(
        stack, "Imported", table_name="Orders", table_stream_arn=imported_stream
    )
    # The view type of an imported table is unknown at synth: nothing to check.
    old = StreamProcessor(
        stack, "Old", table=imported, filters=[_image_filter("OldImage")], **SAMPLE
    )
    mappings = {mapping["FunctionName"]["Ref"]: mapping for mapping in _mappings(stack)}
    assert len(mappings) == 2
    table_id = stack.resolve(stack.get_logical_id(table.node.default_child))
    for processor, source, image in (
        (new, {"Fn::GetAtt": [table_id, "StreamArn"]}, "NewImage"),
        (old, imported_stream, "OldImage"),
    ):
        mapping = mappings[stack.resolve(processor.function.function_name)["Ref"]]
        assert mapping["EventSourceArn"] == source
        # Each filter reaches its own mapping as written (the rule rendered as a list).
        (criterion,) = mapping["FilterCriteria"]["Filters"]
        assert json.loads(criterion["Pattern"]) == {
            "dynamodb": {image: {"status": {"S": ["SHIPPED"]}}}
        }


def test_a_table_v2_view_type_is_checked_too():
    def build(stack):
        table = dynamodb.TableV2(
            stack, "Orders", partition_key=KEY, dynamo_stream=dynamodb.StreamViewType.KEYS_ONLY
        )
        StreamProcessor(
            stack, "Processor", table=table, filters=[_image_filter("NewImage")], **SAMPLE
        )

    assert "dynamodb.NewImage must be on an image the table's KEYS_ONLY stream" in _error(build)


# -- on_failure ---------------------------------------------------------------


def test_a_queue_as_on_failure_is_wrapped_in_sqs_dlq():
    stack = new_stack()
    queue = sqs.Queue(stack, "Failures", enforce_ssl=True)
    processor = _processor(stack, on_failure=queue, **SAMPLE)
    assert processor.dead_letter_queue is None  # none created
    assert processor.on_failure_queue is queue
    template = Template.from_stack(stack).to_json()
    (mapping,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination["Fn::GetAtt"][0].startswith("Failures")
    # The queue you passed gets the queue alarms.
    assert processor.alarms.dead_letter_queue_depth is not None


def test_on_failure_of_the_wrong_type_names_sqs_dlq():
    message = _error(lambda stack: _processor(stack, on_failure="arn:aws:sqs:x", **SAMPLE))
    assert message == (
        "Test/Processor: on_failure must be an aws_lambda.IEventSourceDlq (SqsDlq(queue), "
        "SnsDlq(topic), S3OnFailureDestination(bucket)) or an sqs.IQueue, sns.ITopic or "
        "s3.IBucket, got 'arn:aws:sqs:x'"
    )


# -- wrong types that jsii would turn into stack traces -----------------------

TYPE_ERRORS = {
    "environment value not a str": (
        {"environment": {"A": 1}},
        "Test/Processor: environment['A'] must be a str (write str(1) if you mean the text), got 1",
    ),
    "environment not a dict": (
        {"environment": ["A=1"]},
        "Test/Processor: environment must be a dict of str to str, got ['A=1']",
    ),
    "log_retention as days": (
        {"log_retention": 30},
        "Test/Processor: log_retention must be an aws_logs.RetentionDays "
        "(e.g. RetentionDays.ONE_MONTH), got 30",
    ),
    "tracing as a string": (
        {"tracing": "ACTIVE"},
        "Test/Processor: tracing must be an aws_lambda.Tracing (e.g. Tracing.ACTIVE), got 'ACTIVE'",
    ),
    "runtime not Python": (
        {"runtime": lambda_.Runtime.NODEJS_22_X},
        "Test/Processor: runtime must be a Python aws_lambda.Runtime (e.g. "
        "Runtime.PYTHON_3_13): the handler runtime is Python, got 'nodejs22.x'",
    ),
    "runtime as a string": (
        {"runtime": "python3.13"},
        "Test/Processor: runtime must be a Python aws_lambda.Runtime (e.g. "
        "Runtime.PYTHON_3_13): the handler runtime is Python, got 'python3.13'",
    ),
    "architecture as a string": (
        {"architecture": "arm64"},
        "Test/Processor: architecture must be Architecture.ARM_64 or Architecture.X86_64, "
        "got 'arm64'",
    ),
    "layers not a list": (
        {"layers": "arn:aws:lambda:us-east-1:123456789012:layer:x:1"},
        "Test/Processor: layers must be a list of aws_lambda.ILayerVersion, "
        "got 'arn:aws:lambda:us-east-1:123456789012:layer:x:1'",
    ),
    "a layer as an ARN": (
        {"layers": ["arn:aws:lambda:us-east-1:123456789012:layer:x:1"]},
        "Test/Processor: layers[0] must be aws_lambda.ILayerVersion, "
        "got 'arn:aws:lambda:us-east-1:123456789012:layer:x:1'",
    ),
    "vpc as an id": (
        {"vpc": "vpc-123"},
        "Test/Processor: vpc must be an aws_ec2.IVpc, got 'vpc-123'",
    ),
    "security groups without a vpc": (
        {"security_groups": []},
        "Test/Processor: security_groups must be left unset without vpc, got "
        "security_groups=[]; pass vpc= as well",
    ),
    "reserved concurrency zero": (
        {"reserved_concurrent_executions": 0},
        "Test/Processor: reserved_concurrent_executions must be 1..1000000, got 0",
    ),
    "reserved concurrency as text": (
        {"reserved_concurrent_executions": "10"},
        "Test/Processor: reserved_concurrent_executions must be a whole number 1..1000000, "
        "got '10'",
    ),
    "function name with a space": (
        {"function_name": "orders cdc"},
        "Test/Processor: function_name must be letters, digits, '-' or '_' of 1..64 "
        "characters, got 'orders cdc'",
    ),
    "description too long": (
        {"description": "x" * 257},
        f"Test/Processor: description must be a string of 1..256 characters, got '{'x' * 196}...",
    ),
    "bisect not a bool": (
        {"bisect_batch_on_error": "yes"},
        "Test/Processor: bisect_batch_on_error must be True or False, got 'yes'",
    ),
    "event_count_metrics not a bool": (
        {"event_count_metrics": 1},
        "Test/Processor: event_count_metrics must be True or False, got 1",
    ),
    "table as a name": (
        {"table": "Orders"},
        "Test/Processor: table must be an aws_dynamodb.ITable, got 'Orders'",
    ),
}


@pytest.mark.parametrize("case", list(TYPE_ERRORS))
def test_wrong_types_are_the_house_error(case):
    props, expected = TYPE_ERRORS[case]
    props = {**SAMPLE, **props}

    def build(stack):
        if "table" in props:
            StreamProcessor(stack, "Processor", **props)
        else:
            _processor(stack, **props)

    assert _error(build) == expected


def test_log_retention_given_right_reaches_the_log_group():
    stack = new_stack()
    _processor(stack, log_retention=logs.RetentionDays.ONE_WEEK, **SAMPLE)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": 7}
    )


# -- StreamPipeline -----------------------------------------------------------


def test_pipeline_with_a_table_of_its_own():
    def build(stack):
        other = orders_table(stack, "Other").table
        StreamPipeline(stack, "Orders", partition_key=KEY, table=other, **SAMPLE)

    message = _error(build)
    assert message.startswith(
        "Test/Orders: table must be left unset: the pipeline creates its own table, got table="
    )
    assert message.endswith(
        "To process an existing table, use StreamProcessor(table=...) instead; to configure "
        "this one, pass table_props="
    )


def _pipeline(stack, **props):
    return StreamPipeline(stack, "Orders", partition_key=KEY, **SAMPLE, **props)


def _in_table_props(name, value):
    return lambda stack: _pipeline(stack, table_props={name: value})


KEYS_ONLY = dynamodb.StreamViewType.KEYS_ONLY


@pytest.mark.parametrize(
    ("build", "name", "owner", "setting", "got"),
    [
        (
            lambda stack: orders_table(stack, stream=KEYS_ONLY),
            *("stream", "StreamTable", "view_type", "stream=StreamViewType.KEYS_ONLY"),
        ),
        (_in_table_props("stream", KEYS_ONLY), "stream", "StreamPipeline", "view_type", None),
        # Python's TypeError for a keyword given twice, before.
        (_in_table_props("view_type", KEYS_ONLY), "view_type", "StreamPipeline", "view_type", None),
        (
            _in_table_props("encryption", dynamodb.TableEncryption.AWS_MANAGED),
            *("encryption", "StreamTable", "encryption_key", None),
        ),
    ],
)
def test_a_table_setting_the_construct_makes_itself_names_its_keyword(
    build, name, owner, setting, got
):
    # got None: given in the pipeline's table_props, which the message says.
    assert _error(build) == (
        f"Test/Orders: {name} must be set through {owner}'s own keyword arguments ({setting}), "
        f"got {got or 'it in table_props'}"
    )


def test_table_props_the_pipeline_passes_on_reach_the_table():
    stack = new_stack()
    _pipeline(
        stack,
        table_props={
            "billing_mode": dynamodb.BillingMode.PROVISIONED,
            "time_to_live_attribute": "expiresAt",
        },
    )
    table = only(Template.from_stack(stack), "AWS::DynamoDB::Table")["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def test_a_stream_table_instead_of_its_table_names_dot_table():
    def build(stack):
        StreamProcessor(stack, "Processor", table=orders_table(stack), **SAMPLE)

    assert _error(build) == (
        "Test/Processor: table must be an aws_dynamodb.ITable, got StreamTable Test/Orders; "
        "pass its .table"
    )


# -- a keyword argument the construct does not take --------------------------


def _unknown_prop_cases():
    from cdk_streams import StreamAlarms, StreamDashboard
    from cdk_streams.failure_archive import FailureArchive
    from cdk_streams.idempotency_table import IdempotencyTable
    from tests.stacks import user_function

    def processor(stack):
        return _processor(stack, **SAMPLE, alarms_enabled=False)

    return [
        (
            lambda stack: _processor(stack, **SAMPLE, batchsize=10),
            "Test/Processor: batchsize must be one of StreamProcessor's keyword arguments "
            "(did you mean batch_size?), got batchsize=10",
        ),
        (
            lambda stack: StreamAlarms(stack, "Alarms", processor=processor(stack), treshold=5),
            "Test/Alarms: treshold must be one of StreamAlarms's keyword arguments "
            "(did you mean thresholds?), got treshold=5",
        ),
        (
            lambda stack: StreamDashboard(stack, "Ops", processor=processor(stack), name="orders"),
            "Test/Ops: name must be one of StreamDashboard's keyword arguments, got name='orders'",
        ),
        (
            lambda stack: FailureArchive(stack, "Archive", retention_days=30),
            "Test/Archive: retention_days must be one of FailureArchive's keyword arguments "
            "(did you mean retention?), got retention_days=30",
        ),
        (
            lambda stack: IdempotencyTable(
                stack, "Claims", function=user_function(stack), ttl=True
            ),
            "Test/Claims: ttl must be one of IdempotencyTable's keyword arguments, got ttl=True",
        ),
        (
            lambda stack: orders_table(stack, time_to_live_atribute="ttl"),
            "Test/Orders: time_to_live_atribute must be one of StreamTable's or "
            "aws_dynamodb.Table's keyword arguments (did you mean time_to_live_attribute?), "
            "got time_to_live_atribute='ttl'",
        ),
        (
            lambda stack: _pipeline(stack, batchsize=5),
            "Test/Orders: batchsize must be one of StreamPipeline's or StreamProcessor's "
            "keyword arguments (did you mean batch_size?), got batchsize=5",
        ),
        (
            # It would reach the processor: the fix is table_props=.
            lambda stack: _pipeline(stack, time_to_live_atribute="ttl"),
            "Test/Orders: time_to_live_atribute must be one of StreamPipeline's or "
            "StreamProcessor's keyword arguments (did you mean "
            "table_props={'time_to_live_attribute': ...}?), got time_to_live_atribute='ttl'",
        ),
        (
            lambda stack: _pipeline(stack, create_kinesis_stream=True),
            "Test/Orders: create_kinesis_stream must be one of StreamPipeline's or "
            "StreamProcessor's keyword arguments (did you mean "
            "table_props={'create_kinesis_stream': ...}?), got create_kinesis_stream=True",
        ),
        (
            lambda stack: _pipeline(stack, table_props={"time_to_live_atribute": "ttl"}),
            "Test/Orders/Table: time_to_live_atribute must be one of StreamTable's or "
            "aws_dynamodb.Table's keyword arguments (did you mean time_to_live_attribute?), "
            "got time_to_live_atribute='ttl'",
        ),
        (
            # A Duration shows as it was written, not as jsii's object address.
            lambda stack: _processor(stack, **SAMPLE, max_batching_windows=Duration.seconds(5)),
            "Test/Processor: max_batching_windows must be one of StreamProcessor's keyword "
            "arguments (did you mean max_batching_window?), got "
            "max_batching_windows=Duration.seconds(5)",
        ),
    ]


def test_a_construct_given_for_the_processor_is_named_by_its_path():
    from cdk_streams import StreamAlarms, StreamDashboard

    def build(stack, construct):
        table = dynamodb.TableV2(
            stack, "Orders", partition_key=KEY, dynamo_stream=dynamodb.StreamViewType.NEW_IMAGE
        )
        construct(stack, "Ops", processor=table)

    for construct in (StreamAlarms, StreamDashboard):
        message = _error(lambda stack, construct=construct: build(stack, construct))
        assert message.startswith("Test/Ops: processor must be a StreamProcessor (or an ")
        # The table's path, not "<aws_cdk.aws_dynamodb.TableV2 object at 0x7f...>", and not
        # the two dozen members a table lacks.
        assert message.endswith(
            "got the TableV2 at Test/Orders (it lacks alarms, event_count_metrics, function "
            "and 21 more)"
        ), message


@pytest.mark.parametrize(("build", "expected"), _unknown_prop_cases())
def test_a_keyword_argument_the_construct_does_not_take_names_the_closest(build, expected):
    # Python's own TypeError would name neither the construct nor the fix.
    assert _error(build) == expected
