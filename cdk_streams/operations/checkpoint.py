"""Where a backfill has got to, per scan segment, in a JSON file.

After each delivered scan page the segment's ``LastEvaluatedKey`` (the next
page's ``ExclusiveStartKey``), its item count and its failed items are
written, atomically (a temporary file renamed over the old one), so a run
killed at any moment resumes at the last page it finished: at most one page
per segment is delivered twice, and handlers are idempotent on the item's keys.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import OperationError


@dataclass
class SegmentState:
    """One scan segment's progress."""

    #: The next page's ExclusiveStartKey; None before the first page.
    start_key: dict[str, Any] | None = None
    #: Items scanned and delivered so far.
    items: int = 0
    done: bool = False
    #: Items given up on: ``{"keys": {...}, "error": "..."}``.
    failed: list[dict[str, Any]] = field(default_factory=list)


class Checkpoints:
    """The checkpoint file of one backfill of one table.

    :param path: the file.
    :param table: the table's name (checked on resume).
    :param total_segments: the scan's TotalSegments (checked on resume).
    :param source: what the items are read from: ``scan`` or the export's
        ``s3://`` location (checked on resume). @default "scan".
    """

    def __init__(
        self, path: str | Path, *, table: str, total_segments: int, source: str = "scan"
    ) -> None:
        self.path = Path(path)
        self.table = table
        self.source = source
        self.total_segments = total_segments
        self.segments: dict[int, SegmentState] = {n: SegmentState() for n in range(total_segments)}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path) -> Checkpoints:
        """Read a checkpoint file; :class:`OperationError` when missing or garbled."""
        file = Path(path)
        try:
            data = json.loads(file.read_text())
            out = cls(
                file,
                table=data["table"],
                total_segments=int(data["totalSegments"]),
                source=data.get("source", "scan"),
            )
            for key, state in data["segments"].items():
                out.segments[int(key)] = SegmentState(**state)
        except FileNotFoundError:
            raise OperationError(
                f"--resume: no checkpoint at {file}; run without --resume to start"
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise OperationError(
                f"--resume: {file} is not a backfill checkpoint ({error}); delete it to start over"
            ) from error
        return out

    @property
    def finished(self) -> bool:
        return all(state.done for state in self.segments.values())

    @property
    def items(self) -> int:
        return sum(state.items for state in self.segments.values())

    @property
    def failed_items(self) -> int:
        return sum(len(state.failed) for state in self.segments.values())

    def save(self, segment: int | None = None, state: SegmentState | None = None) -> None:
        """Record one segment's state (or none) and write the whole file atomically."""
        with self._lock:
            if segment is not None and state is not None:
                self.segments[segment] = state
            data = {
                "table": self.table,
                "totalSegments": self.total_segments,
                "source": self.source,
                "segments": {str(n): asdict(s) for n, s in sorted(self.segments.items())},
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(data, indent=1, default=str))
            os.replace(temporary, self.path)
