"""Lambda's partial batch response rule (cdk_streams.streams.partial_batch):
which records a response marks failed, and where the checkpoint moves."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_streams.streams.partial_batch import first_failed_index

BATCH = ["101", "102", "103", "104"]


def failures(*identifiers: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}


@pytest.mark.parametrize(
    "response",
    [
        None,
        [],
        ["102"],  # not an object: Lambda reads no failures from it
        "102",
        42,
        {},
        {"other": 1},
        {"batchItemFailures": None},
        {"batchItemFailures": []},
    ],
)
def test_responses_that_report_no_failure_succeed_the_whole_batch(response: Any) -> None:
    assert first_failed_index(BATCH, response) is None


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (failures("101"), 0),
        (failures("103"), 2),
        (failures("104"), 3),
        # The lowest reported record wins, whatever the order of the list.
        (failures("104", "102", "103"), 1),
        (failures("103", "103"), 2),
    ],
)
def test_the_checkpoint_moves_to_just_before_the_lowest_failure(
    response: dict[str, Any], expected: int
) -> None:
    assert first_failed_index(BATCH, response) == expected


@pytest.mark.parametrize(
    "response",
    [
        failures(None),
        failures(""),
        failures(102),  # a number, not the sequence number string
        failures("999"),  # not in the batch
        failures("103", "999"),  # one unknown identifier spoils the rest
        {"batchItemFailures": [{"wrongKey": "102"}]},
        {"batchItemFailures": ["102"]},
        {"batchItemFailures": "102"},
        {"batchItemFailures": {"itemIdentifier": "102"}},
    ],
)
def test_null_empty_non_string_or_unknown_identifiers_fail_the_whole_batch(response: Any) -> None:
    assert first_failed_index(BATCH, response) == 0


def test_an_empty_batch_has_only_unknown_identifiers() -> None:
    assert first_failed_index([], failures("1")) == 0
    assert first_failed_index([], {"batchItemFailures": []}) is None
