"""Every ```python block in README.md and docs/*.md runs, so no example can rot.

The blocks of one file run in order in one namespace (a later block may use
what an earlier one defined), in a fresh temporary working directory, with
CDK's template validator off (``CDK_VALIDATION=false``, as in every unit test).
After each block, every new ``test_*`` function it defined that takes no
arguments is called, so a handler unit test shown in the docs is run too.

Markers, on the line right before the block's opening fence:

- ``<!-- file: handlers/orders.py -->`` writes the block to that path (under
  the working directory) instead of running it, and puts its directory on
  ``sys.path``: the way to show a handler module that later blocks import.
  A user's tests find it only through pytest's ``pythonpath`` setting, so the
  README must show that setting for every such directory (checked below).
  A block whose first line is a comment naming a ``.py`` path (``# src/users.py``)
  is written there the same way, so a page can show the file name to the reader.
- ``<!-- no-run: REASON -->`` skips the block. Only for blocks that need a real
  AWS account; the reason is required.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

# A fence may be indented (inside a list item); its code is dedented.
_FENCE = re.compile(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```[ \t]*$", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!--\s*(file|no-run)\s*:?\s*(.*?)\s*-->\s*$")
_FILE_COMMENT = re.compile(r"^# (\S+\.py)\n")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    code: str
    write_to: str | None = None
    skip_reason: str | None = None


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    text = path.read_text()
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        kind, argument = (marker.group(1), marker.group(2)) if marker else (None, "")
        named = _FILE_COMMENT.match(textwrap.dedent(match.group(2)))
        if kind is None and named:
            kind, argument = "file", named.group(1)
        blocks.append(
            Block(
                path,
                line,
                textwrap.dedent(match.group(2)),
                write_to=argument if kind == "file" else None,
                skip_reason=(argument or "") if kind == "no-run" else None,
            )
        )
    return blocks


class _Snapshot:
    """Stands in for syrupy's ``snapshot`` fixture so a snapshot test's body runs:
    it equals the first value compared with it, and every later one must match."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, **_: object) -> _Snapshot:
        return self

    def __eq__(self, other: object) -> bool:
        self.values.append(other)
        return True

    __hash__ = None  # type: ignore[assignment]


#: Fixtures a docs example's test function may take.
_FIXTURES = {"snapshot": _Snapshot}


def _arguments(function: object) -> dict[str, object] | None:
    """The fixtures to call ``function`` with, or None if it needs others."""
    try:
        parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if any(p.name not in _FIXTURES for p in parameters if p.default is p.empty):
        return None
    return {p.name: _FIXTURES[p.name]() for p in parameters if p.name in _FIXTURES}


def run_blocks(blocks: list[Block], workdir: Path) -> int:
    """Run (or write) each block in ``workdir``; return how many ran."""
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    for block in blocks:
        shown = block.path.relative_to(REPO) if block.path.is_relative_to(REPO) else block.path
        where = f"{shown}:{block.line}"
        if block.skip_reason is not None:
            assert block.skip_reason, f"{where}: <!-- no-run: --> needs a reason"
            continue
        if block.write_to is not None:
            target = workdir / block.write_to
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code)
            if str(target.parent) not in sys.path:
                sys.path.insert(0, str(target.parent))
            sys.modules.pop(target.stem, None)
            importlib.invalidate_caches()
            continue
        before = set(namespace)
        try:
            exec(compile(block.code, where, "exec"), namespace)
            for name in sorted(set(namespace) - before):
                value = namespace[name]
                arguments = _arguments(value) if name.startswith("test_") else None
                if callable(value) and arguments is not None:
                    value(**arguments)
        except Exception as error:
            raise AssertionError(f"the example at {where} failed: {error!r}") from error
        ran += 1
    return ran


@pytest.mark.parametrize(
    "doc", [d for d in doc_files() if blocks_of(d)], ids=lambda p: str(p.relative_to(REPO))
)
def test_python_examples_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = blocks_of(doc)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDK_VALIDATION", "false")
    monkeypatch.setattr(sys, "path", list(sys.path))
    modules = set(sys.modules)
    try:
        ran = run_blocks(blocks, tmp_path)
    finally:
        for name in set(sys.modules) - modules:
            module = sys.modules.get(name)
            if str(tmp_path) in str(getattr(module, "__file__", "") or ""):
                del sys.modules[name]
    assert ran + sum(b.skip_reason is not None or b.write_to is not None for b in blocks) == len(
        blocks
    )


def test_markers_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- file: pkg/mod.py -->\n```python\nVALUE = 41\n```\n\n"
        "```python\nfrom mod import VALUE\nresult = VALUE + 1\n"
        "def test_it():\n    assert result == 42\n```\n\n"
        "<!-- no-run: needs a real AWS account -->\n```python\nraise SystemExit\n```\n"
    )
    blocks = blocks_of(page)
    assert [(b.line, b.write_to, b.skip_reason) for b in blocks] == [
        (2, "pkg/mod.py", None),
        (6, None, None),
        (14, None, "needs a real AWS account"),
    ]
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert run_blocks(blocks, tmp_path) == 1
    assert (tmp_path / "pkg" / "mod.py").read_text() == "VALUE = 41\n"
    sys.modules.pop("mod", None)


def test_a_failing_example_names_its_file_and_line(tmp_path: Path) -> None:
    broken = [Block(REPO / "README.md", 7, "def test_x():\n    assert 1 == 2\n")]
    with pytest.raises(AssertionError, match=r"the example at README\.md:7 failed"):
        run_blocks(broken, tmp_path)
    assert os.path.isdir(tmp_path)


def test_the_readme_puts_its_handler_directories_on_pytests_path() -> None:
    """The harness puts a ``file:`` block's directory on ``sys.path``; a user's
    pytest only does so when told to, so the README's ``pyproject.toml`` snippet
    must name every such directory (a user's copy of the handler test failed
    with ``No module named 'orders'`` before the snippet was there)."""
    readme = REPO / "README.md"
    written = {str(Path(b.write_to).parent) for b in blocks_of(readme) if b.write_to}
    snippets = [
        tomllib.loads(toml)
        for toml in re.findall(r"```toml\n(.*?)```", readme.read_text(), re.DOTALL)
    ]
    pythonpath = {
        entry
        for snippet in snippets
        for entry in snippet.get("tool", {})
        .get("pytest", {})
        .get("ini_options", {})
        .get("pythonpath", [])
    }
    assert written == {"handlers"}
    assert written <= pythonpath, (
        f"README's pytest pythonpath {sorted(pythonpath)} lacks {sorted(written - pythonpath)}"
    )
