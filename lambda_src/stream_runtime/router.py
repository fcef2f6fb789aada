"""StreamRouter: dispatch INSERT, MODIFY and REMOVE records; ordered partial failures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("stream_runtime")

Route = Callable[[dict], Any]


class StreamRouter:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def _register(self, event_name: str) -> Callable[[Route], Route]:
        def decorator(fn: Route) -> Route:
            self._routes[event_name] = fn
            return fn

        return decorator

    def on_insert(self, fn: Route) -> Route:
        return self._register("INSERT")(fn)

    def on_modify(self, fn: Route) -> Route:
        return self._register("MODIFY")(fn)

    def on_remove(self, fn: Route) -> Route:
        return self._register("REMOVE")(fn)

    def handler(self, event: dict, context: Any = None) -> dict:
        records = event.get("Records") or []
        for index, record in enumerate(records):
            try:
                route = self._routes[record["eventName"]]
                route(record)
            except Exception:
                logger.exception("record %s failed", record.get("eventID"))
                return {
                    "batchItemFailures": [
                        {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[index:]
                    ]
                }
        return {"batchItemFailures": []}
