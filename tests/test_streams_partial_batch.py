"""Lambda's partial batch response rule (cdk_streams.streams.partial_batch):
which records a response marks failed, and where the checkpoint moves."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_streams.streams.partial_batch import (
    first_failed_index,
    invocation_failed_index,
    split_at_failure,
    unknown_failures,
)

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


# -- the reported failures that name no record ------------------------------------


@pytest.mark.parametrize(
    ("response", "unknown"),
    [
        (failures(None), [{"itemIdentifier": None}]),
        (failures(""), [{"itemIdentifier": ""}]),
        (failures(102), [{"itemIdentifier": 102}]),
        (failures("999"), [{"itemIdentifier": "999"}]),
        # Only the strangers are named, in the response's order.
        (failures("103", "999", "101", "0"), [{"itemIdentifier": "999"}, {"itemIdentifier": "0"}]),
        ({"batchItemFailures": [{"wrongKey": "102"}]}, [{"wrongKey": "102"}]),
        ({"batchItemFailures": ["102"]}, ["102"]),
        # Not a list: the whole value is the one entry that names nothing.
        ({"batchItemFailures": "102"}, ["102"]),
        ({"batchItemFailures": {"itemIdentifier": "102"}}, [{"itemIdentifier": "102"}]),
        ({"batchItemFailures": 5}, [5]),
        # Unhashable identifiers are strangers too, not a crash.
        (failures(["101"]), [{"itemIdentifier": ["101"]}]),
    ],
)
def test_unknown_failures_are_the_entries_that_fail_the_whole_batch(
    response: Any, unknown: list[Any]
) -> None:
    assert unknown_failures(BATCH, response) == unknown
    # The same rule as the index: every stranger fails the whole batch.
    assert first_failed_index(BATCH, response) == 0


@pytest.mark.parametrize(
    "response",
    [
        None,
        ["999"],  # not an object: nothing is reported at all
        {},
        {"batchItemFailures": None},
        {"batchItemFailures": []},
        {"batchItemFailures": {}},
        failures("101"),
        failures("104", "102"),
    ],
)
def test_a_response_that_names_only_batch_records_has_no_unknown_failures(response: Any) -> None:
    assert unknown_failures(BATCH, response) == []


def test_in_an_empty_batch_every_identifier_is_unknown() -> None:
    assert unknown_failures([], failures("1")) == [{"itemIdentifier": "1"}]


# -- one invocation, as a mapping reads it -----------------------------------------


RECORDS = [{"seq": number} for number in BATCH]


def sequence(record: dict[str, str]) -> str:
    return record["seq"]


def read(*, ok: bool, response: Any, report: bool) -> int | None:
    return invocation_failed_index(
        RECORDS, sequence, ok=ok, response=response, report_batch_item_failures=report
    )


@pytest.mark.parametrize("report", [True, False])
@pytest.mark.parametrize("response", [None, failures("103"), {"batchItemFailures": []}])
def test_a_function_error_fails_the_whole_batch_whatever_the_response(
    report: bool, response: Any
) -> None:
    assert read(ok=False, response=response, report=report) == 0


def test_without_report_batch_item_failures_a_normal_return_succeeds_everything() -> None:
    assert read(ok=True, response=failures("103"), report=False) is None
    assert read(ok=True, response=failures("999"), report=False) is None


def test_with_report_batch_item_failures_the_response_is_read_by_the_rule() -> None:
    assert read(ok=True, response=failures("103"), report=True) == 2
    assert read(ok=True, response=failures("999"), report=True) == 0
    assert read(ok=True, response=None, report=True) is None


def test_sequence_numbers_are_only_read_when_the_response_is() -> None:
    # Records without a sequence number (a broken on-failure record, say) must not
    # stop a function error or an unread response from being classified.
    def no_sequence(record: dict[str, str]) -> str:
        raise AssertionError(f"read the sequence number of {record}")

    response = failures("103")
    assert (
        invocation_failed_index(
            RECORDS, no_sequence, ok=False, response=response, report_batch_item_failures=True
        )
        == 0
    )
    assert (
        invocation_failed_index(
            RECORDS, no_sequence, ok=True, response=response, report_batch_item_failures=False
        )
        is None
    )


# -- where the checkpoint moves -----------------------------------------------------


@pytest.mark.parametrize(
    ("failed_from", "succeeded", "to_retry"),
    [
        (None, BATCH, []),
        (0, [], BATCH),
        (1, BATCH[:1], BATCH[1:]),
        (3, BATCH[:3], BATCH[3:]),
    ],
)
def test_split_at_failure_checkpoints_the_records_before_it(
    failed_from: int | None, succeeded: list[str], to_retry: list[str]
) -> None:
    assert split_at_failure(BATCH, failed_from) == (succeeded, to_retry)


def test_split_at_failure_returns_new_lists() -> None:
    batch = list(BATCH)
    done, rest = split_at_failure(batch, None)
    done.append("105")
    assert batch == BATCH and rest == []
