"""stream_runtime: route DynamoDB stream records to handlers, report failures in order.

Standard library only, so the Lambda asset stays tiny and cold starts fast.

- :class:`StreamRouter` dispatches records and builds the partial-batch response.
- :class:`ChangeRecord` is what a route receives; its images decode lazily.
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
from .logs import get_logger
from .records import ChangeRecord, UnidentifiableRecordError
from .router import NoRouteError, StreamRouter

__all__ = [
    "AttributeDecodeError",
    "ChangeRecord",
    "Image",
    "NoRouteError",
    "StreamRouter",
    "UnidentifiableRecordError",
    "UnknownAttributeTypeError",
    "decode_attribute",
    "decode_image",
    "get_logger",
]
