"""The callers of the partial batch rule read it from cdk_streams.streams.partial_batch:
the mapping's bisection, redrive/backfill targets, the consumer's warning about
unknown identifiers, and backfill's per-item loop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.consumer.delivery import BatchDelivery
from cdk_streams.consumer.errors import ConsumerError
from cdk_streams.consumer.stats import ConsumerStats
from cdk_streams.operations.backfill import Backfill
from cdk_streams.operations.targets import FailedInvocation, first_failure
from cdk_streams.streams.delivery import Invocation, InvokeOutcome, halves
from cdk_streams.streams.records import DYNAMODB


def record(sequence: str, key: str = "k") -> dict[str, Any]:
    return {"dynamodb": {"SequenceNumber": sequence, "Keys": {"pk": {"S": key}}}}


def failures(*identifiers: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}


# -- the mapping's bisection --------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "first", "second"),
    [
        ([1, 2, 3, 4], [1, 2], [3, 4]),
        # Odd: the first half is the smaller one, as Lambda splits.
        ([1, 2, 3, 4, 5], [1, 2], [3, 4, 5]),
        ([1, 2], [1], [2]),
        ([1], [], [1]),
    ],
)
def test_halves_split_in_the_middle_first_half_smaller(
    batch: list[int], first: list[int], second: list[int]
) -> None:
    assert halves(batch) == (first, second)


# -- targets (redrive, backfill) ---------------------------------------------------


class Answers:
    """A target answering from a list, one outcome per call."""

    name = "answers"

    def __init__(self, *outcomes: Invocation) -> None:
        self.outcomes = list(outcomes)
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        return self.outcomes.pop(0)


BATCH = [record("101"), record("102"), record("103")]


def test_first_failure_reads_the_response_with_the_rule() -> None:
    target = Answers(InvokeOutcome("r1", True, failures("103", "102")))
    failed, outcome = first_failure(target, BATCH, DYNAMODB)
    assert failed == 1 and outcome.request_id == "r1"
    assert target.events == [{"Records": BATCH}]


def test_first_failure_fails_the_whole_batch_on_a_function_error() -> None:
    # The records have no sequence number: a function error never reads them.
    target = Answers(InvokeOutcome("r1", False, failures("103")))
    failed, outcome = first_failure(target, [{"broken": 1}, {"broken": 2}], DYNAMODB)
    assert failed == 0 and not outcome.ok


def test_first_failure_without_report_batch_item_failures_ignores_the_response() -> None:
    target = Answers(InvokeOutcome("r1", True, failures("999")))
    failed, _ = first_failure(target, BATCH, DYNAMODB, report_batch_item_failures=False)
    assert failed is None


# -- the consumer's warning about unknown identifiers ------------------------------


def consumer_delivery(callback: Any = None) -> BatchDelivery:
    return BatchDelivery(
        callback=callback,
        handler=None if callback is not None else (lambda event, context: None),
        change_record=None,
        worker_id="w",
        max_retries=0,
        retry_delay=0.0,
        on_failure=lambda failure: None,
        failure_scope="batch",
        callback_timeout=None,
        wait=lambda seconds: False,
        stats=ConsumerStats(),
    )


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("response", "named"),
    [
        (failures("999"), "[{'itemIdentifier': '999'}]"),
        (failures("102", None), "[{'itemIdentifier': None}]"),
        # An identifier of the batch beside a stranger: still the whole batch.
        (failures("101", "999"), "[{'itemIdentifier': '999'}]"),
        ({"batchItemFailures": [{"wrongKey": "102"}]}, "[{'wrongKey': '102'}]"),
        # Not a list, and not iterable or hashable: retried, not a crash.
        ({"batchItemFailures": 5}, "[5]"),
        (failures(["102"]), "[{'itemIdentifier': ['102']}]"),
    ],
)
def test_the_consumer_warns_about_the_identifiers_it_did_not_understand(
    caplog: pytest.LogCaptureFixture, response: Any, named: str
) -> None:
    caplog.set_level(logging.WARNING, "cdk_streams.consumer")
    assert consumer_delivery().failed_from(BATCH, response) == 0
    assert warnings(caplog) == [f"unknown failure identifier in {named}: retrying the whole batch"]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (None, None),
        (failures(), None),
        (failures("101"), 0),
        (failures("103", "102"), 1),
    ],
)
def test_the_consumer_is_silent_when_every_identifier_is_known(
    caplog: pytest.LogCaptureFixture, response: Any, expected: int | None
) -> None:
    caplog.set_level(logging.WARNING, "cdk_streams.consumer")
    assert consumer_delivery().failed_from(BATCH, response) == expected
    assert warnings(caplog) == []


def test_a_callbacks_list_of_sequence_numbers_is_a_partial_batch_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "cdk_streams.consumer")
    delivery = consumer_delivery(callback=lambda records: None)
    assert delivery.failed_from(BATCH, ["103"]) == 2
    assert delivery.failed_from(BATCH, ("102", "103")) == 1
    assert delivery.failed_from(BATCH, []) is None
    assert warnings(caplog) == []
    assert delivery.failed_from(BATCH, ["999"]) == 0
    assert warnings(caplog) == [
        "unknown failure identifier in [{'itemIdentifier': '999'}]: retrying the whole batch"
    ]


def test_a_callback_answering_something_else_is_refused() -> None:
    delivery = consumer_delivery(callback=lambda records: None)
    with pytest.raises(ConsumerError) as caught:
        delivery.failed_from(BATCH, "103")
    assert str(caught.value) == (
        "callback returned '103'; expected None, a list of failed sequence numbers, or "
        '{"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}]}'
    )


# -- backfill: the mapping's rule, a per-item budget --------------------------------


class OneSegmentTable:
    """A boto3 ``dynamodb`` client stand-in: one table, one scan page."""

    def __init__(self, count: int) -> None:
        self.items = [{"pk": {"S": f"o-{n}"}} for n in range(1, count + 1)]

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {
            "Table": {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "LatestStreamArn": f"arn:aws:dynamodb:us-east-1:1:table/{TableName}/stream/x",
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
                "ItemCount": len(self.items),
            }
        }

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        return {"Items": self.items}


class Handler:
    """A target that fails on some items: by raising or by reporting them."""

    name = "handler"

    def __init__(
        self, raises: frozenset[str] = frozenset(), reports: frozenset[str] = frozenset()
    ) -> None:
        self.raises, self.reports = raises, reports
        self.calls: list[list[str]] = []

    def check(self) -> None:
        """Always invocable."""

    def invoke(self, event: dict[str, Any]) -> Invocation:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        self.calls.append(keys)
        if self.raises & set(keys):
            error = {"errorType": "ValueError", "errorMessage": "bad item"}
            return FailedInvocation(str(len(self.calls)), error)
        reported = [
            r["dynamodb"]["SequenceNumber"]
            for r in event["Records"]
            if r["dynamodb"]["Keys"]["pk"]["S"] in self.reports
        ]
        return InvokeOutcome(str(len(self.calls)), True, failures(*reported))


def backfill(tmp_path: Path, count: int, target: Handler, **options: Any) -> Backfill:
    table = OneSegmentTable(count)
    return Backfill(
        lambda service: table,
        "orders",
        target,
        segments=1,
        batch_size=count,
        checkpoint=tmp_path / "cp.json",
        **options,
    )


def test_backfill_halves_a_function_error_down_to_the_item_and_skips_only_it(
    tmp_path: Path,
) -> None:
    target = Handler(raises=frozenset({"o-3"}))
    report = backfill(tmp_path, 4, target, retry_attempts=1).run()
    assert target.calls == [
        ["o-1", "o-2", "o-3", "o-4"],
        ["o-1", "o-2"],
        ["o-3", "o-4"],
        ["o-3"],  # halves start a fresh budget: one try and one retry
        ["o-3"],
        ["o-4"],  # the rest of the half goes on after the item given up on
    ]
    assert (report.succeeded, report.invocations) == (3, 6)
    assert report.failed == [{"keys": {"pk": "o-3"}, "error": "ValueError: bad item"}]


def test_backfill_moves_past_a_reported_failure_and_restarts_the_budget(tmp_path: Path) -> None:
    target = Handler(reports=frozenset({"o-2", "o-4"}))
    report = backfill(tmp_path, 5, target, retry_attempts=1).run()
    assert target.calls == [
        ["o-1", "o-2", "o-3", "o-4", "o-5"],
        # A reported failure names its item: retried from it, never halved;
        # moving past o-1 started the budget: one try and one retry.
        ["o-2", "o-3", "o-4", "o-5"],
        ["o-2", "o-3", "o-4", "o-5"],
        ["o-3", "o-4", "o-5"],  # o-2 given up on, the rest goes on
        ["o-4", "o-5"],
        ["o-4", "o-5"],
        ["o-5"],
    ]
    assert report.succeeded == 3
    assert report.failed == [
        {"keys": {"pk": "o-2"}, "error": "reported in batchItemFailures"},
        {"keys": {"pk": "o-4"}, "error": "reported in batchItemFailures"},
    ]
