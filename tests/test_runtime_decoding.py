"""stream_runtime.attributes: exact decoding of DynamoDB JSON, checked against boto3."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
import runtime_path  # noqa: F401  (puts lambda_src on sys.path)
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_runtime import (
    AttributeDecodeError,
    Image,
    UnknownAttributeTypeError,
    decode_attribute,
    decode_image,
)

from tests.hypothesis_budget import examples

SERIALIZER = TypeSerializer()
DESERIALIZER = TypeDeserializer()


def lambda_json(value: object) -> dict:
    """TypeSerializer's output with B/BS base64-encoded, as Lambda delivers them."""
    return _b64(SERIALIZER.serialize(value))


def _b64(av: dict) -> dict:
    [(tag, inner)] = av.items()
    if tag == "B":
        return {"B": base64.b64encode(inner).decode()}
    if tag == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if tag == "M":
        return {"M": {k: _b64(v) for k, v in inner.items()}}
    if tag == "L":
        return {"L": [_b64(v) for v in inner]}
    return av


def _serializable(number: Decimal) -> bool:
    try:
        SERIALIZER.serialize(number)
    except Exception:
        return False
    return True


# DynamoDB numbers: up to 38 significant digits, magnitudes 1E-130 .. 9.99E+125.
decimals = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=38),
    st.integers(-130, 88),
).filter(_serializable)
integers = st.integers(-(10**38) + 1, 10**38 - 1)
numbers = integers | decimals
scalars = st.text(max_size=20) | numbers | st.binary(max_size=20) | st.booleans() | st.none()
sets = (
    st.sets(st.text(max_size=8), min_size=1, max_size=5)
    | st.sets(integers, min_size=1, max_size=5)
    | st.sets(st.binary(max_size=8), min_size=1, max_size=5)
)
values = st.recursive(
    scalars | sets,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
items = st.dictionaries(st.text(min_size=1, max_size=10), values, min_size=1, max_size=8)


@settings(max_examples=examples(300), deadline=None)
@given(values)
def test_round_trip_through_type_serializer(value):
    assert decode_attribute("a", lambda_json(value)) == value


@settings(max_examples=examples(300), deadline=None)
@given(values)
def test_equals_boto3_type_deserializer(value):
    # boto3 reads B/BS as raw bytes (its own wire format); we read Lambda's base64.
    assert decode_attribute("a", lambda_json(value)) == DESERIALIZER.deserialize(
        SERIALIZER.serialize(value)
    )


@settings(max_examples=examples(200), deadline=None)
@given(items)
def test_image_round_trip_whole_and_lazy(item):
    raw = {name: lambda_json(value) for name, value in item.items()}
    assert decode_image(raw) == item
    lazy = Image(raw)
    for name, value in item.items():
        assert lazy[name] == value
    assert lazy == item


@settings(max_examples=examples(200), deadline=None)
@given(decimals)
def test_non_integer_decimals_keep_their_exact_digits(number):
    decoded = decode_attribute("n", lambda_json(number))
    assert decoded == number
    if isinstance(decoded, Decimal):
        assert str(decoded) == str(number)  # not rounded, not renormalised


@pytest.mark.parametrize(
    ("literal", "expected", "kind"),
    [
        ("0", 0, int),
        ("-17", -17, int),
        ("12345678901234567890123456789012345678", 12345678901234567890123456789012345678, int),
        ("-0", 0, int),  # an integer literal: int, so the sign of zero is gone
        ("-0.0", Decimal("-0.0"), Decimal),
        ("12.50", Decimal("12.50"), Decimal),
        ("1E+2", Decimal("1E+2"), Decimal),  # an exponent is never an integer literal
        ("1.2345678901234567890123456789012345678", None, Decimal),
        ("9.9999999999999999999999999999999999999E+125", None, Decimal),
        ("1E-130", Decimal("1E-130"), Decimal),
    ],
)
def test_number_rule(literal, expected, kind):
    decoded = decode_attribute("n", {"N": literal})
    assert type(decoded) is kind
    assert str(decoded) == (literal if expected is None else str(expected))
    if expected is not None:
        assert decoded == expected


def test_negative_zero_decimal_keeps_its_sign():
    assert decode_attribute("n", {"N": "-0.0"}).is_signed()


def test_every_type():
    raw = {
        "s": {"S": ""},
        "n": {"N": "3"},
        "b": {"B": base64.b64encode(b"\x00\xff").decode()},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [base64.b64encode(b"x").decode()]},
        "l": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"k": {"BOOL": False}}}, {"L": []}]},
        "m": {"M": {"inner": {"M": {"deep": {"NULL": True}}}}},
    }
    assert decode_image(raw) == {
        "s": "",
        "n": 3,
        "b": b"\x00\xff",
        "t": True,
        "z": None,
        "ss": {"a", "b"},
        "ns": {1, Decimal("2.5")},
        "bs": {b"x"},
        "l": ["a", 1, {"k": False}, []],
        "m": {"inner": {"deep": None}},
    }


def test_unknown_tag_names_attribute_and_tag():
    with pytest.raises(UnknownAttributeTypeError) as caught:
        decode_attribute("total", {"Q": "1"})
    assert caught.value.attribute == "total"
    assert caught.value.tag == "Q"
    assert "attribute 'total': unknown DynamoDB type tag 'Q'" in str(caught.value)
    assert "known: B, BOOL, BS, L, M, N, NS, NULL, S, SS" in str(caught.value)


def test_unknown_tag_deep_inside_gives_its_path():
    raw = {"lines": {"L": [{"M": {"sku": {"S": "a"}}}, {"M": {"sku": {"X": "b"}}}]}}
    with pytest.raises(UnknownAttributeTypeError, match=r"'lines\[1\]\.sku'.*tag 'X'"):
        decode_image(raw)
    with pytest.raises(UnknownAttributeTypeError, match=r"'lines\[1\]\.sku'"):
        Image(raw)["lines"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"N": "abc"}, r"attribute 'x': invalid N value 'abc'"),
        ({"N": "NaN"}, r"attribute 'x': invalid N value 'NaN': not a finite number"),
        ({"N": "Infinity"}, r"not a finite number: 'Infinity'"),
        ({"B": "not base64!"}, r"attribute 'x': invalid B value 'not base64!'"),
        ({"S": "a", "N": "1"}, r"attribute 'x': expected a value with exactly one type tag"),
        ({}, r"attribute 'x': expected a value with exactly one type tag, got \{\}"),
        ("plain", r"attribute 'x': expected a value with exactly one type tag, got 'plain'"),
    ],
)
def test_malformed_values_name_the_attribute(value, message):
    with pytest.raises(AttributeDecodeError, match=message) as caught:
        decode_attribute("x", value)
    assert caught.value.attribute == "x"
    assert isinstance(caught.value, ValueError)


def test_image_decodes_lazily_and_only_once():
    raw = {"good": {"S": "ok"}, "lines": {"L": [{"N": "1"}]}, "bad": {"Q": "?"}}
    image = Image(raw)
    assert len(image) == 3
    assert "bad" in image and "missing" not in image
    assert list(image) == ["good", "lines", "bad"]
    assert image["good"] == "ok"  # the bad attribute is never decoded
    assert image["lines"] is image["lines"]  # cached: one decode, one object
    assert image.get("missing", 7) == 7
    with pytest.raises(KeyError):
        image["missing"]
    with pytest.raises(UnknownAttributeTypeError, match="'bad'"):
        image["bad"]
    with pytest.raises(UnknownAttributeTypeError, match="'bad'"):
        dict(image.items())
    assert repr(image).startswith("Image(raw=")


def test_image_mapping_api():
    image = Image({"a": {"N": "1"}, "b": {"SS": ["x"]}})
    first = image["b"]
    assert image.to_dict() == {"a": 1, "b": {"x"}}
    assert image.to_dict() is not image.to_dict()
    assert image["b"] is first  # the full decode reused the cached value
    assert sorted(image.keys()) == ["a", "b"]
    assert list(image.values()) == [1, {"x"}]  # the image's order, whatever was read first
    assert image == Image({"b": {"SS": ["x"]}, "a": {"N": "1"}})
    assert image != {"a": 2, "b": {"x"}}
    assert image != 3
    assert repr(Image({"a": {"S": "x"}})) == "Image({'a': 'x'})"
    assert image.raw == {"a": {"N": "1"}, "b": {"SS": ["x"]}}
