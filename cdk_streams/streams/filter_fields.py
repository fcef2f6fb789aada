"""Which fields of a stream record a filter pattern can name, and which rules can never match.

Lambda accepts a pattern that names a field its records do not have (``event_name`` for
``eventName``, ``newImage`` for ``NewImage``) and then drops every record. It also accepts a
rule list made only of ``numeric`` rules on a DynamoDB number in an image, where the value
is a JSON string (``{"N": "42"}``) that ``numeric`` (or a number value such as ``42``) never
matches, and rules written on an attribute without its type (``{"status": ["x"]}``), where
the value is an object such as ``{"S": "x"}`` that rules never match. :func:`check_fields`
refuses these before deploy. A list that mixes ``numeric`` with rules that can match a
string is accepted, as Lambda does: those rules can still match.

The grammar (:mod:`.filter_grammar`) joins keys with dots, so the checks work on the joined
path; the record's own field names hold no dots.
"""

from __future__ import annotations

import json
from typing import Literal

from .filter_grammar import Field, FilterPattern, FilterPatternError, matches_numbers_only

#: The fields of a DynamoDB stream record that Lambda can filter on.
DYNAMODB_RECORD_FIELDS = frozenset(
    {
        "awsRegion",
        "dynamodb",
        "eventID",
        "eventName",
        "eventSource",
        "eventSourceARN",
        "eventVersion",
        "userIdentity",
    }
)
#: The fields of a record's ``dynamodb`` object.
DYNAMODB_CHANGE_FIELDS = frozenset(
    {
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "OldImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }
)
#: The fields of a Kinesis record Lambda filters on (the record's ``kinesis`` object).
KINESIS_RECORD_FIELDS = frozenset(
    {
        "approximateArrivalTimestamp",
        "data",
        "kinesisSchemaVersion",
        "partitionKey",
        "sequenceNumber",
    }
)
#: The fields of a DynamoDB change that a table streams to Kinesis, JSON under ``data``.
KINESIS_CHANGE_FIELDS = DYNAMODB_RECORD_FIELDS | {"recordFormat", "tableName"}
#: The parts of a change that hold item attributes in DynamoDB's typed JSON.
IMAGE_FIELDS = frozenset({"Keys", "NewImage", "OldImage"})
#: Type tags whose values are objects (M) or lists of typed objects (L).
CONTAINER_TAGS = frozenset({"L", "M"})
#: Type tags whose values a stream record carries as JSON strings of digits.
NUMBER_TAGS = frozenset({"N", "NS"})

Source = Literal["dynamodb", "kinesis"]


def check_fields(pattern: FilterPattern, source: Source = "dynamodb") -> None:
    """Refuse fields the source's records do not have, rules on objects in an image, and
    number-only rules on image numbers: Lambda accepts all three and drops every record.

    :param source: ``"dynamodb"`` for a mapping on a table's stream, ``"kinesis"`` for one on
        a Kinesis data stream the table streams its changes to. @default "dynamodb".
    :raises FilterPatternError: naming the place in the pattern.
    """
    for leaf in pattern.fields:
        parts = leaf.path.split(".")
        if source == "kinesis":
            _check_names(leaf, parts, 0, KINESIS_RECORD_FIELDS, "the fields Lambda filters on")
            if parts[0] == "data":
                _check_change(leaf, parts, 1, KINESIS_CHANGE_FIELDS)
        else:
            _check_change(leaf, parts, 0, DYNAMODB_RECORD_FIELDS)


def _check_change(leaf: Field, parts: list[str], at: int, record_fields: frozenset[str]) -> None:
    """Check ``parts[at:]`` as a path into a DynamoDB change record."""
    if at == len(parts):
        raise FilterPatternError(
            _where(leaf, parts, at),
            "an object naming the change's fields (Lambda refuses rules on the whole change)",
            json.dumps(list(leaf.rules)),
        )
    _check_names(leaf, parts, at, record_fields, "the fields Lambda filters on")
    if parts[at] != "dynamodb":
        return
    if at + 1 == len(parts):
        raise FilterPatternError(
            _where(leaf, parts, at + 1),
            "an object naming the change's fields (Lambda refuses rules on the whole change)",
            json.dumps(list(leaf.rules)),
        )
    _check_names(leaf, parts, at + 1, DYNAMODB_CHANGE_FIELDS, "the fields of a change")
    if parts[at + 1] in IMAGE_FIELDS:
        _check_image_leaf(leaf, parts[at + 2 :])
    image_attribute = parts[at + 1] in IMAGE_FIELDS and len(parts) >= at + 4
    if image_attribute and parts[-1] in NUMBER_TAGS and matches_numbers_only(leaf.rules):
        raise FilterPatternError(
            leaf.where,
            "a list with a rule that can match a string: stream records carry N values as "
            "strings, and numeric rules and number values only match JSON numbers, so these "
            'rules would drop every record (match the exact string instead, such as ["42"])',
            json.dumps(list(leaf.rules)),
        )


def _check_image_leaf(leaf: Field, below_image: list[str]) -> None:
    """Rules on an object in an image (the image, an attribute, an L or M value) never match.

    The engine's rules see leaves only, and in DynamoDB's typed JSON these are objects:
    ``{"status": {"S": "x"}}``. Only ``exists: false`` matches there, which is always true.
    """
    if leaf.matches_absent:
        return
    if not below_image:
        allowed = "an object naming attributes (rules never match the image, an object)"
    elif len(below_image) == 1:
        allowed = (
            "an object naming the attribute's type, such as {\"S\": [...]}: an attribute's "
            'value is an object such as {"S": "x"}, which rules never match, so these rules '
            "would drop every record"
        )
    elif len(below_image) == 2 and below_image[-1] in CONTAINER_TAGS:
        allowed = (
            f"an object reaching a typed value inside the {below_image[-1]}, such as "
            f'{{"{below_image[-1]}": {{"S": [...]}}}}: its elements are objects, which rules '
            "never match, so these rules would drop every record"
        )
    else:
        return
    raise FilterPatternError(leaf.where, allowed, json.dumps(list(leaf.rules)))


def _check_names(
    leaf: Field, parts: list[str], at: int, allowed: frozenset[str], what: str
) -> None:
    if parts[at] not in allowed:
        raise FilterPatternError(
            _where(leaf, parts, at),
            f"limited to {what} ({', '.join(sorted(allowed))})",
            parts[at],
        )


def _where(leaf: Field, parts: list[str], at: int) -> str:
    """The place of ``parts[at]``'s parent in the pattern, as the user wrote it."""
    if "$or" in leaf.where or any("." in key for key in leaf.keys):
        # Dotted keys and $or branches do not map one-to-one onto parts: name the leaf.
        return leaf.where
    return ".".join(["pattern", *parts[:at]])
