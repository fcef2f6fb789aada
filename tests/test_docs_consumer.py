"""The Python examples of docs/consumer.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "consumer.md"

pytestmark = pytest.mark.slow


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_page_has_python_examples() -> None:
    assert len(python_blocks(PAGE.read_text())) >= 1


@pytest.mark.parametrize("index", range(len(python_blocks(PAGE.read_text()))))
def test_each_python_example_runs(index: int) -> None:
    code = python_blocks(PAGE.read_text())[index]
    namespace: dict[str, object] = {"__name__": "docs_example"}
    exec(compile(code, f"{PAGE.name}[{index}]", "exec"), namespace)
    assert namespace.get("seen") == [("o-1", "INSERT")]
