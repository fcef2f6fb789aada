"""The arithmetic docs/capacity-planning.md shows for its worked example holds.

Its Python blocks run in tests/test_docs_examples.py, with every other page's.
"""

from __future__ import annotations

from pathlib import Path

TEXT = (Path(__file__).parent.parent / "docs" / "capacity-planning.md").read_text()


def test_the_quoted_arithmetic_holds() -> None:
    capacity = 100 / (0.020 + 100 * 0.002)
    assert round(capacity) == 455 and "= 455 records/s" in TEXT
    assert round(3600 * (1 - capacity / 1000)) == 1964 and "1,964 s old" in TEXT
    assert round(3600 / (1 - capacity / 1000), -2) == 6600 and "6,600 s" in TEXT
    assert round(2 * capacity) == 909 and "2 x 455 = 909" in TEXT
    assert round(3 * capacity) == 1364 and "1,364 records/s" in TEXT
