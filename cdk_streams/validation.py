"""Synth-time checks of construct props against the service's limits.

Every check raises :class:`StreamsValidationError` with a message of one shape,
``<construct path>: <prop> must be <allowed>, got <value>``, so a user never has
to read a jsii stack trace to learn what they passed wrong. Values that are
still CDK tokens at construction time are not checked: the service checks them.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Token
from constructs import Construct

from .streams.filter_fields import Source, check_fields
from .streams.filter_grammar import MAX_FILTERS, FilterPatternError, compile_pattern
from .streams.settings import MAX_RECORD_AGE_SECONDS, RETRY_ATTEMPTS

#: The function's timeout in seconds; the mapping limits live in the stream package.
TIMEOUT_SECONDS = (1, 900)


class StreamsValidationError(ValueError):
    """A construct prop is outside what the service accepts.

    The message names the construct path, the prop, what is allowed and the
    value given.
    """


def described(value: Any) -> str:
    """How an error message shows a value the user gave: its repr, except for
    enums, Durations, constructs (their path) and objects whose repr is an address."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, Duration):
        # "Duration.seconds(5)", as it was written; jsii's repr is an address.
        return value.to_string()
    if isinstance(value, Construct):
        return f"the {type(value).__name__} at {value.node.path}"
    path = getattr(getattr(value, "node", None), "path", None)
    if isinstance(path, str):
        # An imported resource (Stream.from_stream_arn ...) is a jsii proxy of an
        # interface, whose class name says nothing; its path does.
        kind = type(value).__name__
        return f"the {'construct' if kind == 'InterfaceDynamicProxy' else kind} at {path}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # The fields given, not every default (AlarmThresholds has nine).
        given = [
            f"{field.name}={described(getattr(value, field.name))}"
            for field in dataclasses.fields(value)
            if field.init and not _is_default(field, getattr(value, field.name))
        ]
        return f"{type(value).__name__}({', '.join(given)})"
    text = repr(value)
    if text.startswith("<") and " object at 0x" in text:
        # A default repr says nothing but the type; the address only adds noise.
        return f"a {type(value).__name__}"
    return text if len(text) <= 200 else text[:197] + "..."


def _is_default(field: dataclasses.Field[Any], value: Any) -> bool:
    if field.default is not dataclasses.MISSING:
        return bool(value == field.default)
    if field.default_factory is not dataclasses.MISSING:
        return bool(value == field.default_factory())
    return False


def fail_with(scope: Construct, prop: str, allowed: str, got: str) -> StreamsValidationError:
    """The one message shape: ``<construct path>: <prop> must be <allowed>, got <got>``."""
    return StreamsValidationError(f"{scope.node.path}: {prop} must be {allowed}, got {got}")


def check_unset(scope: Construct, props: Mapping[str, Any], when: str, hint: str = "") -> None:
    """Refuse the ``props`` given (not None) where they would be silently ignored.

    :param when: the condition that makes them meaningless, e.g. "without vpc".
    :param hint: appended to the message, e.g. what to pass instead.
    """
    given = {name: value for name, value in props.items() if value is not None}
    if given:
        got = ", ".join(f"{name}={described(value)}" for name, value in given.items())
        raise StreamsValidationError(
            f"{scope.node.path}: {', '.join(given)} must be left unset {when}, got {got}{hint}"
        )


def check_int_range(
    scope: Construct, prop: str, value: Any, bounds: tuple[int, int], unit: str = ""
) -> None:
    """Check that ``value`` is an int within ``bounds`` (inclusive); None passes."""
    if value is None or _is_token(value):
        return
    low, high = bounds
    suffix = f" {unit}" if unit else ""
    allowed = f"{low}..{high}{suffix}"
    # bool is an int in Python, but True as a batch size is a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail_with(scope, prop, f"a whole number {allowed}", f"{value!r}")
    if not low <= value <= high:
        raise fail_with(scope, prop, allowed, f"{value}{suffix}")


def check_retry_attempts(scope: Construct, value: Any) -> None:
    """-1 means retry until the record expires; otherwise 0..10000."""
    check_int_range(scope, "retry_attempts", value, RETRY_ATTEMPTS)


def duration_seconds(scope: Construct, prop: str, value: Any) -> int | None:
    """Whole seconds of a Duration; a clear error instead of jsii's for anything else."""
    if value is None:
        return None
    if not isinstance(value, Duration):
        raise fail_with(scope, prop, "an aws_cdk.Duration", f"{value!r}")
    if value.is_unresolved():
        # A token's amount cannot be converted: aws-cdk-lib reads it in seconds only.
        unit = value.unit_label()
        if unit != "seconds":
            raise fail_with(
                scope,
                prop,
                "Duration.seconds(...) when the amount is a CDK token (a token cannot "
                "be converted from other units)",
                f"Duration.{unit}(<token>)",
            )
        return None
    millis = value.to_milliseconds()
    if millis % 1000:
        raise fail_with(scope, prop, "a whole number of seconds", f"{millis / 1000:g} seconds")
    return int(millis // 1000)


def check_duration_range(
    scope: Construct, prop: str, value: Any, bounds: tuple[int, int], why: str = ""
) -> None:
    """Check a Duration against whole-second ``bounds`` (inclusive); None passes.

    :param why: the reason for the bounds, shown after them. @default - none.
    """
    seconds = duration_seconds(scope, prop, value)
    if seconds is None:
        return
    low, high = bounds
    if not low <= seconds <= high:
        reason = f" ({why})" if why else ""
        raise fail_with(scope, prop, f"{low}..{high} seconds{reason}", f"{seconds} seconds")


def check_max_record_age(scope: Construct, value: Any) -> None:
    """60 s..7 days. (The service's -1, "no limit", is expressed by passing None.)"""
    check_duration_range(scope, "max_record_age", value, MAX_RECORD_AGE_SECONDS)


def check_filters(scope: Construct, filters: Any, source: Source = "dynamodb") -> None:
    """At most :data:`MAX_FILTERS` filters, each ``{"pattern": "<JSON object>"}`` that Lambda
    accepts (:mod:`cdk_streams.streams.filter_grammar`) and that can match a record of
    ``source`` (:mod:`cdk_streams.streams.filter_fields`).

    Accepts what ``aws_lambda.FilterCriteria.filter(...)`` returns, or the same dicts written
    by hand. A pattern that is still a CDK token is left to the service.
    """
    if filters is None:
        return
    if isinstance(filters, (str, bytes, Mapping)) or not isinstance(filters, Sequence):
        raise fail_with(scope, "filters", "a list of filter dicts", f"{type(filters).__name__}")
    if len(filters) > MAX_FILTERS:
        raise fail_with(
            scope,
            "filters",
            f"at most {MAX_FILTERS} patterns (Lambda's default quota)",
            f"{len(filters)}",
        )
    for index, entry in enumerate(filters):
        prop = f"filters[{index}]"
        if not isinstance(entry, Mapping) or set(entry) != {"pattern"}:
            raise fail_with(
                scope,
                prop,
                'a dict with one key, "pattern" (use FilterCriteria.filter)',
                repr(entry),
            )
        pattern = entry["pattern"]
        if _is_token(pattern):
            continue
        if not isinstance(pattern, str):
            raise fail_with(scope, f"{prop}.pattern", "a JSON string", repr(pattern))
        try:
            check_fields(compile_pattern(pattern), source)
        except FilterPatternError as error:
            raise fail_with(scope, f"{prop}.{error.where}", error.allowed, error.got) from None


def _is_token(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    # jsii cannot encode inf or nan: asking it kills its Node process, and every
    # later call in the app fails. Neither can be a token anyway.
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return Token.is_unresolved(value)
