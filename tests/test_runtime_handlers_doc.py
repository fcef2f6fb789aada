"""docs/handlers.md: every ```python block runs, in order, in one namespace.

(A shared helper that runs every docs page may replace this test; until then
this one keeps the handler guide's examples honest.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import runtime_path  # noqa: F401  (the examples import stream_runtime as Lambda does)

os.environ.setdefault("CDK_VALIDATION", "false")

DOC = Path(__file__).resolve().parent.parent / "docs" / "handlers.md"
_FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_every_example_of_the_handler_guide_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # CDK writes cdk.out into the working directory
    monkeypatch.delenv("STREAM_METRICS", raising=False)
    blocks = _FENCE.findall(DOC.read_text())
    assert len(blocks) >= 8
    namespace: dict = {"__name__": "handlers_doc"}
    for index, code in enumerate(blocks):
        exec(compile(code, f"{DOC.name}[block {index + 1}]", "exec"), namespace)
