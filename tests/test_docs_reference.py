"""The README's reference and docs/constructs.md both list every prop of each construct,
and docs/constructs.md every ``metric_*()`` method: a prop added to the code and not to
the docs fails here."""

from __future__ import annotations

import inspect

import pytest

from cdk_streams import StreamAlarms, StreamDashboard, StreamProcessor, StreamTable
from tests.conftest import REPO

README = (REPO / "README.md").read_text()
CONSTRUCTS = (REPO / "docs" / "constructs.md").read_text()

#: construct -> (its README section's first and next heading, the same in constructs.md)
SECTIONS = {
    StreamProcessor: (
        ("### StreamProcessor(", "### StreamPipeline("),
        ("## `StreamProcessor`", "## `AlarmThresholds`"),
    ),
    StreamTable: (
        ("### StreamTable(", "### StreamProcessor("),
        ("## `StreamTable`", "## `StreamPipeline`"),
    ),
    StreamAlarms: (
        ("### StreamAlarms and AlarmThresholds", "### StreamDashboard("),
        ("## `AlarmThresholds` and `StreamAlarms`", "## `StreamDashboard`"),
    ),
    StreamDashboard: (
        ("### StreamDashboard(", "### Command line"),
        ("## `StreamDashboard`", "## `StreamTable`"),
    ),
}


def section(text: str, start: str, end: str) -> str:
    first = text.index(start)
    return text[first : text.index(end, first + 1)]


def keyword_props(construct: type) -> list[str]:
    parameters = inspect.signature(construct.__init__).parameters.values()  # type: ignore[misc]
    return [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]


@pytest.mark.parametrize("construct", list(SECTIONS), ids=lambda c: c.__name__)
def test_every_prop_is_in_the_readme_and_the_constructs_guide(construct: type) -> None:
    (readme_from, readme_to), (guide_from, guide_to) = SECTIONS[construct]
    props = keyword_props(construct)
    assert len(props) >= 4
    readme = section(README, readme_from, readme_to)
    guide = section(CONSTRUCTS, guide_from, guide_to)
    assert [p for p in props if f"`{p}`" not in readme] == []
    assert [p for p in props if f"`{p}`" not in guide] == []


def test_every_metric_method_is_in_the_metrics_table() -> None:
    methods = sorted(name for name in dir(StreamProcessor) if name.startswith("metric_"))
    assert len(methods) >= 15
    table = section(CONSTRUCTS, "### Metrics", "## `AlarmThresholds`")
    assert [m for m in methods if f"| `{m}()` |" not in table] == []
