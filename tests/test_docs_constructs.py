"""The python examples of docs/constructs.md run, in order, as a reader would paste them.

A block whose first line is ``# <path>`` is a file the reader writes (the handler); it is
written to that path in a scratch directory. Every other block runs in one namespace there.
"""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PAGE = REPO / "docs" / "constructs.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
_FILE = re.compile(r"^# (\S+\.py)\n")


def test_every_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = _BLOCK.findall(PAGE.read_text())
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_example"}
    for index, block in enumerate(blocks):
        target = _FILE.match(block)
        if target:
            path = Path(target.group(1))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block)
            continue
        try:
            exec(compile(block, f"{PAGE.name}[{index}]", "exec"), namespace)
        except Exception as error:  # pragma: no cover - the message is the point
            pytest.fail(f"example {index} of {PAGE.name} failed: {error!r}\n{block}")
    printed = capsys.readouterr().out
    # The one printed error is exactly the one the page shows.
    assert "Users/Forgotten: handler_dir or function must be set, got neither." in printed
    assert "code=StreamHandlerCode.sample()" in printed
