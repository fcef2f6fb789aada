"""AWS CDK constructs for DynamoDB Streams change data capture."""

from .pipeline import StreamPipeline
from .processor import StreamProcessor
from .table import StreamTable
from .validation import StreamsValidationError

__all__ = ["StreamPipeline", "StreamProcessor", "StreamTable", "StreamsValidationError"]
__version__ = "0.1.0"
