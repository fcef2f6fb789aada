"""Layers point one way, checked on the source.

The runtime (``lambda_src/stream_runtime``) is the floor. The stream package
(``cdk_streams.streams``) stands on it; the local cloud, the consumer, the
operations and the simulation stand on that; the CLI (``cdk_streams.cli``) is on
top. The top-level ``cdk_streams/*.py`` modules (the CDK constructs and their
helpers, with ``cdk_streams/__init__.py``) count as one group, ``constructs/base``.

Every import counts, wherever it is written: at the top of a module, inside a
function, under ``if TYPE_CHECKING:``, or as ``importlib.import_module("...")``
with a literal name. The rules:

- the runtime imports nothing from cdk_streams;
- the stream package imports, of cdk_streams, only itself (and the runtime);
- only the CLI imports the CLI;
- no two groups import each other, directly or through others.

This reads our own imports only. What a package *loads* when imported (no moto,
no CDK, which would come through a third-party import or through
``cdk_streams/__init__.py``) is checked by running it: test_streams_boundary.py,
test_operations_boundary.py and the layering test in test_consumer_faults.py.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNTIME = "runtime"
BASE = "constructs/base"
CLI = "cli"
STREAMS = "streams"


@dataclass(frozen=True, order=True)
class Import:
    """One import: the file and line it is written at, which module imports which."""

    path: str
    line: int
    source: str
    target: str


@dataclass(frozen=True)
class Tree:
    """The modules under ``cdk_streams/`` and ``lambda_src/stream_runtime/``, and their imports."""

    modules: dict[str, str]  # module name -> file, relative to the repository
    subpackages: frozenset[str]  # the directories directly under cdk_streams/
    imports: list[Import]

    def group(self, module: str) -> str | None:
        """The layer group of a module, or None when it is neither ours nor the runtime's."""
        parts = module.split(".")
        if parts[0] == "stream_runtime":
            return RUNTIME
        if parts[0] != "cdk_streams":
            return None
        if len(parts) > 1 and parts[1] in self.subpackages:
            return parts[1]
        return BASE


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[0] == "lambda_src":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _package(module: str, path: str) -> str:
    return module if path.endswith("__init__.py") else module.rpartition(".")[0]


def _relative(package: str, level: int, name: str | None) -> str:
    """What ``from <level dots><name> import ...`` names, seen from ``package``."""
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, name] if name else base)


def _literal_import(node: ast.Call) -> str | None:
    """The name in ``importlib.import_module("x")``, ``import_module("x")`` or ``__import__("x")``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _imports_of(path: str, module: str, source: str, modules: dict[str, str]) -> list[Import]:
    package = _package(module, path)
    found: list[Import] = []

    def add(node: ast.AST, target: str) -> None:
        found.append(Import(path, getattr(node, "lineno", 0), module, target))

    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            named = node.module or ""
            if node.level:
                named = _relative(package, node.level, node.module)
            for alias in node.names:
                # `from pkg import sub` imports the module pkg.sub when there is one.
                submodule = f"{named}.{alias.name}"
                add(node, submodule if submodule in modules else named)
        elif isinstance(node, ast.Call) and (literal := _literal_import(node)):
            if literal.startswith("."):
                level = len(literal) - len(literal.lstrip("."))
                literal = _relative(package, level, literal.lstrip(".") or None)
            add(node, literal)
    return found


def scan(root: Path) -> Tree:
    """Parse every .py file under ``root/cdk_streams`` and ``root/lambda_src/stream_runtime``."""
    files = sorted(
        p
        for top in (root / "cdk_streams", root / "lambda_src" / "stream_runtime")
        for p in top.rglob("*.py")
    )
    modules = {_module_name(p.relative_to(root)): p.relative_to(root).as_posix() for p in files}
    subpackages = frozenset(
        parts[1]
        for parts in (Path(path).parts for path in modules.values())
        if parts[0] == "cdk_streams" and len(parts) > 2
    )
    imports = [
        found
        for module, path in modules.items()
        for found in _imports_of(path, module, (root / path).read_text(encoding="utf-8"), modules)
    ]
    return Tree(modules, subpackages, sorted(set(imports)))


def _rule_broken(tree: Tree, imp: Import) -> str | None:
    source, target = tree.group(imp.source), tree.group(imp.target)
    if source is None or target is None:
        return None
    if source == RUNTIME and target != RUNTIME:
        return "the runtime imports nothing from cdk_streams"
    if source == STREAMS and target not in (STREAMS, RUNTIME):
        return "cdk_streams.streams imports only itself and the runtime"
    if target == CLI and source != CLI:
        return f"only cdk_streams.cli imports the CLI, and {source} stands below it"
    return None


def cycles(tree: Tree) -> list[str]:
    """The shortest cycle through each group that is in one, with the imports that make it."""
    evidence: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in tree.imports:
        source, target = tree.group(imp.source), tree.group(imp.target)
        if source is not None and target is not None and source != target:
            evidence[source, target].append(imp)
    after: dict[str, set[str]] = defaultdict(set)
    for source, target in evidence:
        after[source].add(target)

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in after[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    def shortest_cycle(start: str) -> list[str]:
        """The shortest way from ``start`` back to itself (breadth first, in name order)."""
        paths = {start: [start]}
        queue = [start]
        while queue:
            here = queue.pop(0)
            for nxt in sorted(after[here]):
                if nxt == start:
                    return [*paths[here], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[here], nxt]
                    queue.append(nxt)
        return []

    paths: list[list[str]] = []
    for start in sorted(after):
        if start not in reachable(start):
            continue
        path = shortest_cycle(start)
        turn = path.index(min(path[:-1]))  # the same cycle, from its first group by name
        path = [*path[turn:-1], *path[:turn], path[turn]]
        if path not in paths:
            paths.append(path)
    found = []
    for path in paths:
        hops = []
        for source, target in itertools.pairwise(path):
            first, *more = evidence[source, target]
            also = f" (and {len(more)} more import{'s' * (len(more) > 1)})" if more else ""
            hops.append(
                f"\n  {source} -> {target}: {first.path}:{first.line} imports {first.target}{also}"
            )
        found.append(f"import cycle: {' -> '.join(path)}{''.join(hops)}")
    return found


def broken_rules(tree: Tree) -> list[str]:
    """Every import that breaks a rule, as ``<file>:<line> imports <module>: <rule>``."""
    found = []
    for imp in tree.imports:
        rule = _rule_broken(tree, imp)
        if rule is not None:
            found.append(f"{imp.path}:{imp.line} imports {imp.target}: {rule}")
    return found


def problems(tree: Tree) -> list[str]:
    """The broken rules, then the cycles."""
    return broken_rules(tree) + cycles(tree)


# -- the repository ---------------------------------------------------------------------


def test_layers_point_one_way_and_no_groups_import_each_other() -> None:
    tree = scan(REPO)
    groups = {tree.group(module) for module in tree.modules}
    assert groups == {
        RUNTIME,
        BASE,
        STREAMS,
        "local",
        "consumer",
        "operations",
        "simulation",
        CLI,
    }
    assert {"stream_runtime.router", "cdk_streams.cli.plan", "cdk_streams"} <= set(tree.modules)
    assert problems(tree) == [], "\n".join(problems(tree))


# -- the checker itself, on a made-up tree ----------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


CLEAN = {
    "lambda_src/stream_runtime/__init__.py": "",
    "lambda_src/stream_runtime/records.py": "import json\n",
    "cdk_streams/__init__.py": "",
    "cdk_streams/handler_code.py": "from stream_runtime import records\n",
    "cdk_streams/streams/__init__.py": "",
    "cdk_streams/streams/delivery.py": "from . import settings\nfrom stream_runtime.records import x\n",
    "cdk_streams/streams/settings.py": "",
    "cdk_streams/local/__init__.py": "",
    "cdk_streams/local/cloud.py": "from ..handler_code import y\nfrom ..streams import delivery\n",
    "cdk_streams/cli/__init__.py": "from . import plan\n",
    "cdk_streams/cli/plan.py": "from ..local.cloud import z\nimport cdk_streams.streams.settings\n",
}


def test_a_tree_that_keeps_the_rules_passes(tmp_path: Path) -> None:
    _write(tmp_path, CLEAN)
    tree = scan(tmp_path)
    assert problems(tree) == []
    assert Import("cdk_streams/cli/__init__.py", 1, "cdk_streams.cli", "cdk_streams.cli.plan") in (
        tree.imports
    )


def test_every_upward_import_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **CLEAN,
            "lambda_src/stream_runtime/records.py": "import json\nimport cdk_streams.streams\n",
            "cdk_streams/streams/delivery.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from ..local.cloud import Cloud\n"
                "def run():\n"
                "    from cdk_streams import handler_code\n"
            ),
            "cdk_streams/local/cloud.py": (
                "import importlib\n"
                "def main():\n"
                "    return importlib.import_module('cdk_streams.cli.plan')\n"
            ),
            "cdk_streams/handler_code.py": "from cdk_streams import cli\n",
        },
    )
    assert broken_rules(scan(tmp_path)) == [
        "cdk_streams/handler_code.py:1 imports cdk_streams.cli: "
        "only cdk_streams.cli imports the CLI, and constructs/base stands below it",
        "cdk_streams/local/cloud.py:3 imports cdk_streams.cli.plan: "
        "only cdk_streams.cli imports the CLI, and local stands below it",
        "cdk_streams/streams/delivery.py:3 imports cdk_streams.local.cloud: "
        "cdk_streams.streams imports only itself and the runtime",
        "cdk_streams/streams/delivery.py:5 imports cdk_streams.handler_code: "
        "cdk_streams.streams imports only itself and the runtime",
        "lambda_src/stream_runtime/records.py:2 imports cdk_streams.streams: "
        "the runtime imports nothing from cdk_streams",
    ]


def test_a_cycle_between_groups_is_named_hop_by_hop(tmp_path: Path) -> None:
    # The cycle cdk_streams/app_mappings.py made before it moved into the CLI.
    _write(tmp_path, {**CLEAN, "cdk_streams/app_mappings.py": "from .local.cloud import Cloud\n"})
    tree = scan(tmp_path)
    assert broken_rules(tree) == []
    assert problems(tree) == [
        "import cycle: constructs/base -> local -> constructs/base"
        "\n  constructs/base -> local: cdk_streams/app_mappings.py:1 imports cdk_streams.local.cloud"
        "\n  local -> constructs/base: cdk_streams/local/cloud.py:1 imports cdk_streams.handler_code",
    ]


def test_each_cycle_is_named_once_from_its_first_group(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **CLEAN,
            "cdk_streams/app_mappings.py": "from .local.cloud import Cloud\n",
            "cdk_streams/streams/settings.py": "def f():\n    from ..local import cloud\n",
            "cdk_streams/local/cloud.py": (
                "from ..handler_code import y\nfrom ..streams import delivery\n"
                "from cdk_streams.handler_code import z\n"
            ),
        },
    )
    assert cycles(scan(tmp_path)) == [
        "import cycle: constructs/base -> local -> constructs/base"
        "\n  constructs/base -> local: cdk_streams/app_mappings.py:1 imports cdk_streams.local.cloud"
        "\n  local -> constructs/base: cdk_streams/local/cloud.py:1 imports cdk_streams.handler_code"
        " (and 1 more import)",
        "import cycle: local -> streams -> local"
        "\n  local -> streams: cdk_streams/local/cloud.py:2 imports cdk_streams.streams.delivery"
        "\n  streams -> local: cdk_streams/streams/settings.py:2 imports cdk_streams.local.cloud",
    ]
