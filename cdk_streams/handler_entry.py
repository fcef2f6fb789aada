"""Is ``"module.function"`` a handler Lambda will find? Answered without running user code.

The module is parsed with :mod:`ast`, never imported: importing would run the
user's module-level code (clients, secrets, network) at synth. A name counts as
defined when the module binds it at module level: ``def handler``, ``async def
handler``, ``handler = router.handler``, ``handler: Callable = ...``, ``from x
import handler``, or any of those inside a module-level ``if``/``try``/``with``.
A ``from x import *`` is not followed: name the handler explicitly.

Standard library only, like :mod:`.handler_code`: the CLI may use it without jsii.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from .closest_name import closest
from .handler_spec import HandlerSpecError, parse_handler


@dataclass(frozen=True)
class HandlerProblem:
    """Why a handler would fail in Lambda: the prop, what is allowed and the value given.

    These are the parts of the StreamsValidationError the construct raises.
    """

    prop: str
    allowed: str
    got: str


def module_file(directory: Path, module: str) -> Path | None:
    """The file Lambda's Python runtime would import for ``module``, or None."""
    relative = module.replace(".", "/")
    for candidate in (directory / f"{relative}.py", directory / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def check_handler(directory: Path, handler: object) -> HandlerProblem | None:
    """None when ``handler`` (``module.function`` or ``module:function``) names a
    function defined in ``directory``; else the problem."""
    try:
        spec = parse_handler(handler if isinstance(handler, str) else "")
    except HandlerSpecError:
        return HandlerProblem(
            "handler", "'module.function' (or 'module:function') inside handler_dir", repr(handler)
        )
    module, name = spec.module, spec.function
    path = module_file(directory, module)
    if path is None:
        relative = module.replace(".", "/")
        return HandlerProblem(
            "handler",
            "a module in handler_dir",
            f"{handler!r} but neither {relative}.py nor {relative}/__init__.py is in {directory}",
        )
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        return HandlerProblem(
            "handler",
            "a module that is valid Python",
            f"{handler!r} but {path.name} line {error.lineno}: {error.msg}",
        )
    names = module_level_names(tree)
    if name in names:
        return None
    close = closest(name, names)
    hint = f"; did you mean {module}.{close}?" if close else ""
    return HandlerProblem(
        "handler",
        f"a function that {path.name} defines or assigns at module level "
        f"(def {name}(event, context): ... or {name} = router.handler)",
        f"{handler!r}, which {path.name} does not define{hint}",
    )


def module_level_names(tree: ast.Module) -> set[str]:
    """Every name a module binds at its top level (not inside functions or classes)."""
    names: set[str] = set()
    _collect(tree.body, names)
    return names


def _collect(body: list[ast.stmt], names: set[str]) -> None:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                _targets(target, names)
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            _targets(statement.target, names)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(statement, ast.If):
            _collect(statement.body, names)
            _collect(statement.orelse, names)
        elif isinstance(statement, (ast.Try, ast.TryStar)):
            _collect(statement.body, names)
            for handler in statement.handlers:
                _collect(handler.body, names)
            _collect(statement.orelse, names)
            _collect(statement.finalbody, names)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            _collect(statement.body, names)


def _targets(target: ast.expr, names: set[str]) -> None:
    if isinstance(target, ast.Name):
        names.add(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            _targets(element, names)
