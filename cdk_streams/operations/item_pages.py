"""Where a backfill's items come from, page by page, resumable: a parallel scan of the
table, or a DynamoDB export to S3 (``ExportTableToPointInTime``, DynamoDB JSON).

Both split the items into segments and hand out a segment's pages from a
position that a checkpoint can store (a JSON value, None at the start). An
export reads no table capacity: a table created by ``StreamTable`` has
point-in-time recovery on, so it can be exported at any time.
"""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any, Protocol

from .errors import OperationError

#: A page of items (as boto3's Scan returns them) and the position after it (None: the end).
Page = tuple[list[dict[str, Any]], Any]


class ItemPages(Protocol):
    """Items split into segments, read page by page."""

    @property
    def segments(self) -> int: ...

    def page(self, segment: int, position: Any, limit: int) -> Page:
        """Up to ``limit`` items of ``segment`` from ``position``."""
        ...


class ScanPages:
    """A parallel Scan: ``Segment`` / ``TotalSegments``, ``ExclusiveStartKey`` as position."""

    def __init__(self, dynamodb: Any, table_name: str, segments: int) -> None:
        self._dynamodb = dynamodb
        self.table_name = table_name
        self.segments = segments

    def page(self, segment: int, position: Any, limit: int) -> Page:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Segment": segment,
            "TotalSegments": self.segments,
            "Limit": limit,
        }
        if position is not None:
            kwargs["ExclusiveStartKey"] = position
        answer = self._dynamodb.scan(**kwargs)
        return answer.get("Items", []), answer.get("LastEvaluatedKey")


def export_location(location: str) -> tuple[str, str]:
    """The bucket and prefix of an export's ``s3://bucket/prefix``.

    :raises OperationError: ``location`` is not an S3 URL.
    """
    if not location.startswith("s3://"):
        raise OperationError(f"--from-export must be s3://bucket/prefix, got {location!r}")
    bucket, _, prefix = location[len("s3://") :].partition("/")
    return bucket, prefix


class ExportPages:
    """The data files of a DynamoDB export in DynamoDB JSON: one segment per file.

    :param s3: a boto3 ``s3`` client.
    :param location: ``s3://bucket/prefix`` of the export (the ``S3Prefix`` it was
        written under, or its ``AWSDynamoDB/<export id>/`` directory).

    The position is the number of lines (items) of the file already handed out.
    """

    def __init__(self, s3: Any, location: str) -> None:
        self.bucket, self.prefix = export_location(location)
        self._s3 = s3
        keys: list[str] = []
        paginator = s3.get_paginator("list_objects_v2")
        for listing in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys += [
                o["Key"]
                for o in listing.get("Contents", [])
                if "/data/" in o["Key"] and o["Key"].endswith((".json.gz", ".gz"))
            ]
        if not keys:
            raise OperationError(
                f"--from-export {location}: no export data files (AWSDynamoDB/<id>/data/*.gz) "
                "there; export the table in DYNAMODB_JSON format and pass its S3 prefix"
            )
        self.keys = sorted(keys)
        self.segments = len(self.keys)
        self._lines: dict[int, list[bytes]] = {}
        self._lock = threading.Lock()

    def _file(self, segment: int) -> list[bytes]:
        with self._lock:
            lines = self._lines.get(segment)
        if lines is None:
            body = self._s3.get_object(Bucket=self.bucket, Key=self.keys[segment])["Body"].read()
            lines = [line for line in gzip.decompress(body).splitlines() if line.strip()]
            with self._lock:
                self._lines[segment] = lines
        return lines

    def page(self, segment: int, position: Any, limit: int) -> Page:
        lines = self._file(segment)
        start = int((position or {}).get("line", 0))
        chunk = lines[start : start + limit]
        items = [json.loads(line)["Item"] for line in chunk]
        end = start + len(chunk)
        if end >= len(lines):
            with self._lock:
                self._lines.pop(segment, None)
            return items, None
        return items, {"line": end}
