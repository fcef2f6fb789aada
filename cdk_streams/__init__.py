"""AWS CDK constructs for DynamoDB Streams change data capture.

The constructs are imported lazily (PEP 562): ``import cdk_streams.testing`` or
``cdk_streams.local`` must not start jsii's Node process, which costs about
half a second and is not needed to build test events or run the local cloud.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .alarms import ALARM_NAMES, AlarmThresholds, StreamAlarms
    from .bundling import StreamHandlerCode
    from .dashboard import StreamDashboard, pipeline_widgets
    from .interfaces import IStreamAlarms, IStreamProcessor
    from .pipeline import StreamPipeline
    from .processor import StreamProcessor
    from .table import StreamTable
    from .validation import StreamsValidationError

_EXPORTS = {
    "ALARM_NAMES": "alarms",
    "AlarmThresholds": "alarms",
    "StreamAlarms": "alarms",
    "StreamHandlerCode": "bundling",
    "IStreamAlarms": "interfaces",
    "IStreamProcessor": "interfaces",
    "StreamDashboard": "dashboard",
    "pipeline_widgets": "dashboard",
    "StreamPipeline": "pipeline",
    "StreamProcessor": "processor",
    "StreamTable": "table",
    "StreamsValidationError": "validation",
}

__all__ = [
    "ALARM_NAMES",
    "AlarmThresholds",
    "IStreamAlarms",
    "IStreamProcessor",
    "StreamAlarms",
    "StreamDashboard",
    "StreamHandlerCode",
    "StreamPipeline",
    "StreamProcessor",
    "StreamTable",
    "StreamsValidationError",
    "pipeline_widgets",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cdk_streams' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
