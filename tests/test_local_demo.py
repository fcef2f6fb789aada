"""`make demo` end to end: the sample app, deployed with the real CDK CLI into the local
cloud, processes a day of orders; the poison record ends in the on-failure queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_streams.local.demo import day_of_orders, run_demo

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_the_scripted_day() -> None:
    writes = day_of_orders()
    assert len(writes) == 57
    assert sum(1 for kind, _ in writes if kind == "delete") == 7
    assert sum(1 for _, item in writes if item.get("poison") is True) == 1


def test_demo_processes_everything_but_the_poison_record() -> None:
    lines: list[str] = []
    result = run_demo(REPO, out=lines.append, progress=lambda message: None)
    assert result.written == 57
    assert result.lost == 0
    (message,) = result.on_failure
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1
    assert result.counts.succeeded == 56
    assert dict(result.counts.by_event) == {"INSERT": 20, "MODIFY": 29, "REMOVE": 7}
    assert lines[-1] == (
        "processed 56 records (INSERT 20, MODIFY 29, REMOVE 7); "
        "failed 1 -> on-failure queue; lost 0"
    )
    assert any("order placed" in line for line in lines)  # the handler's own log
