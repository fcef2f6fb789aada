"""The handler string: which function in which module handles the events.

Lambda's own form is ``module.function`` (``orders.handler``, or
``pkg.orders.handler`` for a module in a package); ``module:function`` (the
entry-point form many Python tools use) means the same thing. Every place that
reads a handler string parses it here, so both forms work everywhere and the
error is the same everywhere.

Standard library only: the CLI and the consumer use it without starting jsii.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_MODULE = re.compile(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*\Z")
_FUNCTION = re.compile(rf"{_IDENTIFIER}\Z")


class HandlerSpecError(ValueError):
    """A handler string that names no module and function."""


@dataclass(frozen=True)
class HandlerSpec:
    """A parsed handler string."""

    #: The dotted module name, e.g. ``orders`` or ``pkg.orders``.
    module: str
    #: The function's name inside the module.
    function: str

    @property
    def lambda_form(self) -> str:
        """``module.function``, the form Lambda's ``Handler`` setting takes."""
        return f"{self.module}.{self.function}"

    @property
    def module_path(self) -> str:
        """The module's file path without ``.py``, relative to the code directory."""
        return self.module.replace(".", "/")

    def __str__(self) -> str:
        return self.lambda_form


def parse_handler(spec: str) -> HandlerSpec:
    """Parse ``module.function`` or ``module:function``.

    :raises HandlerSpecError: the string is not one of the two forms; the
        message gives the value and an example.
    """
    text = spec.strip() if isinstance(spec, str) else ""
    if ":" in text:
        module, _, function = text.partition(":")
    else:
        module, _, function = text.rpartition(".")
    if not (_MODULE.match(module) and _FUNCTION.match(function)):
        raise HandlerSpecError(
            "handler must be module.function (or module:function), e.g. orders.handler; "
            f"got {spec!r}"
        )
    return HandlerSpec(module, function)
