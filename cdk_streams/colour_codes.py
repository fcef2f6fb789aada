"""Terminal colour codes in a tool's output, which some tools (pip with
``FORCE_COLOR``, the CDK CLI) write even into a pipe.

Standard library only: the CLI's error lines and the requirement installs both
read other tools' output through this.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_colour(text: str) -> str:
    """``text`` without ANSI colour and style codes."""
    return _ANSI.sub("", text)


__all__ = ["strip_colour"]
