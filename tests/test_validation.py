"""Every bad prop fails at construction with `<path>: <prop> must be <allowed>, got <value>`."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamHandlerCode, StreamPipeline, StreamProcessor, StreamsValidationError
from tests.stacks import new_stack, only, orders_table, processor_error

PATH = "Test/Processor"


def build(**props):
    stack = new_stack()
    table = orders_table(stack).table
    if not {"function", "handler_dir", "handler", "code"} & set(props):
        props = {"code": StreamHandlerCode.sample(), **props}
    return StreamProcessor(stack, "Processor", table=table, **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"batch_size": 0}, "batch_size must be 1..10000, got 0"),
        ({"batch_size": 10001}, "batch_size must be 1..10000, got 10001"),
        ({"batch_size": 2.5}, "batch_size must be a whole number 1..10000, got 2.5"),
        ({"batch_size": True}, "batch_size must be a whole number 1..10000, got True"),
        (
            {"max_batching_window": Duration.seconds(301)},
            "max_batching_window must be 0..300 seconds, got 301 seconds",
        ),
        (
            {"max_batching_window": Duration.millis(1500)},
            "max_batching_window must be a whole number of seconds, got 1.5 seconds",
        ),
        ({"max_batching_window": 5}, "max_batching_window must be an aws_cdk.Duration, got 5"),
        ({"retry_attempts": -2}, "retry_attempts must be -1..10000, got -2"),
        ({"retry_attempts": 10001}, "retry_attempts must be -1..10000, got 10001"),
        (
            {"max_record_age": Duration.seconds(59)},
            "max_record_age must be 60..604800 seconds, got 59 seconds",
        ),
        (
            {"max_record_age": Duration.days(8)},
            "max_record_age must be 60..604800 seconds, got 691200 seconds",
        ),
        ({"parallelization_factor": 0}, "parallelization_factor must be 1..10, got 0"),
        ({"parallelization_factor": 11}, "parallelization_factor must be 1..10, got 11"),
        (
            {"tumbling_window": Duration.seconds(901)},
            "tumbling_window must be 0..900 seconds, got 901 seconds",
        ),
        (
            {"starting_position": lambda_.StartingPosition.AT_TIMESTAMP},
            "starting_position must be TRIM_HORIZON or LATEST, got AT_TIMESTAMP",
        ),
        ({"memory_size": 64}, "memory_size must be 128..10240 MB, got 64 MB"),
        ({"timeout": Duration.minutes(16)}, "timeout must be 1..900 seconds, got 960 seconds"),
    ],
)
def test_out_of_range_props_name_path_prop_range_and_value(props, message):
    with pytest.raises(StreamsValidationError) as error:
        build(**props)
    assert str(error.value) == f"{PATH}: {message}"


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"batch_size": 1}, {"BatchSize": 1}),
        ({"batch_size": 10000}, {"BatchSize": 10000}),
        ({"max_batching_window": Duration.seconds(0)}, {"MaximumBatchingWindowInSeconds": 0}),
        ({"max_batching_window": Duration.minutes(5)}, {"MaximumBatchingWindowInSeconds": 300}),
        ({"retry_attempts": -1}, {"MaximumRetryAttempts": -1}),
        ({"retry_attempts": 0}, {"MaximumRetryAttempts": 0}),
        ({"retry_attempts": 10000}, {"MaximumRetryAttempts": 10000}),
        ({"max_record_age": Duration.seconds(60)}, {"MaximumRecordAgeInSeconds": 60}),
        ({"max_record_age": Duration.days(7)}, {"MaximumRecordAgeInSeconds": 604800}),
        ({"max_record_age": None}, {"MaximumRecordAgeInSeconds": None}),
        ({"parallelization_factor": 10}, {"ParallelizationFactor": 10}),
        ({"tumbling_window": Duration.seconds(900)}, {"TumblingWindowInSeconds": 900}),
    ],
)
def test_range_edges_are_accepted(props, expected):
    """Each edge synthesizes as given; None in ``expected`` means the property is left out."""
    processor = build(**props)
    mapping = only(Template.from_stack(Stack.of(processor)), "AWS::Lambda::EventSourceMapping")
    rendered = {name: mapping["Properties"].get(name) for name in expected}
    assert rendered == expected


def _filter(pattern: str) -> dict:
    return {"pattern": pattern}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (
            [lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.is_equal("INSERT")})]
            * 6,
            "filters must be at most 5 patterns (Lambda's default quota), got 6",
        ),
        ([_filter("{not json")], "filters[0].pattern must be valid JSON, got '{not json'"),
        ([_filter("[]")], "filters[0].pattern must be a JSON object, got []"),
        ([{"Pattern": "{}"}], 'filters[0] must be a dict with one key, "pattern"'),
        ("eventName", "filters must be a list of filter dicts, got str"),
    ],
)
def test_bad_filters(filters, message):
    with pytest.raises(StreamsValidationError) as error:
        build(filters=filters)
    assert str(error.value).startswith(f"{PATH}: {message}")


def test_filter_pattern_over_4096_characters():
    long_value = "x" * 4100
    pattern = json.dumps({"dynamodb": {"NewImage": {"status": {"S": [long_value]}}}})
    with pytest.raises(StreamsValidationError) as error:
        build(filters=[_filter(pattern)])
    assert str(error.value) == (
        f"{PATH}: filters[0].pattern must be at most 4096 characters, got {len(pattern)} characters"
    )


def test_five_filters_are_accepted_and_rendered():
    names = ("INSERT", "MODIFY", "REMOVE", "INSERT", "MODIFY")
    filters = [
        lambda_.FilterCriteria.filter(
            {"eventName": lambda_.FilterRule.is_equal(name), "eventID": [f"id-{index}"]}
        )
        for index, name in enumerate(names)
    ]
    processor = build(filters=filters)
    mapping = only(Template.from_stack(Stack.of(processor)), "AWS::Lambda::EventSourceMapping")
    rendered = mapping["Properties"]["FilterCriteria"]["Filters"]
    assert [json.loads(f["Pattern"]) for f in rendered] == [
        {"eventName": [name], "eventID": [f"id-{index}"]} for index, name in enumerate(names)
    ]


# -- props that are CDK tokens pass validation and reach the template as tokens ----------


@pytest.fixture(scope="module")
def token_mapping() -> dict:
    stack = new_stack()
    table = orders_table(stack).table

    def number(name: str) -> float:
        return CfnParameter(stack, name, type="Number").value_as_number

    event_name = CfnParameter(stack, "EventName", type="String").value_as_string
    StreamProcessor(
        stack,
        "Processor",
        table=table,
        code=StreamHandlerCode.sample(),
        batch_size=number("BatchSize"),
        max_batching_window=Duration.seconds(number("Window")),
        retry_attempts=number("Retries"),
        parallelization_factor=number("Parallel"),
        tumbling_window=Duration.seconds(number("Tumbling")),
        max_record_age=Duration.seconds(number("RecordAge")),
        filters=[
            {"pattern": CfnParameter(stack, "Pattern", type="String").value_as_string},
            {"pattern": json.dumps({"eventName": [event_name]})},
        ],
    )
    return only(Template.from_stack(stack), "AWS::Lambda::EventSourceMapping")["Properties"]


@pytest.mark.parametrize(
    ("prop", "parameter"),
    [
        ("BatchSize", "BatchSize"),
        ("MaximumBatchingWindowInSeconds", "Window"),
        ("MaximumRetryAttempts", "Retries"),
        ("ParallelizationFactor", "Parallel"),
        ("TumblingWindowInSeconds", "Tumbling"),
        ("MaximumRecordAgeInSeconds", "RecordAge"),
    ],
)
def test_number_props_from_parameters_synthesize_as_references(token_mapping, prop, parameter):
    assert token_mapping[prop] == {"Ref": parameter}


@pytest.mark.parametrize("prop", ["max_record_age", "max_batching_window", "tumbling_window"])
def test_a_token_duration_in_other_units_than_seconds_is_the_house_error(prop):
    def props(stack):
        return {prop: Duration.minutes(CfnParameter(stack, "M", type="Number").value_as_number)}

    assert processor_error(props) == (
        f"{PATH}: {prop} must be Duration.seconds(...) when the amount is a CDK token "
        "(a token cannot be converted from other units), got Duration.minutes(<token>)"
    )


def test_filter_patterns_from_parameters_synthesize_as_references(token_mapping):
    whole, embedded = token_mapping["FilterCriteria"]["Filters"]
    assert whole == {"Pattern": {"Ref": "Pattern"}}
    assert embedded == {
        "Pattern": {"Fn::Join": ["", ['{"eventName": ["', {"Ref": "EventName"}, '"]}']]}
    }


def test_table_without_stream_is_refused_with_the_fix():
    stack = new_stack()
    table = dynamodb.Table(
        stack,
        "Plain",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    )
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(stack, "Processor", table=table, code=StreamHandlerCode.sample())
    message = str(error.value)
    assert message.startswith(f"{PATH}: table must be a table with a stream, got one without.")
    assert "StreamTable" in message
    assert "table_stream_arn" in message


def test_imported_table_without_stream_arn_is_refused():
    stack = new_stack()
    table = dynamodb.Table.from_table_name(stack, "Imported", "orders")
    with pytest.raises(
        StreamsValidationError, match=re.escape(f"{PATH}: table must be a table with a stream")
    ):
        StreamProcessor(stack, "Processor", table=table, code=StreamHandlerCode.sample())


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"handler": "app.handler"},
            "handler must be given with handler_dir, got handler='app.handler' without it",
        ),
        (
            {"handler_dir": "/no/such/dir", "handler": "app.handler"},
            "handler_dir must be an existing directory, got '/no/such/dir'",
        ),
    ],
)
def test_handler_errors(props, message):
    with pytest.raises(StreamsValidationError) as error:
        build(**props)
    assert str(error.value) == f"{PATH}: {message}"


def test_handler_must_be_module_dot_function(tmp_path):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {}\n")
    for bad in (None, "handler", "app:", "app."):
        with pytest.raises(StreamsValidationError) as error:
            build(handler_dir=tmp_path, handler=bad)
        assert str(error.value) == (
            f"{PATH}: handler must be 'module.function' (or 'module:function') inside "
            f"handler_dir, got {bad!r}"
        )


def test_handler_module_must_exist(tmp_path):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {}\n")
    with pytest.raises(StreamsValidationError) as error:
        build(handler_dir=tmp_path, handler="missing.handler")
    assert str(error.value) == (
        f"{PATH}: handler must be a module in handler_dir, got 'missing.handler' "
        f"but neither missing.py nor missing/__init__.py is in {tmp_path.resolve()}"
    )


def test_function_props_are_refused_with_an_existing_function():
    stack = new_stack()
    table = orders_table(stack).table
    existing = lambda_.Function.from_function_name(stack, "Existing", "my-function")
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(stack, "Processor", table=table, function=existing, memory_size=512)
    assert str(error.value) == (
        f"{PATH}: memory_size must be left unset with function=, got memory_size=512; they "
        "configure the function this construct would create: set them on your function instead"
    )


def test_pipeline_passes_processor_validation_through_with_its_path():
    stack = new_stack()
    with pytest.raises(StreamsValidationError) as error:
        StreamPipeline(
            stack,
            "Orders",
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
            batch_size=0,
            code=StreamHandlerCode.sample(),
        )
    assert str(error.value) == "Test/Orders/Processor: batch_size must be 1..10000, got 0"


def test_table_errors_name_the_table_path():
    stack = new_stack()
    with pytest.raises(StreamsValidationError) as error:
        orders_table(stack, stream=dynamodb.StreamViewType.KEYS_ONLY)
    assert str(error.value) == (
        "Test/Orders: stream must be set through StreamTable's own keyword arguments "
        "(view_type), got stream=StreamViewType.KEYS_ONLY"
    )
    with pytest.raises(StreamsValidationError) as error:
        orders_table(new_stack(), time_to_lives="ttl")
    assert str(error.value) == (
        "Test/Orders: time_to_lives must be one of StreamTable's or aws_dynamodb.Table's "
        "keyword arguments (did you mean time_to_live_attribute?), got time_to_lives='ttl'"
    )
    with pytest.raises(StreamsValidationError) as error:
        orders_table(new_stack(), view_type="NEW_IMAGE")
    assert str(error.value) == (
        "Test/Orders: view_type must be one of NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, "
        "KEYS_ONLY, got 'NEW_IMAGE'"
    )


def test_imported_function_without_a_role_is_refused_with_the_fix():
    stack = new_stack()
    table = orders_table(stack).table
    existing = lambda_.Function.from_function_name(stack, "Existing", "my-function")
    with pytest.raises(StreamsValidationError) as error:
        StreamProcessor(stack, "Processor", table=table, function=existing)
    assert str(error.value) == (
        f"{PATH}: function must have a role that can be granted stream read, got "
        "Test/Existing imported without one. Import it with "
        "Function.from_function_attributes(function_arn=..., role=...)"
    )
