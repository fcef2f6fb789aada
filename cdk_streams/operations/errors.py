"""The one error an operation raises for a problem the user can fix."""

from __future__ import annotations


class OperationError(RuntimeError):
    """An operation cannot run as asked: the message says what to do (the CLI prints it alone)."""
