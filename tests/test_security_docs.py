"""docs/security.md: its one table of acknowledged findings is the code's, word for word,
and its Python examples run."""

from __future__ import annotations

import os
import re
from pathlib import Path

os.environ.setdefault("CDK_VALIDATION", "false")

import pytest

from cdk_streams import acknowledgements

PAGE = Path(__file__).resolve().parent.parent / "docs" / "security.md"
ROW = re.compile(r"^\| (cdk-nag|checkov) \| `([^`]+)` \| [^|]+ \| ([^|]+) \| [^|]+ \|$")


def _in_code() -> dict[str, tuple[str, str]]:
    """rule id -> (scanner, reason), for every Reason the module defines."""
    found: dict[str, tuple[str, str]] = {}
    for value in vars(acknowledgements).values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, acknowledgements.Reason):
                assert item.rule_id not in found, f"{item.rule_id} is defined twice"
                found[item.rule_id] = (item.scanner, item.reason)
    return found


def _in_docs() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for line in PAGE.read_text().splitlines():
        if match := ROW.match(line):
            scanner, rule_id, reason = match.groups()
            assert rule_id not in found, f"{rule_id} is listed twice"
            found[rule_id] = (scanner, reason.strip())
    return found


def test_the_table_lists_exactly_the_acknowledged_findings_with_their_reasons():
    in_code = _in_code()
    assert {scanner for scanner, _ in in_code.values()} == {"cdk-nag", "checkov"}
    assert _in_docs() == in_code


def test_a_row_that_drifts_from_the_code_is_caught(tmp_path, monkeypatch):
    """The check above can fail: a reworded reason is a difference."""
    page = PAGE.read_text().replace("no key charge", "no key cost")
    monkeypatch.setattr(f"{__name__}.PAGE", tmp_path / "security.md")
    (tmp_path / "security.md").write_text(page)
    assert _in_docs() != _in_code()


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(), flags=re.S | re.M)


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_python_examples_run(index):
    exec(compile(_python_blocks()[index], f"{PAGE}:python block {index}", "exec"), {})
