"""The python examples in docs/filters.md run, in order, and their assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "filters.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_page_has_examples() -> None:
    assert len(python_blocks(DOC.read_text())) == 4


def test_every_python_example_runs() -> None:
    namespace: dict = {"__name__": "docs_filters"}
    for index, block in enumerate(python_blocks(DOC.read_text())):
        exec(compile(block, f"{DOC.name}[python block {index}]", "exec"), namespace)
    # The synth example really hit the refusal rather than passing by accident.
    assert namespace["message"].startswith("Orders/Processor: filters[0].pattern.eventName[0]")
