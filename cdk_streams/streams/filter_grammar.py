"""Lambda's event-filter grammar: the one parser, validator and matcher for filter patterns.

A mapping's ``FilterCriteria`` holds up to :data:`MAX_FILTERS` filters; each ``Pattern`` is
a JSON object of at most :data:`MAX_PATTERN_CHARS` characters. Lambda delivers a record when
*any* filter matches it and drops (and checkpoints past) the rest. Lambda's filter rules are
EventBridge's pattern language, restricted to the operators Lambda documents:

* an object key names a field of the record; nested objects go deeper, and every key of an
  object must match (AND). Keys are joined with dots, as EventBridge does, so
  ``{"a": {"b": [...]}}`` and ``{"a.b": [...]}`` name the same field;
* a leaf is a non-empty list of rules, any of which may match (OR): a literal (string,
  number, ``true``/``false`` or ``null``), ``{"prefix": s}``, ``{"suffix": s}``,
  ``{"equals-ignore-case": s}``, ``{"numeric": [">", 0, "<=", 5]}`` (or ``["=", 5]``),
  ``{"exists": true|false}``, and ``{"anything-but": ...}`` (a string or number, a list of
  them, or ``{"prefix"|"suffix"|"equals-ignore-case": s or [s, ...]}``);
* ``{"$or": [pattern, pattern, ...]}`` inside an object matches when any branch matches.

Matching follows the EventBridge engine: rules see leaves only (an object value, such as a
DynamoDB attribute's ``{"S": ...}``, counts as absent); a list in the record offers each of
its elements, and an empty list offers none; fields matched inside one list must come from
the same element of it; ``numeric`` matches JSON numbers only, so it never matches a
DynamoDB ``N`` value, which a stream record carries as a string.

:func:`compile_pattern` validates a pattern and raises :class:`FilterPatternError`, naming
what is wrong and where, for every shape Lambda refuses with "Invalid filter pattern
definition". :class:`RecordFilter` applies a mapping's whole ``FilterCriteria``.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NoReturn

#: Lambda's limit on one pattern's JSON text (the ``Filter.Pattern`` API limit).
MAX_PATTERN_CHARS = 4096
#: Filters per mapping. Lambda's default quota; an account can have it raised to 10.
MAX_FILTERS = 5

#: The operators Lambda documents for event filtering.
OPERATORS = ("anything-but", "equals-ignore-case", "exists", "numeric", "prefix", "suffix")
#: EventBridge operators that Lambda's filter syntax does not include.
EVENTBRIDGE_ONLY_OPERATORS = ("cidr", "wildcard")

_LOWER = {">": operator.gt, ">=": operator.ge}
_UPPER = {"<": operator.lt, "<=": operator.le}
_EQUAL = {"=": operator.eq}

_MISSING = object()

#: A compiled rule: given one leaf value that is present in the record, does it match?
Test = Callable[[Any], bool]


class FilterPatternError(ValueError):
    """A filter pattern that Lambda refuses (or one a synth check refuses), with the place.

    :ivar where: the place in the pattern, such as ``pattern.dynamodb.NewImage.n.N[0]``.
    :ivar allowed: what would be accepted there.
    :ivar got: what the pattern holds there.
    """

    def __init__(self, where: str, allowed: str, got: str) -> None:
        self.where = where
        self.allowed = allowed
        self.got = got
        super().__init__(f"{where} must be {allowed}, got {got}")


def _refuse(where: str, allowed: str, value: Any) -> NoReturn:
    raise FilterPatternError(where, allowed, _show(value))


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


@dataclass(frozen=True)
class Field:
    """One leaf of a pattern: the keys that lead to it and its list of rules.

    :ivar keys: the object keys from the pattern's root (``$or`` branches left out).
    :ivar rules: the rule list as written.
    :ivar where: the place in the pattern, for messages (``pattern.$or[1].eventName``).
    :ivar tests: the compiled rules that match a present value.
    :ivar matches_absent: whether the list holds ``{"exists": false}``.
    """

    keys: tuple[str, ...]
    rules: tuple[Any, ...]
    where: str
    tests: tuple[Test, ...] = field(repr=False, compare=False)
    matches_absent: bool = field(repr=False, compare=False)

    @cached_property
    def path(self) -> str:
        """The field's dotted path, as the matching engine joins it."""
        return ".".join(self.keys)


@dataclass(frozen=True)
class _AnyOf:
    """An ``$or``: each branch is a list of terms that must all match."""

    branches: tuple[tuple[_Term, ...], ...]


_Term = Field | _AnyOf


# -- rules ------------------------------------------------------------------------------


def _equals(expected: Any) -> Test:
    if expected is None:
        return lambda value: value is None
    if isinstance(expected, bool):
        return lambda value: value is expected
    if _is_number(expected):
        number = float(expected)
        return lambda value: _is_number(value) and float(value) == number
    return lambda value: isinstance(value, str) and value == expected


def _string_argument(where: str, name: str, argument: Any) -> str:
    if not isinstance(argument, str):
        _refuse(where, f"a string for {name}", argument)
    return argument


def _string_test(name: str, argument: str) -> Test:
    if name == "prefix":
        return lambda value: isinstance(value, str) and value.startswith(argument)
    if name == "suffix":
        return lambda value: isinstance(value, str) and value.endswith(argument)
    folded = argument.lower()
    return lambda value: isinstance(value, str) and value.lower() == folded


def _numeric(where: str, argument: Any) -> Test:
    shape = 'a list such as ["=", 5], [">", 0], ["<=", 5] or [">", 0, "<=", 5]'
    if not isinstance(argument, list) or not argument:
        _refuse(where, f"numeric {shape}", argument)
    tests: list[tuple[Callable[[float, float], bool], float]] = []
    operators: list[str] = []
    for index in range(0, len(argument), 2):
        op = argument[index]
        if op not in _LOWER and op not in _UPPER and op not in _EQUAL:
            _refuse(where, 'a numeric operator, one of "=", "<", "<=", ">", ">="', op)
        if index + 1 == len(argument):
            raise FilterPatternError(where, f"a JSON number after numeric {_show(op)}", "nothing")
        if not _is_number(argument[index + 1]):
            _refuse(where, f"a JSON number after numeric {_show(op)}", argument[index + 1])
        operators.append(op)
        compare = {**_LOWER, **_UPPER, **_EQUAL}[op]
        tests.append((compare, float(argument[index + 1])))
    # One "=", or a lower bound, an upper bound, or a lower bound then an upper bound.
    well_formed = len(operators) == 1 or (
        len(operators) == 2 and operators[0] in _LOWER and operators[1] in _UPPER
    )
    if not well_formed:
        _refuse(where, f"numeric {shape} (one bound of each kind, lower first)", argument)
    if len(tests) == 2 and tests[0][1] >= tests[1][1]:
        _refuse(where, "a numeric range whose lower bound is below its upper bound", argument)

    def test(value: Any) -> bool:
        return _is_number(value) and all(compare(float(value), bound) for compare, bound in tests)

    return test


def _anything_but(where: str, argument: Any) -> Test:
    if isinstance(argument, Mapping):
        one_of = 'anything-but with one of "prefix", "suffix", "equals-ignore-case"'
        if len(argument) != 1:
            _refuse(where, one_of, argument)
        ((name, inner),) = argument.items()
        if name not in ("prefix", "suffix", "equals-ignore-case"):
            _refuse(where, one_of, name)
        values = inner if isinstance(inner, list) else [inner]
        if not values:
            _refuse(where, f"a non-empty list of strings for anything-but {name}", inner)
        for value in values:
            if not isinstance(value, str):
                _refuse(where, f"strings for anything-but {name}", inner)
            if name != "equals-ignore-case" and not value:
                _refuse(where, f"a non-empty string for anything-but {name}", inner)
        excluded = [_string_test(name, value) for value in values]
    else:
        values = argument if isinstance(argument, list) else [argument]
        if not values:
            _refuse(where, "a non-empty list for anything-but", argument)
        for value in values:
            if not (isinstance(value, str) or _is_number(value)):
                _refuse(where, "strings or numbers for anything-but", argument)
        excluded = [_equals(value) for value in values]

    # A present null or a value of another type is "anything but" the given values.
    return lambda value: not any(test(value) for test in excluded)


def _compile_rule(where: str, rule: Any) -> tuple[Test | None, bool]:
    """One rule: its test on present values, and whether it matches an absent field."""
    if rule is None or isinstance(rule, str | bool) or _is_number(rule):
        return _equals(rule), False
    if not isinstance(rule, Mapping) or len(rule) != 1:
        _refuse(where, "a string, number, true, false, null or an object with one operator", rule)
    ((name, argument),) = rule.items()
    if name in ("prefix", "suffix", "equals-ignore-case"):
        return _string_test(name, _string_argument(where, name, argument)), False
    if name == "numeric":
        return _numeric(where, argument), False
    if name == "exists":
        if not isinstance(argument, bool):
            _refuse(where, "true or false for exists", argument)
        # exists: true matches any present leaf; exists: false only an absent field.
        return ((lambda value: True), False) if argument else (None, True)
    if name == "anything-but":
        return _anything_but(where, argument), False
    if name in EVENTBRIDGE_ONLY_OPERATORS:
        _refuse(
            where,
            f"one of Lambda's filter operators ({', '.join(OPERATORS)}); {name} is an "
            "EventBridge operator that Lambda's filter syntax does not include",
            name,
        )
    _refuse(where, f"one of Lambda's filter operators ({', '.join(OPERATORS)}), spelt so", name)


def _compile_field(keys: tuple[str, ...], where: str, rules: list[Any]) -> Field:
    tests: list[Test] = []
    matches_absent = False
    for index, rule in enumerate(rules):
        test, absent = _compile_rule(f"{where}[{index}]", rule)
        if test is not None:
            tests.append(test)
        matches_absent |= absent
    return Field(keys, tuple(rules), where, tuple(tests), matches_absent)


def _compile_object(node: Any, keys: tuple[str, ...], where: str) -> tuple[_Term, ...]:
    if not isinstance(node, Mapping):
        _refuse(where, "a JSON object", node)
    if not node:
        _refuse(where, "a non-empty object", node)
    terms: list[_Term] = []
    for key, value in node.items():
        path = f"{where}.{key}"
        if key == "$or":
            if (
                not isinstance(value, list)
                or len(value) < 2
                or not all(isinstance(b, Mapping) for b in value)
            ):
                _refuse(path, "a list of at least two pattern objects", value)
            terms.append(
                _AnyOf(
                    tuple(
                        _compile_object(branch, keys, f"{path}[{index}]")
                        for index, branch in enumerate(value)
                    )
                )
            )
        elif isinstance(value, Mapping):
            terms.extend(_compile_object(value, (*keys, key), path))
        elif isinstance(value, list):
            if not value:
                _refuse(path, "a non-empty list of rules", value)
            terms.append(_compile_field((*keys, key), path, value))
        else:
            hint = f" (for an exact match write [{_show(value)}])" if value is not None else ""
            _refuse(path, f"an object or a list of rules{hint}", value)
    return tuple(_ordered(terms))


def _ordered(terms: list[_Term]) -> list[_Term]:
    # Fields that can match by being absent go last: by then the fields before them have
    # chosen which list element they matched in, and absence is judged within it.
    def rank(term: _Term) -> int:
        if isinstance(term, _AnyOf):
            return 1
        return 2 if term.matches_absent else 0

    return sorted(terms, key=rank)


# -- matching ---------------------------------------------------------------------------

#: Where a leaf sits in the record's lists: (list number, element index) per enclosing list.
_Membership = tuple[tuple[int, int], ...]


def _flatten(
    value: Any,
    path: str,
    membership: _Membership,
    children: Mapping[str, tuple[str, ...]],
    leaves: dict[str, list[tuple[Any, _Membership]]],
    lists: Iterator[int],
) -> None:
    # dict first: records are dicts, and the Mapping ABC check is slow on the hot path.
    if isinstance(value, dict) or (
        not isinstance(value, str | list | int | float) and isinstance(value, Mapping)
    ):
        # Look up only the keys the pattern can reach from here, not every key of the record.
        for key in children.get(path, ()):
            child = value.get(key, _MISSING)
            if child is not _MISSING:
                child_path = f"{path}.{key}" if path else key
                _flatten(child, child_path, membership, children, leaves, lists)
    elif isinstance(value, list):
        number = next(lists)
        for index, element in enumerate(value):
            _flatten(element, path, (*membership, (number, index)), children, leaves, lists)
    else:
        leaves[path].append((value, membership))


def _consistent(chosen: Mapping[int, int], membership: _Membership) -> bool:
    return not membership or all(chosen.get(number, index) == index for number, index in membership)


def _solve(
    terms: Sequence[_Term],
    leaves: Mapping[str, list[tuple[Any, _Membership]]],
    chosen: Mapping[int, int],
) -> bool:
    if not terms:
        return True
    term, rest = terms[0], terms[1:]
    if isinstance(term, _AnyOf):
        return any(_solve((*branch, *rest), leaves, chosen) for branch in term.branches)
    candidates = [
        (value, membership)
        for value, membership in leaves.get(term.path, ())
        if _consistent(chosen, membership)
    ]
    for value, membership in candidates:
        if any(test(value) for test in term.tests) and _solve(
            rest, leaves, {**chosen, **dict(membership)} if membership else chosen
        ):
            return True
    return term.matches_absent and not candidates and _solve(rest, leaves, chosen)


@dataclass(frozen=True)
class FilterPattern:
    """One validated filter pattern; :meth:`matches` tells whether Lambda would deliver a record.

    :ivar text: the pattern's JSON text, as Lambda stores it.
    :ivar fields: every leaf of the pattern, those inside ``$or`` branches included.
    """

    text: str
    fields: tuple[Field, ...]
    _terms: tuple[_Term, ...] = field(repr=False)
    _children: Mapping[str, tuple[str, ...]] = field(repr=False)

    def required(self, name_of: Callable[[Field], str | None]) -> frozenset[str]:
        """What every matching record must have, named by ``name_of``.

        ``name_of`` names what a field needs (say, the image it lies in), or
        returns None. The result holds the names of the fields the pattern ANDs
        in, and of those every branch of an ``$or`` needs.
        """
        return _required(self._terms, name_of)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` (the record as the function receives it) matches."""
        leaves: dict[str, list[tuple[Any, _Membership]]] = defaultdict(list)
        _flatten(record, "", (), self._children, leaves, itertools.count())
        return _solve(self._terms, leaves, {})


def _required(terms: Iterable[_Term], name_of: Callable[[Field], str | None]) -> frozenset[str]:
    needed: set[str] = set()
    for term in terms:
        if isinstance(term, _AnyOf):
            branches = [_required(branch, name_of) for branch in term.branches]
            if branches:
                needed |= frozenset.intersection(*branches)
        else:
            name = name_of(term)
            if name is not None:
                needed.add(name)
    return frozenset(needed)


def _all_fields(terms: Iterable[_Term]) -> Iterator[Field]:
    for term in terms:
        if isinstance(term, _AnyOf):
            for branch in term.branches:
                yield from _all_fields(branch)
        else:
            yield term


def _reachable_keys(fields: Iterable[Field]) -> dict[str, tuple[str, ...]]:
    """For each dotted path the matcher may stand on, the record keys it can step into.

    A record key may itself hold dots (``{"a.b": ...}`` is the field ``a.b``), so from
    ``a`` the step to ``a.b.c`` is either the key ``b`` or the key ``b.c``.
    """
    reachable: dict[str, set[str]] = defaultdict(set)
    for leaf in fields:
        parts = leaf.path.split(".")
        for start in range(len(parts)):
            parent = ".".join(parts[:start])
            for stop in range(start + 1, len(parts) + 1):
                reachable[parent].add(".".join(parts[start:stop]))
    return {parent: tuple(sorted(keys)) for parent, keys in reachable.items()}


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> Any:
    """The pattern's JSON value; :class:`FilterPatternError` for text Lambda cannot parse."""
    if len(text) > MAX_PATTERN_CHARS:
        raise FilterPatternError(
            "pattern", f"at most {MAX_PATTERN_CHARS} characters", f"{len(text)} characters"
        )
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        raise FilterPatternError("pattern", "valid JSON", f"{text!r} ({error})") from None


def compile_pattern(pattern: str | Mapping[str, Any]) -> FilterPattern:
    """Validate and compile one pattern: its JSON text, or the already parsed object.

    Raises :class:`FilterPatternError` naming what is wrong and where, for every shape
    Lambda refuses.
    """
    if isinstance(pattern, str):
        text, parsed = pattern, parse_json(pattern)
    else:
        try:
            text = json.dumps(pattern, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise FilterPatternError("pattern", "a JSON object", f"{pattern!r} ({error})") from None
        parsed = parse_json(text)
    terms = _compile_object(parsed, (), "pattern")
    fields = tuple(_all_fields(terms))
    return FilterPattern(text, fields, terms, _reachable_keys(fields))


def matches_numbers_only(rules: Iterable[Any]) -> bool:
    """Whether every rule of a list can match only a JSON number: ``numeric`` rules and
    number values. Such a list never matches a value the record carries as a string."""
    return all(
        _is_number(rule) or (isinstance(rule, Mapping) and set(rule) == {"numeric"})
        for rule in rules
    )


class RecordFilter:
    """A mapping's ``FilterCriteria``: a record passes when any pattern matches.

    :param patterns: the ``Pattern`` strings (or parsed objects). @default - none: every
        record passes, as with a mapping that has no filter criteria.
    """

    def __init__(self, patterns: Iterable[str | Mapping[str, Any]] = ()) -> None:
        self.patterns: tuple[FilterPattern, ...] = tuple(compile_pattern(p) for p in patterns)

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
