"""The bridge to the handler runtime (``stream_runtime``) and to Lambda-style handlers.

The runtime lives in the bundled Lambda code (``lambda_src/`` in a checkout,
``cdk_streams/_lambda_src`` in a wheel), not in the ``cdk_streams`` package, so
that the Lambda asset stays standard-library only. A custom consumer runs the
same runtime in-process: :func:`ensure_runtime_importable` puts the bundled
code directory on ``sys.path`` when ``stream_runtime`` cannot be imported yet.

The lookup is :func:`cdk_streams.handler_code.bundled_code_dir`, which needs
no aws-cdk-lib: a consumer has no use for the CDK or jsii's Node process.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..closest_name import closest
from ..handler_code import RUNTIME_PACKAGE, bundled_code_dir
from ..handler_spec import HandlerSpecError, parse_handler
from ..streams.lambda_context import LambdaContext

#: A Lambda-style handler: ``handler(event, context)``.
LambdaHandler = Callable[[dict[str, Any], Any], Any]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _add_bundled_dir() -> None:
    code_dir = str(bundled_code_dir())
    if code_dir not in sys.path:
        # Appended, not prepended: a stream_runtime (or a handler module) the
        # application ships itself must win over the bundled copy.
        sys.path.append(code_dir)
        importlib.invalidate_caches()


def ensure_runtime_importable() -> None:
    """Make ``import stream_runtime`` work, adding the bundled code directory only if needed."""
    if not _importable(RUNTIME_PACKAGE):
        _add_bundled_dir()


def change_record_class() -> type:
    """The runtime's :class:`stream_runtime.ChangeRecord` (importing the runtime if needed)."""
    ensure_runtime_importable()
    from stream_runtime import ChangeRecord

    return ChangeRecord


def _import_hint(module_name: str, error: ImportError, handler_dir: Path | None) -> str:
    """What to check when importing the handler's module failed."""
    parts = module_name.split(".")
    own = {".".join(parts[: i + 1]) for i in range(len(parts))}
    if not isinstance(error, ModuleNotFoundError):
        return "the module was found, but an import inside it failed"
    if error.name and error.name not in own:
        return (
            f"the module was found, but it imports {error.name!r}, which is not installed "
            "or not on sys.path"
        )
    if handler_dir is None:
        return (
            "pass --handler-dir DIR, run from the directory that holds it, or put it on PYTHONPATH"
        )
    path = Path(*parts)
    return (
        f"the handler directory {handler_dir} has no {path}.py and no package "
        f"{path}{os.sep} (with __init__.py); check the module name and the directory"
    )


def load_handler(spec: str, *, handler_dir: str | Path | None = None) -> LambdaHandler:
    """Import a handler named ``module.function``, as Lambda names it (``module:function`` too).

    ``process_order_changes.handler`` and ``process_order_changes:handler``
    name the same function; a dotted module path works with both
    (``app.handlers.orders.handle``). The module is looked up on ``sys.path``,
    then among the bundled handlers, so the sample loads with no set-up.

    :param handler_dir: the directory the caller put first on ``sys.path``
        for the handler (the CLI's ``--handler-dir``); only named in the error
        message, so that it says where the module was looked for. @default -
        none: the message points to the working directory and PYTHONPATH.
    :raises HandlerSpecError: the spec is malformed, the module does not
        import, or the attribute is missing or not callable.
    """
    parsed = parse_handler(spec)
    module_name, function_name = parsed.module, parsed.function
    ensure_runtime_importable()
    top = module_name.split(".")[0]
    if not _importable(top) and (bundled_code_dir() / f"{top}.py").is_file():
        _add_bundled_dir()
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        hint = _import_hint(module_name, error, None if handler_dir is None else Path(handler_dir))
        raise HandlerSpecError(
            f"cannot import module {module_name!r} of handler {spec!r}: {error}; {hint}"
        ) from error
    function = getattr(module, function_name, None)
    if function is None:
        defined = [name for name, value in vars(module).items() if callable(value)]
        close = closest(function_name, defined)
        hint = f"; did you mean {module_name}.{close}?" if close else ""
        raise HandlerSpecError(
            f"module {module_name!r} ({getattr(module, '__file__', '?')}) has no attribute "
            f"{function_name!r} (handler {spec!r}){hint}"
        )
    if not callable(function):
        raise HandlerSpecError(
            f"{spec!r} is a {type(function).__name__}, not a function taking (event, context)"
        )
    return function


class ConsumerContext(LambdaContext):
    """What a Lambda-style handler receives as ``context`` when a consumer runs it.

    :param function_name: reported as ``function_name``; the consumer passes
        its worker id.
    :param timeout_ms: the budget the remaining time counts down from.
        @default 900000 (Lambda's 15-minute maximum).
    """
