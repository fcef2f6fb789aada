"""AWS CDK constructs for DynamoDB Streams change data capture."""

from .alarms import ALARM_NAMES, AlarmThresholds, StreamAlarms
from .dashboard import StreamDashboard, pipeline_widgets
from .pipeline import StreamPipeline
from .processor import StreamProcessor
from .table import StreamTable
from .validation import StreamsValidationError

__all__ = [
    "ALARM_NAMES",
    "AlarmThresholds",
    "StreamAlarms",
    "StreamDashboard",
    "StreamPipeline",
    "StreamProcessor",
    "StreamTable",
    "StreamsValidationError",
    "pipeline_widgets",
]
__version__ = "0.1.0"
