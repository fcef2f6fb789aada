"""Type checks of construct props, before jsii sees them.

jsii answers a value of the wrong type with a typeguard ``TypeError`` that names
neither the prop nor the construct, or with dozens of lines of Node
deserialization errors. These checks raise a :class:`StreamsValidationError`
instead, naming the construct path, the prop, what is allowed and the value
given: ``<construct path>: <prop> must be <allowed>, got <value>``.

jsii interfaces (``IFunction``, ``IQueue`` ...) are not runtime-checkable, so an
interface is recognised by an attribute every implementation has.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from constructs import Construct

from .closest_name import closest
from .validation import StreamsValidationError, described, fail_with

_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def fail(
    scope: Construct, prop: str, allowed: str, got: Any, *, shown: str | None = None
) -> StreamsValidationError:
    """A StreamsValidationError naming the construct path, the prop, what is allowed and the value.

    ``got`` is shown as its repr unless ``shown`` is given.
    """
    return fail_with(scope, prop, allowed, described(got) if shown is None else shown)


@functools.cache
def keyword_arguments(cls: type[Any]) -> frozenset[str]:
    """The keyword-only parameters of ``cls``'s constructor: a construct's props."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def reject_unknown(
    scope: Construct,
    given: Mapping[str, Any],
    *,
    passed_on: Mapping[str, Collection[str]] | None = None,
    elsewhere: Mapping[str, str] | None = None,
) -> None:
    """Refuse the keyword arguments in ``given`` that ``scope``'s class does not
    take, naming the closest one it does (``batchsize`` -> ``batch_size``).

    The constructs declare these as ``**unknown: Never``, so a type checker flags
    the typo too; at run time this turns Python's plain ``TypeError``, which
    names no construct, into the usual error.

    :param passed_on: the keyword arguments the construct hands on to another
        class, by that class's name (``{"aws_dynamodb.Table": ...}``): allowed,
        and named in the message. @default - none.
    :param elsewhere: keyword arguments that belong in another prop, each with
        how to write it there (``table_props={'ttl': ...}``): offered as the
        closest match, but not allowed here. @default - none.
    """
    cls = type(scope)
    owners = {cls.__name__: keyword_arguments(cls), **(passed_on or {})}
    known = frozenset().union(*owners.values())
    unknown = sorted(set(given) - known)
    if not unknown:
        return
    name = unknown[0]
    written = {**(elsewhere or {}), **{other: other for other in known}}
    close = closest(name, written)
    hint = f" (did you mean {written[close]}?)" if close else ""
    whose = [f"{owner}'s" for owner in owners]
    either = " or ".join([", ".join(whose[:-1]), whose[-1]] if len(whose) > 1 else whose)
    raise fail(
        scope,
        name,
        f"one of {either} keyword arguments{hint}",
        given[name],
        shown=f"{name}={described(given[name])}",
    )


def check_bool(scope: Construct, prop: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise fail(scope, prop, "True or False", value)


def check_instance(scope: Construct, prop: str, value: Any, cls: type, allowed: str) -> None:
    """``value`` is None or a ``cls``."""
    if value is not None and not isinstance(value, cls):
        raise fail(scope, prop, allowed, value)


def check_interface(scope: Construct, prop: str, value: Any, attribute: str, allowed: str) -> None:
    """``value`` is None or has ``attribute`` (the mark of a jsii interface)."""
    if value is not None and not _has(value, attribute):
        raise fail(scope, prop, allowed, value)


def check_sequence_of(
    scope: Construct, prop: str, value: Any, attribute: str, allowed: str, limit: int | None = None
) -> None:
    """``value`` is None or a list whose items all have ``attribute``."""
    if value is None:
        return
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise fail(scope, prop, f"a list of {allowed}", value)
    if limit is not None and len(value) > limit:
        raise fail(scope, prop, f"at most {limit} {allowed}", value, shown=f"{len(value)}")
    for index, item in enumerate(value):
        if not _has(item, attribute):
            raise fail(scope, f"{prop}[{index}]", allowed, item)


def check_string_map(scope: Construct, prop: str, value: Any) -> None:
    """``value`` is None or a mapping of str to str (Lambda environment variables)."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise fail(scope, prop, "a dict of str to str", value)
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
            raise fail(
                scope,
                f"{prop}[{key!r}]",
                "named by a letter then letters, digits or '_' (Lambda's rule for keys)",
                key,
            )
        if not isinstance(item, str):
            raise fail(
                scope,
                f"{prop}[{key!r}]",
                f"a str (write str({item!r}) if you mean the text)",
                item,
            )


def check_text(
    scope: Construct, prop: str, value: Any, max_length: int, pattern: Any = None, what: str = ""
) -> None:
    """``value`` is None or a str of 1..max_length characters matching ``pattern``."""
    if value is None:
        return
    allowed = f"{what or 'a string'} of 1..{max_length} characters"
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= max_length
        or (pattern is not None and not pattern.fullmatch(value))
    ):
        raise fail(scope, prop, allowed, value)


def _has(value: Any, attribute: str) -> bool:
    try:
        return hasattr(value, attribute) and not isinstance(value, (str, bytes, int, float))
    except Exception:  # a jsii proxy whose getter fails is not the interface either
        return False
