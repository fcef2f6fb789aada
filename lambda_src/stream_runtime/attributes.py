"""Decode DynamoDB attribute values (the JSON in stream images) into Python values.

=========  ==========================================================================
Tag        Python value
=========  ==========================================================================
``S``      ``str``
``N``      ``int`` when the literal is an integer literal (optional ``-``, digits only:
           no point, no exponent), otherwise ``decimal.Decimal`` built from the exact
           literal, never rounded (``"1E+2"`` -> ``Decimal("1E+2")``, ``"-0"`` -> ``0``)
``B``      ``bytes`` (Lambda hands binary values over as base64 strings)
``BOOL``   ``bool``
``NULL``   ``None``
``SS``     ``set[str]``
``NS``     ``set[int | Decimal]``
``BS``     ``set[bytes]``
``L``      ``list``
``M``      ``dict``
=========  ==========================================================================

Every value is equal (``==``) to what boto3's ``TypeDeserializer`` returns for it;
only the type of integral numbers differs (``int`` instead of ``Decimal``), which is
what handlers want for counters and quantities.

:class:`Image` decodes one attribute the first time it is read and caches it, so a
handler that reads three attributes of a fifty-attribute item pays for three.
"""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Mapping
from decimal import Decimal

# `typing` costs ~3.5 ms of cold start and is only needed by type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import ItemsView, Iterator, KeysView, ValuesView
    from typing import Any

#: The DynamoDB type tags this module understands.
KNOWN_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"})

# What the fast decoder can raise on bad input; decode_attribute turns each into
# an AttributeDecodeError that names the attribute. ValueError covers a value
# that is not a one-tag dict, a bad base64 string (binascii.Error) and an
# unknown tag; ArithmeticError covers decimal's InvalidOperation.
_DECODE_FAILURES = (ValueError, TypeError, AttributeError, ArithmeticError)


class AttributeDecodeError(ValueError):
    """An attribute value in a stream image could not be decoded.

    Raised when the attribute is read, not when the record arrives, so a route
    that never reads the bad attribute is unaffected. Raised inside a route, it
    fails the record like any other exception.

    :ivar attribute: the attribute's path, e.g. ``lines[2].sku``.
    """

    def __init__(self, attribute: str, problem: str) -> None:
        self.attribute = attribute
        super().__init__(f"attribute {attribute!r}: {problem}")


class UnknownAttributeTypeError(AttributeDecodeError):
    """An attribute value carries a type tag that DynamoDB does not define.

    :ivar attribute: the attribute's path, e.g. ``lines[2].sku``.
    :ivar tag: the unknown tag.
    """

    def __init__(self, attribute: str, tag: str) -> None:
        self.tag = tag
        known = ", ".join(sorted(KNOWN_TAGS))
        super().__init__(attribute, f"unknown DynamoDB type tag {tag!r} (known: {known})")


# Decoded numbers by literal. Ints and Decimals are immutable, so sharing one
# instance is safe, and items repeat numbers a lot (quantities, prices,
# versions, flags): a dict hit costs a third of parsing a Decimal. Cleared
# when full, which bounds memory without the bookkeeping of an LRU.
_NUMBERS: dict[str, int | Decimal] = {}
_NUMBERS_MAX = 4096


def _number(literal: str) -> int | Decimal:
    number = _NUMBERS.get(literal)
    return _parse_number(literal) if number is None else number


def _parse_number(literal: str) -> int | Decimal:
    """Parse and cache a literal known not to be cached (the hot loops look first)."""
    # isdecimal() is a C-level scan, far cheaper than letting int() fail on
    # "12.5" and catching the ValueError. Everything int() accepts here is an
    # integer literal, so int is exact.
    number: int | Decimal
    if literal.isdecimal() or (literal[:1] == "-" and literal[1:].isdecimal()):
        number = int(literal)
    else:
        # Decimal(str) is exact whatever the context's precision: no rounding,
        # so 38 significant digits (DynamoDB's maximum) come through unchanged.
        number = Decimal(literal)
        if not number.is_finite():
            # Decimal accepts "NaN" and "Infinity"; DynamoDB numbers never are.
            raise ValueError(f"not a finite number: {literal!r}")
    if len(_NUMBERS) >= _NUMBERS_MAX:
        _NUMBERS.clear()
    _NUMBERS[literal] = number
    return number


# The decoder below is the hot loop of a full decode, so it is written for
# CPython's speed rather than brevity: every common tag is recognised inline
# with ``in`` tests, ordered by how often the tag occurs, and no value costs a
# call except numbers not seen before and the rare tags (NULL, sets but SS,
# binaries). ``tag in value`` is a bytecode, about a third of the cost of a
# ``value.get(tag)`` method call. It trusts Lambda's DynamoDB JSON to have one
# tag per value; any error it hits is re-diagnosed by the strict path below,
# which names the attribute, and it still rejects an unknown tag.


def _map(raw: dict) -> dict[str, Any]:
    out = {}
    for name, value in raw.items():
        if "S" in value:
            out[name] = value["S"]
        elif "N" in value:
            inner = value["N"]
            out[name] = _NUMBERS[inner] if inner in _NUMBERS else _parse_number(inner)
        elif "M" in value:
            out[name] = _map(value["M"])
        elif "L" in value:
            out[name] = _list(value["L"])
        elif "BOOL" in value:
            out[name] = value["BOOL"]
        elif "SS" in value:
            out[name] = set(value["SS"])
        else:
            out[name] = _decode(value)
    return out


def _list(raw: list) -> list[Any]:
    out: list[Any] = []
    append = out.append
    for value in raw:
        if "M" in value:
            append(_map(value["M"]))
        elif "S" in value:
            append(value["S"])
        elif "N" in value:
            inner = value["N"]
            append(_NUMBERS[inner] if inner in _NUMBERS else _parse_number(inner))
        else:
            append(_decode(value))
    return out


def _decode(value: dict) -> Any:
    (tag,) = value  # exactly one tag, else ValueError
    inner = value[tag]
    if tag == "S":
        return inner
    if tag == "N":
        return _number(inner)
    if tag == "M":
        return _map(inner)
    if tag == "L":
        return _list(inner)
    if tag == "BOOL":
        return inner
    if tag == "NULL":
        return None
    if tag == "SS":
        return set(inner)
    if tag == "NS":
        return {_number(item) for item in inner}
    if tag == "B":
        return a2b_base64(inner, strict_mode=True)
    if tag == "BS":
        return {a2b_base64(item, strict_mode=True) for item in inner}
    raise ValueError(f"unknown type tag {tag!r}")


def _diagnose(path: str, value: Any) -> AttributeDecodeError | None:
    """The first problem inside ``value``, with its exact path; slow, errors only."""
    if not isinstance(value, dict) or len(value) != 1:
        return AttributeDecodeError(
            path, f"expected a value with exactly one type tag, got {value!r:.80}"
        )
    [(tag, inner)] = value.items()
    if tag not in KNOWN_TAGS:
        return UnknownAttributeTypeError(path, tag)
    if tag == "M" and isinstance(inner, dict):
        for name, item in inner.items():
            problem = _diagnose(f"{path}.{name}", item)
            if problem:
                return problem
        return None
    if tag == "L" and isinstance(inner, list):
        for index, item in enumerate(inner):
            problem = _diagnose(f"{path}[{index}]", item)
            if problem:
                return problem
        return None
    try:
        _decode(value)
    except _DECODE_FAILURES as exc:
        return AttributeDecodeError(path, f"invalid {tag} value {inner!r:.80}: {exc}")
    return None


def _failure(path: str, value: Any, exc: Exception) -> AttributeDecodeError:
    return _diagnose(path, value) or AttributeDecodeError(path, str(exc))


def decode_attribute(name: str, value: dict) -> Any:
    """Decode one attribute value, e.g. ``{"N": "12.50"}`` -> ``Decimal("12.50")``.

    :param name: the attribute's name, used in the error message.
    :raises UnknownAttributeTypeError: a type tag DynamoDB does not define.
    :raises AttributeDecodeError: any other malformed value (bad number, bad
        base64, not a one-tag dict).
    """
    try:
        return _decode(value)
    except _DECODE_FAILURES as exc:
        raise _failure(name, value, exc) from exc


def decode_image(image: Mapping[str, dict]) -> dict[str, Any]:
    """Decode a whole image (``NewImage``, ``OldImage`` or ``Keys``) into a dict.

    :raises AttributeDecodeError: as :func:`decode_attribute`, naming the
        first bad attribute.
    """
    try:
        return _map(image)  # type: ignore[arg-type]
    except _DECODE_FAILURES as exc:
        for name, value in image.items():
            problem = _diagnose(name, value)
            if problem:
                raise problem from exc
        raise  # pragma: no cover - _diagnose finds every failure _decode hits


# Image._values before any value is cached; never written to.
_NONE_READ: dict[str, Any] = {}


class Image(Mapping):  # Mapping[str, Any]; subscripting would need typing
    """A read-only mapping over one stream image that decodes attributes lazily.

    ``image["total"]`` decodes that attribute on first read and caches it;
    iterating values or items, ``to_dict()`` and ``==`` decode the rest once.
    ``in``, ``len()`` and iterating names never decode anything. Reading a
    malformed attribute raises :class:`AttributeDecodeError`.
    """

    __slots__ = ("_raw", "_values")

    def __init__(self, raw: Mapping[str, dict]) -> None:
        """:param raw: the image as DynamoDB JSON, e.g. ``{"id": {"S": "a"}}``."""
        self._raw = raw
        # Decoded values of the attributes read so far (strings excepted), then
        # of all of them; a shared empty dict until the first one, which saves
        # building a dict for an image whose strings alone are read.
        self._values: dict[str, Any] = _NONE_READ

    @property
    def raw(self) -> Mapping[str, dict]:
        """The image as DynamoDB JSON, untouched."""
        return self._raw

    def __getitem__(self, name: str) -> Any:
        values = self._values
        if name in values:
            return values[name]
        raw = self._raw[name]
        # decode_attribute, inlined with the S and N cases of _decode: this is
        # the hot path of a typical handler, and a call costs more than the
        # decoding of a string. It trusts one tag per value, as _map does.
        try:
            if "S" in raw:
                # A str is its own decoded value: returned without caching, as
                # caching it would cost more than reading it again.
                return raw["S"]
            if "N" in raw:
                value = raw["N"]
                value = _NUMBERS[value] if value in _NUMBERS else _parse_number(value)
            else:
                value = _decode(raw)
        except _DECODE_FAILURES as exc:
            raise _failure(name, raw, exc) from exc
        if values is _NONE_READ:
            values = self._values = {}
        values[name] = value
        return value

    def get(self, name: str, default: Any = None) -> Any:
        """The attribute's value, or ``default`` when the item does not have it."""
        if name in self._raw:
            return self[name]
        return default

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def _decoded(self) -> dict[str, Any]:
        values = self._values
        if values is _NONE_READ:
            # Nothing read one by one: the whole decode is the result as it
            # stands (the common case of a route that walks the image; ~3 %
            # of a full decode saved over merging into the cache).
            values = self._values = decode_image(self._raw)
        # Complete when every attribute is cached: values' names are a subset of raw's.
        elif len(values) != len(self._raw):
            decoded = decode_image(self._raw)
            # Values read one by one keep their identity: a list a route read
            # and changed is the list the whole image holds.
            decoded.update(values)
            self._values = values = decoded
        return values

    def keys(self) -> KeysView[str]:
        """The attribute names, without decoding anything."""
        return self._raw.keys()

    def values(self) -> ValuesView[Any]:
        """Every decoded value (decodes the rest of the image once)."""
        return self._decoded().values()

    def items(self) -> ItemsView[str, Any]:
        """Every (name, decoded value) pair (decodes the rest of the image once)."""
        return self._decoded().items()

    def to_dict(self) -> dict[str, Any]:
        """A new plain dict of the whole decoded image."""
        return dict(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Image):
            return self._decoded() == other._decoded()
        if isinstance(other, Mapping):
            return self._decoded() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable contents, like dict

    def __repr__(self) -> str:
        try:
            return f"Image({self._decoded()!r})"
        except AttributeDecodeError:
            return f"Image(raw={self._raw!r})"


__all__ = [
    "KNOWN_TAGS",
    "AttributeDecodeError",
    "Image",
    "UnknownAttributeTypeError",
    "decode_attribute",
    "decode_image",
]
