"""Malformed events to the router (hypothesis): every one either gives a
partial-batch response or raises a clear exception of the runtime's own.

A result must be well formed: a list of failures whose identifiers are the
records' own sequence numbers, in stream order, from the first failure to the
end of the batch. An exception must be UnidentifiableRecordError, which fails
the whole batch on purpose and names the problem.
"""

from __future__ import annotations

import json
from typing import Any

import runtime_path  # noqa: F401  (puts lambda_src on sys.path, before stream_runtime)
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_runtime import ChangeRecord, StreamRouter, UnidentifiableRecordError

from cdk_streams.testing import StreamEventFactory
from tests.hypothesis_budget import examples

SETTINGS = settings(max_examples=examples(300), deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)

FACTORY = StreamEventFactory(key_names=("pk",))
GOOD = [
    FACTORY.insert({"pk": "a", "n": 1}),
    FACTORY.modify({"pk": "a", "n": 1}, {"pk": "a", "n": 2}),
    FACTORY.remove({"pk": "a", "n": 2}),
]


def _router() -> StreamRouter:
    router = StreamRouter()

    @router.on_any
    def touch_everything(record: ChangeRecord) -> None:
        # Read every field a route could read, so a malformed one fails here.
        for name in (
            "event_id",
            "event_name",
            "sequence_number",
            "view_type",
            "event_source_arn",
            "approximate_creation_time",
            "size_bytes",
            "is_ttl_expiry",
            "changed_attributes",
        ):
            getattr(record, name)
        for image in (record.keys, record.new_image, record.old_image):
            if image is not None:
                dict(image.items())

    return router


def _mutate(record: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """A deep copy of ``record`` with the value at ``path`` replaced (or added)."""
    out = json.loads(json.dumps(record))
    node = out
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value
    return out


PATHS = [
    ["eventName"],
    ["eventID"],
    ["userIdentity"],
    ["dynamodb"],
    ["dynamodb", "Keys"],
    ["dynamodb", "NewImage"],
    ["dynamodb", "OldImage"],
    ["dynamodb", "NewImage", "n"],
    ["dynamodb", "ApproximateCreationDateTime"],
    ["dynamodb", "SizeBytes"],
    ["dynamodb", "StreamViewType"],
    ["dynamodb", "SequenceNumber"],
    ["kinesis"],
]


def _check(event: dict[str, Any]) -> None:
    try:
        result = _router().handler(event, None)
    except UnidentifiableRecordError as error:
        assert "failing the whole batch" in str(error)
        return
    records = event["Records"]
    failures = result["batchItemFailures"]
    assert isinstance(failures, list)
    identifiers = [f["itemIdentifier"] for f in failures]
    sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    # Ordered: the failures are exactly a suffix of the batch, in stream order.
    assert identifiers == sequence_numbers[len(sequence_numbers) - len(identifiers) :]


@SETTINGS
@given(
    position=st.integers(0, len(GOOD) - 1),
    path=st.sampled_from(PATHS),
    value=json_values,
)
def test_a_malformed_field_gives_an_ordered_result_or_a_clear_exception(position, path, value):
    records = list(GOOD)
    records[position] = _mutate(records[position], path, value)
    _check({"Records": records})


@SETTINGS
@given(records=st.lists(json_values, max_size=4))
def test_arbitrary_records_never_crash_the_router_unclearly(records):
    event = {"Records": records}
    try:
        result = _router().handler(event, None)
    except UnidentifiableRecordError as error:
        assert "failing the whole batch" in str(error)
        return
    # Only an empty batch can succeed without identifiable records.
    assert records == [] and result == {"batchItemFailures": []}


def test_an_event_without_records_succeeds():
    assert _router().handler({}, None) == {"batchItemFailures": []}
