"""Props across their ranges and just outside them: a construct, or the house error.

Every generated value either builds the construct or raises
StreamsValidationError shaped ``<path>: <prop> must be <allowed>, got <value>``;
never a jsii stack trace. Which of the two is decided by an oracle written from
the documented limits, so a check that drifts from the docs fails here.

Fast on purpose: constructs are built into a fresh Stack per example and never
synthesized (validation happens at construction); mapping props use an
imported table and function so no asset is staged.
"""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import inspect
import itertools
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_streams import (
    AlarmThresholds,
    StreamHandlerCode,
    StreamProcessor,
    StreamsValidationError,
    StreamTable,
)
from cdk_streams.alarms import QUEUE_RETENTION_SECONDS, STREAM_RETENTION_SECONDS
from tests.hypothesis_budget import examples

SETTINGS = settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"

#: prop -> (low, high), the documented limits (FIELD-NOTES and the docstrings).
INT_PROPS = {
    "batch_size": (1, 10_000),
    "parallelization_factor": (1, 10),
    "retry_attempts": (-1, 10_000),
    "memory_size": (128, 10_240),
}
DURATION_PROPS = {
    "max_batching_window": (0, 300),
    "tumbling_window": (0, 900),
    "timeout": (1, 900),
    "max_record_age": (60, 604_800),
}
#: Props of the function this construct creates; the others configure the mapping.
FUNCTION_PROPS = {"memory_size", "timeout"}

_APP = cdk.App()
_COUNTER = itertools.count()


def _stack() -> cdk.Stack:
    return cdk.Stack(_APP, f"S{next(_COUNTER)}")


def _processor(stack: cdk.Stack, props: dict[str, Any]) -> StreamProcessor:
    table = dynamodb.Table.from_table_attributes(
        stack, "Orders", table_name="Orders", table_stream_arn=STREAM_ARN
    )
    if not FUNCTION_PROPS & set(props):
        props = {
            "function": lambda_.Function.from_function_attributes(
                stack,
                "Existing",
                function_arn="arn:aws:lambda:us-east-1:123456789012:function:consumer",
                role=iam.Role.from_role_name(stack, "Role", "consumer-role"),
            ),
            **props,
        }
    else:
        props = {"code": StreamHandlerCode.sample(), **props}
    return StreamProcessor(stack, "Processor", table=table, **props)


def _house(prop: str) -> re.Pattern[str]:
    return re.compile(rf"^S\d+/Processor: {re.escape(prop)}\S* must be .+, got .+$", re.DOTALL)


def _check(props: dict[str, Any], valid: bool, prop: str) -> None:
    stack = _stack()
    if valid:
        _processor(stack, props)
        return
    with pytest.raises(StreamsValidationError) as caught:
        _processor(stack, props)
    assert _house(prop).match(str(caught.value)), str(caught.value)


def _near(low: int, high: int) -> st.SearchStrategy[int]:
    """Whole numbers at and around both edges, and anywhere far out."""
    return st.one_of(
        st.integers(low - 3, low + 3),
        st.integers(high - 3, high + 3),
        st.integers(low, high),
        st.integers(-(10**7), 10**7),
    )


def _not_ints() -> st.SearchStrategy[Any]:
    # inf and nan are left to test_infinite_and_nan_numbers: today they crash
    # the jsii kernel, which would take every later test down with it.
    return st.one_of(
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.just(Duration.seconds(10)),
    )


@pytest.mark.parametrize("prop", sorted(INT_PROPS))
@SETTINGS
@given(data=st.data())
def test_whole_number_props(prop, data):
    low, high = INT_PROPS[prop]
    value = data.draw(st.one_of(_near(low, high), _not_ints(), st.none()), label=prop)
    valid = value is None or (
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    )
    if prop in ("parallelization_factor", "retry_attempts") and value is None:
        valid = True
    _check({prop: value}, valid, prop)


def _durations(low: int, high: int) -> st.SearchStrategy[Any]:
    seconds = st.one_of(
        st.integers(max(0, low - 3), low + 3),
        st.integers(high - 3, high + 3),
        st.integers(0, 10**7),
    )
    return st.one_of(
        seconds.map(Duration.seconds),
        seconds.map(lambda s: Duration.millis(s * 1000 + 500)),  # not whole seconds
        st.integers(0, 1000),  # a bare number, not a Duration
        st.none(),
    )


@pytest.mark.parametrize("prop", sorted(DURATION_PROPS))
@SETTINGS
@given(data=st.data())
def test_duration_props(prop, data):
    low, high = DURATION_PROPS[prop]
    value = data.draw(_durations(low, high), label=prop)
    if value is None:
        valid = True
    elif not isinstance(value, Duration) or value.to_milliseconds() % 1000:
        valid = False
    else:
        valid = low <= value.to_seconds() <= high
    _check({prop: value}, valid, prop)


@SETTINGS
@given(
    max_record_age=st.one_of(st.none(), st.integers(60, 7200)),
    iterator_age=st.one_of(st.none(), st.integers(0, STREAM_RETENTION_SECONDS + 3)),
)
def test_iterator_age_threshold_against_max_record_age(max_record_age, iterator_age):
    limit = STREAM_RETENTION_SECONDS if max_record_age is None else max_record_age
    valid = iterator_age is None or 1 <= iterator_age < limit
    props = {
        "max_record_age": None if max_record_age is None else Duration.seconds(max_record_age),
        "alarm_thresholds": AlarmThresholds(
            iterator_age=None if iterator_age is None else Duration.seconds(iterator_age)
        ),
    }
    _check(props, valid, "alarm_thresholds.iterator_age")


@SETTINGS
@given(
    field=st.sampled_from(["errors", "throttles", "dead_letter_queue_depth"]),
    value=st.one_of(st.integers(-3, 3), st.integers(-(10**9), 10**9), _not_ints()),
)
def test_count_thresholds(field, value):
    valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    _check(
        {"alarm_thresholds": AlarmThresholds(**{field: value})}, valid, f"alarm_thresholds.{field}"
    )


@SETTINGS
@given(
    seconds=st.one_of(
        st.integers(0, 63), st.integers(QUEUE_RETENTION_SECONDS - 3, QUEUE_RETENTION_SECONDS + 3)
    )
)
def test_dead_letter_queue_age_threshold(seconds):
    valid = 60 <= seconds < QUEUE_RETENTION_SECONDS
    _check(
        {"alarm_thresholds": AlarmThresholds(dead_letter_queue_age=Duration.seconds(seconds))},
        valid,
        "alarm_thresholds.dead_letter_queue_age",
    )


_INFINITE = """
import math, sys
import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from cdk_streams import StreamProcessor, StreamsValidationError
stack = cdk.Stack(cdk.App(), "S")
table = dynamodb.Table.from_table_attributes(
    stack, "T", table_name="Orders", table_stream_arn=sys.argv[1])
for value in (math.inf, -math.inf, math.nan):
    try:
        StreamProcessor(stack, f"P{value}", table=table, batch_size=value)
    except StreamsValidationError as error:
        assert "batch_size must be a whole number 1..10000, got" in str(error), error
    else:
        raise AssertionError(f"batch_size={value} was accepted")
"""


def test_infinite_and_nan_numbers_are_the_house_error():
    # In a child process: a dead kernel must not take this session with it.
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _INFINITE, STREAM_ARN],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert result.returncode == 0, result.stderr[-2000:]


# -- StreamTable: small enough to try every combination -----------------------

PROTECTION = [None, True, False, "yes", 1]
POLICIES = [RemovalPolicy.RETAIN, RemovalPolicy.DESTROY, RemovalPolicy.SNAPSHOT]


@pytest.mark.parametrize(
    ("protection", "policy"),
    list(itertools.product(PROTECTION, POLICIES)),
    ids=[f"{p!r}-{r.name}" for p, r in itertools.product(PROTECTION, POLICIES)],
)
def test_deletion_protection_against_removal_policy(protection, policy):
    stack = _stack()
    destroy = policy == RemovalPolicy.DESTROY
    build = lambda: StreamTable(  # noqa: E731
        stack,
        "Orders",
        partition_key=KEY,
        deletion_protection=protection,
        removal_policy=policy,
    )
    if not isinstance(protection, (bool, type(None))) or (protection is True and destroy):
        with pytest.raises(StreamsValidationError) as caught:
            build()
        assert re.match(r"^S\d+/Orders: deletion_protection must be .+, got .+$", str(caught.value))
        return
    table = build()
    expected = (not destroy) if protection is None else protection
    cfn = table.table.node.default_child
    assert stack.resolve(cfn.deletion_protection_enabled) is expected


@SETTINGS
@given(
    view_type=st.one_of(
        st.sampled_from(list(dynamodb.StreamViewType)),
        st.text(max_size=20),
        st.none(),
        st.integers(),
    )
)
def test_view_type(view_type):
    stack = _stack()
    if isinstance(view_type, dynamodb.StreamViewType):
        StreamTable(stack, "Orders", partition_key=KEY, view_type=view_type)
        return
    with pytest.raises(StreamsValidationError) as caught:
        StreamTable(stack, "Orders", partition_key=KEY, view_type=view_type)
    assert re.match(r"^S\d+/Orders: view_type must be one of .+, got .+$", str(caught.value))


# -- any prop, any wrong type: the house error, never jsii --------------------

#: Every keyword prop of StreamProcessor; ``table`` is covered by its own case.
PROCESSOR_PROPS = sorted(
    name
    for name, parameter in inspect.signature(StreamProcessor.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "table"
)
#: Props that pick the function; the others get the sample code so that a
#: function is created and its settings reach lambda_.Function.
CHOICE_PROPS = {"function", "code", "handler_dir", "handler"}


def _anything() -> st.SearchStrategy[Any]:
    """Values of every shape a user might pass by mistake, CDK objects included."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    )
    cdk_values = st.sampled_from(
        [
            Duration.seconds(30),
            lambda_.Tracing.ACTIVE,
            lambda_.StartingPosition.LATEST,
            lambda_.Runtime.PYTHON_3_12,
            lambda_.Runtime.NODEJS_22_X,
            lambda_.Architecture.X86_64,
            logs.RetentionDays.ONE_WEEK,
            dynamodb.StreamViewType.NEW_IMAGE,
            RemovalPolicy.DESTROY,
            AlarmThresholds(),
        ]
    )
    return st.one_of(
        scalars,
        cdk_values,
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(max_size=4), scalars, max_size=2),
    )


@pytest.mark.parametrize("prop", PROCESSOR_PROPS)
@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_anything())
def test_no_value_of_any_prop_reaches_jsii(prop, value):
    stack = _stack()
    table = dynamodb.Table.from_table_attributes(
        stack, "Orders", table_name="Orders", table_stream_arn=STREAM_ARN
    )
    props: dict[str, Any] = {prop: value}
    if prop not in CHOICE_PROPS:
        props["code"] = StreamHandlerCode.sample()
    try:
        StreamProcessor(stack, "Processor", table=table, **props)
    except StreamsValidationError as error:
        assert re.match(r"^S\d+/Processor: .+ must be .+, got .+$", str(error), re.DOTALL), error
    # Any other exception (a jsii TypeError or JSIIError) fails the test.


@SETTINGS
@given(value=_anything())
def test_no_table_value_reaches_jsii(value):
    stack = _stack()
    try:
        StreamProcessor(stack, "Processor", table=value, code=StreamHandlerCode.sample())
    except StreamsValidationError as error:
        assert re.match(r"^S\d+/Processor: table must be .+, got .+$", str(error), re.DOTALL)
    else:
        raise AssertionError(f"table={value!r} was accepted")


TABLE_PROPS = sorted(
    name
    for name, parameter in inspect.signature(StreamTable.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "partition_key"
)


@pytest.mark.parametrize("prop", [*TABLE_PROPS, "partition_key"])
@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_anything())
def test_no_table_prop_value_reaches_jsii(prop, value):
    stack = _stack()
    props: dict[str, Any] = {"partition_key": KEY, prop: value}
    try:
        StreamTable(stack, "Orders", **props)
    except StreamsValidationError as error:
        assert re.match(r"^S\d+/Orders: .+ must be .+, got .+$", str(error), re.DOTALL), error
