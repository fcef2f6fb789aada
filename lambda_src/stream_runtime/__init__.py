"""stream_runtime: route DynamoDB stream records to handlers, report failures in order.

Standard library only, so the Lambda asset stays tiny and cold starts fast.
"""

from .router import StreamRouter

__all__ = ["StreamRouter"]
