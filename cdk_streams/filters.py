"""Typed builders for Lambda event filters on DynamoDB stream records.

Conditions in one :class:`Pattern` are ANDed; the patterns passed to
:func:`filter_criteria` are ORed (Lambda delivers a record that matches any
pattern, and drops the rest)::

    from cdk_streams.filters import Pattern, event_name, filter_criteria, new_image, old_image

    filters = filter_criteria(
        Pattern(event_name("INSERT"), new_image("status").is_one_of("PLACED", "PAID")),
        Pattern(
            event_name("MODIFY"),
            new_image("status").is_none_of("CANCELLED"),
            old_image("shippedAt").not_exists(),
        ),
    )
    StreamProcessor(self, "Processor", table=table, filters=filters)

DynamoDB values are typed, so a condition names the attribute's type tag: it is
inferred from the value for ``equals``/``is_one_of`` (str -> S, bool -> BOOL,
numbers -> N) and is S by default for ``exists``/``not_exists``.

Numbers in images are the trap. A stream record carries an N value as a JSON
*string* (``{"N": "42.5"}``), and Lambda's ``numeric`` matching only matches
JSON numbers, so a numeric range on an image attribute is accepted by Lambda and
then drops every record (as recorded on AWS).
So ``equals``/``is_one_of`` match a number by its canonical string (DynamoDB
trims leading and trailing zeros: 1.50 is stored as "1.5"), and the range
methods on an image attribute raise :class:`FilterError` with this explanation.
Ranges work on the record's own numeric fields, such as :func:`size_bytes`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from stream_runtime.attributes import KNOWN_TAGS

from .streams.filter_fields import Source, check_fields
from .streams.filter_grammar import MAX_FILTERS, FilterPatternError, compile_pattern
from .validation import StreamsValidationError

Number = int | float | Decimal


class FilterError(StreamsValidationError):
    """A filter that Lambda would reject, or that would not mean what it says."""


@dataclass(frozen=True)
class Condition:
    """One leaf of a pattern: a path into the record and its list of match rules."""

    path: tuple[str, ...]
    rules: tuple[Any, ...]


def event_name(*names: str) -> Condition:
    """Match records whose eventName is one of ``names`` (INSERT, MODIFY, REMOVE)."""
    bad = [n for n in names if n not in ("INSERT", "MODIFY", "REMOVE")]
    if not names or bad:
        raise FilterError(
            f"event_name must be one or more of INSERT, MODIFY, REMOVE, got {list(names)!r}"
        )
    return Condition(("eventName",), tuple(names))


class Attribute:
    """An attribute of the new image, the old image or the keys; build conditions on it."""

    def __init__(self, image: str, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise FilterError(f"attribute name must be a non-empty string, got {name!r}")
        self._image = image
        self._name = name

    def _on(self, tag: str, *rules: Any) -> Condition:
        if not isinstance(tag, str) or tag not in KNOWN_TAGS:
            known = ", ".join(sorted(KNOWN_TAGS))
            raise FilterError(f"type must be one of {known}, got {tag!r}")
        return Condition(("dynamodb", self._image, self._name, tag), rules)

    def equals(self, value: str | Number | bool) -> Condition:
        """Equal to ``value``: a string (S), a number (N, compared numerically) or a bool."""
        return self.is_one_of(value)

    def is_one_of(self, *values: str | Number | bool) -> Condition:
        """Equal to any of ``values``, which must share one DynamoDB type."""
        if not values:
            raise FilterError(f"{self._name}: is_one_of needs at least one value, got none")
        tags = {_tag_of(v) for v in values}
        if len(tags) != 1:
            raise FilterError(
                f"{self._name}: is_one_of values must share one type, got {sorted(tags)}"
            )
        (tag,) = tags
        if tag == "N":
            return self._on("N", *(_canonical_number(v) for v in values))
        return self._on(tag, *values)

    def begins_with(self, prefix: str) -> Condition:
        """A string (S) that starts with ``prefix``."""
        if not isinstance(prefix, str) or not prefix:
            raise FilterError(f"{self._name}: begins_with needs a non-empty string, got {prefix!r}")
        return self._on("S", {"prefix": prefix})

    def ends_with(self, suffix: str) -> Condition:
        """A string (S) that ends with ``suffix``."""
        if not isinstance(suffix, str) or not suffix:
            raise FilterError(f"{self._name}: ends_with needs a non-empty string, got {suffix!r}")
        return self._on("S", {"suffix": suffix})

    def equals_ignore_case(self, value: str) -> Condition:
        """A string (S) equal to ``value`` when case is ignored."""
        if not isinstance(value, str):
            raise FilterError(f"{self._name}: equals_ignore_case needs a string, got {value!r}")
        return self._on("S", {"equals-ignore-case": value})

    def is_none_of(self, *values: str | Number) -> Condition:
        """Present, and equal to none of ``values`` (strings, or numbers as N).

        An item without the attribute does not match: Lambda's ``anything-but`` needs the
        value to be there. Combine with :meth:`not_exists` in a second pattern to keep those.
        """
        if not values:
            raise FilterError(f"{self._name}: is_none_of needs at least one value, got none")
        tags = {_tag_of(v) for v in values}
        if len(tags) != 1 or tags == {"BOOL"}:
            raise FilterError(
                f"{self._name}: is_none_of values must be all strings or all numbers, "
                f"got {sorted(tags)}"
            )
        (tag,) = tags
        listed = [_canonical_number(v) for v in values] if tag == "N" else list(values)
        return self._on(tag, {"anything-but": listed})

    def between(self, low: Number, high: Number) -> Condition:
        """Not possible on an image attribute: raises :class:`FilterError` (see the module doc)."""
        raise self._no_ranges("between")

    def greater_than(self, value: Number) -> Condition:
        """Not possible on an image attribute: raises :class:`FilterError`."""
        raise self._no_ranges("greater_than")

    def at_least(self, value: Number) -> Condition:
        """Not possible on an image attribute: raises :class:`FilterError`."""
        raise self._no_ranges("at_least")

    def less_than(self, value: Number) -> Condition:
        """Not possible on an image attribute: raises :class:`FilterError`."""
        raise self._no_ranges("less_than")

    def at_most(self, value: Number) -> Condition:
        """Not possible on an image attribute: raises :class:`FilterError`."""
        raise self._no_ranges("at_most")

    def _no_ranges(self, method: str) -> FilterError:
        return FilterError(
            f"{self._name}: {method}() cannot filter an image attribute: stream records carry "
            "N values as strings and Lambda's numeric matching only matches JSON numbers, so "
            "the filter would drop every record. Use is_one_of() with exact values, or check "
            "the range in the handler"
        )

    def exists(self, type: str = "S") -> Condition:
        """The attribute is present with DynamoDB type ``type`` (default S).

        Lambda's ``exists`` applies at the type level of the record, so the
        type must be named.
        """
        return self._on(type, {"exists": True})

    def not_exists(self, type: str = "S") -> Condition:
        """The attribute is absent (as type ``type``, default S)."""
        return self._on(type, {"exists": False})


class NumberField:
    """A field of the record that is a JSON number, so numeric ranges work on it."""

    def __init__(self, path: tuple[str, ...]) -> None:
        self._path = path

    def _range(self, *rule: Any) -> Condition:
        return Condition(self._path, ({"numeric": list(rule)},))

    def between(self, low: Number, high: Number) -> Condition:
        """``low <= value <= high``."""
        low, high = _number(low), _number(high)
        if low > high:
            raise FilterError(f"{self._path[-1]}: between needs low <= high, got {low} and {high}")
        return self._range(">=", low, "<=", high)

    def greater_than(self, value: Number) -> Condition:
        """Above ``value``."""
        return self._range(">", _number(value))

    def at_least(self, value: Number) -> Condition:
        """At least ``value``."""
        return self._range(">=", _number(value))

    def less_than(self, value: Number) -> Condition:
        """Below ``value``."""
        return self._range("<", _number(value))

    def at_most(self, value: Number) -> Condition:
        """At most ``value``."""
        return self._range("<=", _number(value))


def size_bytes() -> NumberField:
    """The change's size in bytes (``dynamodb.SizeBytes``), a JSON number."""
    return NumberField(("dynamodb", "SizeBytes"))


def new_image(name: str) -> Attribute:
    """An attribute of the item after the change (needs NEW_IMAGE or NEW_AND_OLD_IMAGES)."""
    return Attribute("NewImage", name)


def old_image(name: str) -> Attribute:
    """An attribute of the item before the change (needs OLD_IMAGE or NEW_AND_OLD_IMAGES)."""
    return Attribute("OldImage", name)


def key(name: str) -> Attribute:
    """A key attribute; present with every view type."""
    return Attribute("Keys", name)


class Pattern:
    """Conditions that must all hold (AND). Two conditions on the same path are
    refused, because Lambda would OR their rules: use ``is_one_of`` or ``between``."""

    def __init__(self, *conditions: Condition) -> None:
        if not conditions:
            raise FilterError("Pattern needs at least one condition, got none")
        tree: dict[str, Any] = {}
        for condition in conditions:
            if not isinstance(condition, Condition):
                raise FilterError(f"Pattern takes conditions, got {condition!r}")
            node = tree
            for part in condition.path[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise FilterError(_clash(condition.path))
                node = child
            if condition.path[-1] in node:
                raise FilterError(_clash(condition.path))
            node[condition.path[-1]] = list(condition.rules)
        self.pattern = tree

    def to_json(self, under: str | None = None) -> str:
        """The pattern as Lambda stores it: compact JSON, optionally nested under one key."""
        pattern = self.pattern if under is None else {under: self.pattern}
        return json.dumps(pattern, separators=(",", ":"), sort_keys=True)


def filter_criteria(*patterns: Pattern, source: Source = "dynamodb") -> list[dict[str, str]]:
    """Patterns ORed together, in the shape ``StreamProcessor(filters=...)`` takes
    (and ``aws_lambda.EventSourceMapping`` too). At most 5, each at most 4096 characters.

    :param source: ``"dynamodb"`` for a processor on the table's stream;
        ``"kinesis"`` for one on a Kinesis data stream the table streams to,
        where the change is JSON under the record's ``data``. @default "dynamodb".
    """
    if source not in ("dynamodb", "kinesis"):
        raise FilterError(f"source must be 'dynamodb' or 'kinesis', got {source!r}")
    if not patterns or len(patterns) > MAX_FILTERS:
        raise FilterError(f"filter_criteria takes 1..{MAX_FILTERS} patterns, got {len(patterns)}")
    out = []
    for index, pattern in enumerate(patterns):
        text = pattern.to_json() if source == "dynamodb" else pattern.to_json(under="data")
        try:
            # The grammar holds Lambda's limits, the pattern length included; apart from
            # a pattern too long, the builder writes only what it accepts, and this keeps it so.
            check_fields(compile_pattern(text), source)
        except FilterPatternError as error:
            # A limit on the whole pattern (its length) is placed at the root: say which one.
            place = (
                f"pattern {index}"
                if error.where == "pattern"
                else f"pattern {index}: {error.where}"
            )
            raise FilterError(f"{place} must be {error.allowed}, got {error.got}") from None
        out.append({"pattern": text})
    return out


def _clash(path: Iterable[str]) -> str:
    return (
        f"two conditions on {'.'.join(path)} in one Pattern would be ORed by Lambda; "
        "use is_one_of() or between(), or put them in separate Patterns"
    )


def _tag_of(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, str):
        return "S"
    if isinstance(value, (int, float, Decimal)):
        return "N"
    raise FilterError(f"filter values must be str, a number or bool, got {value!r}")


def _canonical_number(value: Any) -> str:
    """The string DynamoDB stores for ``value``: no leading or trailing zeros, no exponent."""
    _number(value)  # type and finiteness checks
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    text = format(exact.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise FilterError(f"numeric conditions need a number, got {value!r}")
    if not math.isfinite(value):
        raise FilterError(f"numeric conditions need a finite number, got {value!r}")
    # Lambda's numeric matching works on double-precision numbers.
    return int(value) if isinstance(value, int) or value == int(value) else float(value)
