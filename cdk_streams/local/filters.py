"""Lambda event-filter patterns, matched the way an event-source mapping matches them.

A mapping's ``FilterCriteria`` holds up to 5 filters; each ``Pattern`` is a JSON
string. A record is delivered when *any* filter matches it; records no filter
matches are dropped (and checkpointed), never delivered. The pattern language
is the one Lambda documents under "Filter rule syntax":

* an object key matches the record's key of the same name; nested objects go
  deeper (``{"dynamodb": {"NewImage": {"status": {"S": ["SHIPPED"]}}}}``);
  every key of a pattern object must match (AND);
* a leaf is a list of matchers, any of which may match (OR):
  a literal (exact string, number or boolean; ``""`` matches an empty string),
  ``null`` (the key is present and null), ``{"prefix": "x"}``,
  ``{"suffix": "x"}``, ``{"equals-ignore-case": "x"}``,
  ``{"numeric": [">", 0, "<=", 5]}`` (or ``["=", 5]``), ``{"exists": true|false}``,
  ``{"anything-but": ...}`` (a value, a list of values, or ``{"prefix": ...}``,
  ``{"suffix": ...}``, ``{"equals-ignore-case": ...}``);
* ``{"$or": [pattern, pattern, ...]}`` inside an object matches when any of its
  sub-patterns matches;
* when the record's value is a list, a matcher matches if any element does.

Numbers: ``numeric`` compares JSON numbers only. DynamoDB's ``N`` values travel
as *strings* in a stream record (``{"N": "42"}``), so, as in Lambda, a numeric
matcher does not match them; match them as strings, or filter on numbers the
record itself carries (``dynamodb.SizeBytes``, ``ApproximateCreationDateTime``).

:func:`compile_pattern` validates a pattern once and raises
:class:`FilterPatternError` with the reason; :class:`RecordFilter` applies a
mapping's whole ``FilterCriteria``.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Lambda's limit on one pattern's JSON text.
MAX_PATTERN_LENGTH = 4096

_MISSING = object()
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

#: A compiled leaf matcher: given the record's value (or _MISSING), does it match?
Leaf = Callable[[Any], bool]


class FilterPatternError(ValueError):
    """A filter pattern Lambda would refuse, with the reason and where in the pattern."""


@dataclass(frozen=True)
class _Node:
    """A compiled pattern object: keys to sub-nodes or leaves, plus ``$or`` branches."""

    fields: tuple[tuple[str, _Node | tuple[Leaf, ...]], ...]
    any_of: tuple[tuple[_Node, ...], ...]

    def matches(self, value: Any) -> bool:
        for key, sub in self.fields:
            field = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
            if isinstance(sub, _Node):
                if not _node_matches(sub, field):
                    return False
            elif not _leaves_match(sub, field):
                return False
        return all(any(branch.matches(value) for branch in group) for group in self.any_of)


def _node_matches(node: _Node, value: Any) -> bool:
    if value is _MISSING:
        # A missing object can still satisfy a pattern made only of
        # {"exists": false} leaves, so match against an empty object.
        return node.matches({})
    if isinstance(value, list):
        return any(node.matches(element) for element in value)
    return node.matches(value)


def _leaves_match(leaves: tuple[Leaf, ...], value: Any) -> bool:
    return any(leaf(value) for leaf in leaves)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _elements(value: Any) -> list[Any]:
    """The values a leaf is tried against: a list's elements, or the value itself."""
    if value is _MISSING:
        return []
    return list(value) if isinstance(value, list) else [value]


def _equals(expected: Any) -> Leaf:
    def leaf(value: Any) -> bool:
        for element in _elements(value):
            if expected is None:
                if element is None:
                    return True
            elif isinstance(expected, bool) or isinstance(element, bool):
                if element is expected:
                    return True
            elif _is_number(expected) and _is_number(element):
                if math.isclose(float(expected), float(element), rel_tol=0, abs_tol=1e-9):
                    return True
            elif type(expected) is type(element) and element == expected:
                return True
        return False

    return leaf


def _string_test(where: str, name: str, argument: Any) -> Callable[[Any], bool]:
    if not isinstance(argument, str):
        raise FilterPatternError(f"{where}: {name} takes a string, got {json.dumps(argument)}")
    if name == "prefix":
        return lambda element: isinstance(element, str) and element.startswith(argument)
    if name == "suffix":
        return lambda element: isinstance(element, str) and element.endswith(argument)
    folded = argument.casefold()
    return lambda element: isinstance(element, str) and element.casefold() == folded


def _numeric(where: str, argument: Any) -> Leaf:
    if not isinstance(argument, list) or not argument or len(argument) % 2:
        raise FilterPatternError(
            f'{where}: numeric takes [operator, number, ...] pairs such as [">", 0, "<=", 5], '
            f"got {json.dumps(argument)}"
        )
    tests: list[tuple[Callable[[float, float], bool], float]] = []
    for index in range(0, len(argument), 2):
        op, number = argument[index], argument[index + 1]
        if op not in _COMPARE:
            raise FilterPatternError(
                f"{where}: numeric operator must be one of {', '.join(_COMPARE)}, "
                f"got {json.dumps(op)}"
            )
        if not _is_number(number):
            raise FilterPatternError(
                f"{where}: numeric {op} needs a number, got {json.dumps(number)}"
            )
        tests.append((_COMPARE[op], float(number)))

    def leaf(value: Any) -> bool:
        return any(
            _is_number(element) and all(test(float(element), bound) for test, bound in tests)
            for element in _elements(value)
        )

    return leaf


def _anything_but(where: str, argument: Any) -> Leaf:
    if isinstance(argument, Mapping):
        if len(argument) != 1:
            raise FilterPatternError(
                f"{where}: anything-but takes one of prefix, suffix or equals-ignore-case, "
                f"got {json.dumps(argument)}"
            )
        ((name, inner),) = argument.items()
        if name not in ("prefix", "suffix", "equals-ignore-case"):
            raise FilterPatternError(
                f"{where}: anything-but takes prefix, suffix or equals-ignore-case, "
                f"got {json.dumps(name)}"
            )
        inner_values = inner if isinstance(inner, list) else [inner]
        tests = [_string_test(where, name, v) for v in inner_values]

        def excluded(element: Any) -> bool:
            return any(test(element) for test in tests)

    else:
        values = argument if isinstance(argument, list) else [argument]
        for value in values:
            if not (isinstance(value, str) or _is_number(value)):
                raise FilterPatternError(
                    f"{where}: anything-but takes strings or numbers, got {json.dumps(value)}"
                )
        equal = [_equals(value) for value in values]

        def excluded(element: Any) -> bool:
            return any(test(element) for test in equal)

    def leaf(value: Any) -> bool:
        # Like Lambda: a missing field does not match anything-but.
        return any(not excluded(element) for element in _elements(value))

    return leaf


def _compile_matcher(where: str, matcher: Any) -> Leaf:
    if matcher is None or isinstance(matcher, str | bool) or _is_number(matcher):
        return _equals(matcher)
    if not isinstance(matcher, Mapping) or len(matcher) != 1:
        raise FilterPatternError(
            f"{where}: each matcher must be a value or an object with one operator, "
            f"got {json.dumps(matcher)}"
        )
    ((name, argument),) = matcher.items()
    if name in ("prefix", "suffix", "equals-ignore-case"):
        test = _string_test(where, name, argument)
        return lambda value: any(test(element) for element in _elements(value))
    if name == "numeric":
        return _numeric(where, argument)
    if name == "exists":
        if not isinstance(argument, bool):
            raise FilterPatternError(
                f"{where}: exists takes true or false, got {json.dumps(argument)}"
            )
        # As in Lambda, exists looks at leaves only: an object value (such as a
        # DynamoDB attribute's {"S": ...}) counts as absent.
        return lambda value: (value is not _MISSING and not isinstance(value, Mapping)) is argument
    if name == "anything-but":
        return _anything_but(where, argument)
    raise FilterPatternError(
        f"{where}: unknown operator {json.dumps(name)}; Lambda supports prefix, suffix, "
        "equals-ignore-case, numeric, exists and anything-but"
    )


def _compile_node(where: str, pattern: Any) -> _Node:
    if not isinstance(pattern, Mapping):
        raise FilterPatternError(f"{where}: must be a JSON object, got {json.dumps(pattern)}")
    fields: list[tuple[str, _Node | tuple[Leaf, ...]]] = []
    any_of: list[tuple[_Node, ...]] = []
    for key, value in pattern.items():
        path = f"{where}.{key}"
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise FilterPatternError(
                    f"{path}: $or takes a list of at least two patterns, got {json.dumps(value)}"
                )
            any_of.append(
                tuple(_compile_node(f"{path}[{i}]", branch) for i, branch in enumerate(value))
            )
        elif isinstance(value, Mapping):
            fields.append((key, _compile_node(path, value)))
        elif isinstance(value, list):
            if not value:
                raise FilterPatternError(f"{path}: a matcher list must not be empty")
            fields.append(
                (key, tuple(_compile_matcher(f"{path}[{i}]", m) for i, m in enumerate(value)))
            )
        else:
            raise FilterPatternError(
                f"{path}: must be an object or a list of matchers, got {json.dumps(value)}; "
                f"write [{json.dumps(value)}] for an exact match"
            )
    return _Node(tuple(fields), tuple(any_of))


@dataclass(frozen=True)
class CompiledPattern:
    """One validated filter pattern; call :meth:`matches` on a Lambda-shaped record."""

    source: str
    _root: _Node

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` (as the function would receive it) matches this pattern."""
        return self._root.matches(record)


def compile_pattern(pattern: str | Mapping[str, Any]) -> CompiledPattern:
    """Validate and compile one pattern (the JSON text, or an already parsed dict).

    Raises :class:`FilterPatternError` naming the offending part of the pattern.
    """
    if isinstance(pattern, str):
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise FilterPatternError(
                f"pattern: at most {MAX_PATTERN_LENGTH} characters, got {len(pattern)}"
            )
        try:
            parsed = json.loads(pattern)
        except json.JSONDecodeError as error:
            raise FilterPatternError(f"pattern: not valid JSON ({error})") from error
        source = pattern
    else:
        parsed, source = pattern, json.dumps(pattern)
    return CompiledPattern(source, _compile_node("pattern", parsed))


class RecordFilter:
    """A mapping's ``FilterCriteria``: a record passes when any pattern matches.

    :param patterns: the ``Pattern`` strings (or parsed dicts). @default - none:
        every record passes, as with a mapping that has no filter criteria.
    """

    def __init__(self, patterns: Iterable[str | Mapping[str, Any]] = ()) -> None:
        self.patterns: tuple[CompiledPattern, ...] = tuple(compile_pattern(p) for p in patterns)

    @classmethod
    def from_filter_criteria(cls, criteria: Mapping[str, Any] | None) -> RecordFilter:
        """Build from the ``FilterCriteria`` object Lambda's API returns (may be None)."""
        filters: Sequence[Mapping[str, Any]] = (criteria or {}).get("Filters") or []
        return cls(f["Pattern"] for f in filters if f.get("Pattern") is not None)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether Lambda would deliver ``record``: no patterns, or any pattern matches."""
        return not self.patterns or any(p.matches(record) for p in self.patterns)
