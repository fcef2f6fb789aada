"""Where a command's lines go: its results to stdout, progress and logs to stderr.

Each line is flushed at once, so that a user watching a long run, or piping
the results on, sees every line as it happens rather than when a buffer fills.
"""

from __future__ import annotations

import sys


def out(line: str) -> None:
    """A result line, on stdout."""
    print(line, flush=True)


def progress(message: str) -> None:
    """A progress or log line, on stderr, so that stdout stays the command's result."""
    print(message, file=sys.stderr, flush=True)
