"""The name a mistyped one most likely meant, for "did you mean ...?" in error messages.

Every message that suggests a name (a construct's keyword argument, a handler's
function) picks it here, so they agree on what counts as close.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, names: Iterable[str]) -> str | None:
    """The one of ``names`` closest to ``name`` (difflib's similarity of at least
    0.6, its default), or None when none is that close."""
    matches = difflib.get_close_matches(name, list(names), n=1)
    return matches[0] if matches else None
