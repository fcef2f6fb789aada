"""stream_runtime: route DynamoDB change records to handlers, report failures in order.

Standard library only, so the Lambda asset stays tiny and cold starts fast.

- :class:`StreamRouter` dispatches records and builds the partial-batch response.
- :class:`ChangeRecord` is what a route receives; its images decode lazily.
  DynamoDB Streams records and Kinesis-wrapped ones (Kinesis Data Streams for
  DynamoDB) give the same ChangeRecord; :class:`KinesisPayloadError` fails a
  Kinesis record whose data is not a DynamoDB change.
- :class:`AttributeDecodeError` (and :class:`UnknownAttributeTypeError`) is
  raised when a malformed attribute is read.
"""

from .attributes import (
    AttributeDecodeError,
    Image,
    UnknownAttributeTypeError,
    decode_attribute,
    decode_image,
)
from .logs import LazyLogger, get_logger
from .records import ChangeRecord, KinesisPayloadError, UnidentifiableRecordError
from .router import NoRouteError, StreamRouter

__all__ = [
    "AttributeDecodeError",
    "ChangeRecord",
    "Image",
    "KinesisPayloadError",
    "LazyLogger",
    "NoRouteError",
    "StreamRouter",
    "UnidentifiableRecordError",
    "UnknownAttributeTypeError",
    "decode_attribute",
    "decode_image",
    "get_logger",
]
