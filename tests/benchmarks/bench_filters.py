"""Filter matching cost per record: the grammar's matcher against a hand-written check.

The anchor is a plain Python function that tests the same conditions on the same record
(what a handler would do itself); the ratio says what the general matcher costs on top.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from cdk_streams.streams.filter_grammar import RecordFilter

RECORD: dict[str, Any] = {
    "eventID": "1",
    "eventName": "MODIFY",
    "eventSource": "aws:dynamodb",
    "awsRegion": "us-east-1",
    "dynamodb": {
        "ApproximateCreationDateTime": 1.7e9,
        "Keys": {"pk": {"S": "o-1"}},
        "NewImage": {**{f"a{i}": {"S": f"v{i}"} for i in range(10)}, "status": {"S": "SHIPPED"}},
        "OldImage": {**{f"a{i}": {"S": f"v{i}"} for i in range(10)}, "status": {"S": "PAID"}},
        "SequenceNumber": "1",
        "SizeBytes": 300,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
}
PATTERNS = [
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["PLACED"]}}}},
    {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "NewImage": {"status": {"S": ["SHIPPED"]}},
            "OldImage": {"status": {"S": [{"anything-but": "SHIPPED"}]}},
        },
    },
]


def by_hand(record: dict[str, Any]) -> bool:
    change = record["dynamodb"]
    new = change.get("NewImage", {}).get("status", {}).get("S")
    old = change.get("OldImage", {}).get("status", {}).get("S")
    if record["eventName"] == "INSERT" and new == "PLACED":
        return True
    return record["eventName"] == "MODIFY" and new == "SHIPPED" and old not in (None, "SHIPPED")


def per_record(check: Callable[[dict[str, Any]], bool], rounds: int = 20_000) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            check(RECORD)
        best = min(best, (time.perf_counter() - start) / rounds)
    return best * 1e6


def main() -> None:
    record_filter = RecordFilter(json.dumps(p) for p in PATTERNS)
    assert record_filter.matches(RECORD) and by_hand(RECORD)
    anchor = per_record(by_hand)
    matcher = per_record(record_filter.matches)
    print(f"hand-written check (anchor): {anchor:.2f} us/record")
    print(f"RecordFilter, 2 patterns:    {matcher:.2f} us/record ({matcher / anchor:.1f}x anchor)")


if __name__ == "__main__":
    main()
