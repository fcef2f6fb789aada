"""stream_runtime: route DynamoDB change records to handlers, report failures in order.

Standard library only, so the Lambda asset stays tiny and cold starts fast.

- :class:`StreamRouter` dispatches records and builds the partial-batch response.
- :class:`ChangeRecord` is what a route receives; its images decode lazily.
  DynamoDB Streams records and Kinesis-wrapped ones (Kinesis Data Streams for
  DynamoDB) give the same ChangeRecord; :class:`KinesisPayloadError` fails a
  Kinesis record whose data is not a DynamoDB change.
- :class:`AttributeDecodeError` (and :class:`UnknownAttributeTypeError`) is
  raised when a malformed attribute is read.
- Tumbling windows: ``@router.on_window`` folds records into the window's
  state, ``@router.on_window_end`` gets the final state (:mod:`.windows`).
- :class:`BatchMetrics` writes one CloudWatch Embedded Metric Format line per
  batch (:mod:`.metrics`).
- Idempotent processing is opt-in: ``StreamRouter(idempotency=IdempotencyGuard())``
  from :mod:`stream_runtime.idempotency` (not imported here: it needs
  ``typing``, and its DynamoDB store needs boto3, which most handlers never load).
"""

from .attributes import (
    AttributeDecodeError,
    Image,
    UnknownAttributeTypeError,
    decode_attribute,
    decode_image,
)
from .logs import LazyLogger, get_logger
from .metrics import BatchMetrics
from .records import ChangeRecord, KinesisPayloadError, UnidentifiableRecordError
from .router import NoRouteError, StreamRouter
from .windows import Window, WindowEventError, WindowStateError

__all__ = [
    "AttributeDecodeError",
    "BatchMetrics",
    "ChangeRecord",
    "Image",
    "KinesisPayloadError",
    "LazyLogger",
    "NoRouteError",
    "StreamRouter",
    "UnidentifiableRecordError",
    "UnknownAttributeTypeError",
    "Window",
    "WindowEventError",
    "WindowStateError",
    "decode_attribute",
    "decode_image",
    "get_logger",
]
