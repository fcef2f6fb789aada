"""The ``context`` object a Lambda-style handler receives when it runs outside Lambda.

It has the attributes of Lambda's Python context object, so handlers (and the
bundled runtime's batch log line) that read them keep working when a consumer,
``redrive`` or ``backfill`` runs them in this process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable


class LambdaContext:
    """Lambda's Python context object, for a handler run in this process.

    No deadline is enforced outside Lambda; :meth:`get_remaining_time_in_millis`
    counts down from ``timeout_ms`` so that a handler that budgets its work by
    it behaves as it would in Lambda.

    :param function_name: reported as ``function_name``.
    :param timeout_ms: the budget the remaining time counts down from.
        @default 900000 (Lambda's 15-minute maximum).
    :param request_id: ``aws_request_id``. @default - a new UUID.
    :param invoked_function_arn: @default "" (there is no function).
    :param memory_limit_in_mb: @default "0" (no limit is set).
    :param log_group_name: @default "".
    :param log_stream_name: @default "".
    :param clock: a monotonic clock in seconds. @default time.monotonic; tests
        pass a fake one.
    """

    def __init__(
        self,
        function_name: str,
        timeout_ms: int = 900_000,
        *,
        request_id: str | None = None,
        invoked_function_arn: str = "",
        memory_limit_in_mb: str = "0",
        log_group_name: str = "",
        log_stream_name: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._clock = clock
        self._deadline = clock() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )
