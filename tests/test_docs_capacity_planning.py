"""Every Python example in docs/capacity-planning.md runs, and the numbers the page
quotes for the worked example are what the planner prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).parent.parent / "docs" / "capacity-planning.md"
TEXT = PAGE.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) == 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_example_runs(code: str) -> None:
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_the_quoted_arithmetic_holds() -> None:
    capacity = 100 / (0.020 + 100 * 0.002)
    assert round(capacity) == 455 and "= 455 records/s" in TEXT
    assert round(3600 * (1 - capacity / 1000)) == 1964 and "1,964 s old" in TEXT
    assert round(3600 / (1 - capacity / 1000), -2) == 6600 and "6,600 s" in TEXT
    assert round(2 * capacity) == 909 and round(3 * capacity) == 1364
