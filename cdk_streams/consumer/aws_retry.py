"""Transient AWS errors: which they are, and retrying them with backoff and jitter.

A consumer runs for days; throttling, a 5xx answer, a refused or reset
connection and a timeout are all expected now and then, and all pass.
:class:`AwsRetry` retries such a call with exponential backoff and full jitter
until ``give_up_after`` seconds have passed since the first failure, then
raises :class:`AwsUnreachableError`. Every other error (access denied, a
missing table, a failed condition) is raised at once: retrying cannot fix it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from ..streams.aws_errors import error_code

log = logging.getLogger("cdk_streams.consumer")

T = TypeVar("T")

#: Error codes AWS uses for "slow down" and "try again".
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",  # DynamoDB Streams' GetRecords throttle
        "RequestThrottled",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


class AwsUnreachableError(RuntimeError):
    """AWS (or the emulator) could not be reached, or kept refusing, for longer than allowed."""


class RetryCancelled(Exception):
    """Retrying stopped because the caller is stopping (``cancelled()`` turned True)."""


def is_transient(error: BaseException) -> bool:
    """True for errors that pass by themselves: throttling, 5xx, connection errors, timeouts."""
    if isinstance(error, ConnectionError | HTTPClientError):
        return True  # refused, reset, DNS, connect and read timeouts
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_code(error) in TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return False


class AwsRetry:
    """Calls AWS, retrying transient errors for up to ``give_up_after`` seconds.

    :param give_up_after: seconds of failing calls before giving up; 0 gives
        up at the first transient error. @default 60.0 (outages of a minute
        pass unnoticed).
    :param base_delay: the first backoff ceiling in seconds, doubled per
        attempt. @default 0.1.
    :param max_delay: the largest backoff ceiling. @default 5.0.
    :param clock: monotonic seconds. @default time.monotonic.
    :param sleep: waits between attempts; tests pass a fake. @default time.sleep.
    :param jitter: picks the wait in [0, ceiling]. @default random.uniform.
    :param cancelled: checked after each wait: True ends the retries with
        :class:`RetryCancelled`. @default - never.
    """

    def __init__(
        self,
        *,
        give_up_after: float = 60.0,
        base_delay: float = 0.1,
        max_delay: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        if give_up_after < 0:
            raise ValueError(f"give_up_after must be 0 or more seconds, got {give_up_after}")
        self.give_up_after = give_up_after
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._cancelled = cancelled
        #: Transient errors retried so far.
        self.retried = 0

    def call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)``, retried on transient errors.

        :param what: names the call in log lines and the final error.
        :raises AwsUnreachableError: still failing after ``give_up_after`` seconds.
        """
        started: float | None = None
        attempt = 0
        while True:
            try:
                return function(*args, **kwargs)
            except Exception as error:
                if not is_transient(error):
                    raise
                now = self._clock()
                if started is None:
                    started = now
                waited = now - started
                if waited >= self.give_up_after:
                    raise AwsUnreachableError(
                        f"{what} failed for {waited:.0f} s ({type(error).__name__}: {error}); "
                        "check the network, the endpoint and the service's health"
                    ) from error
                ceiling = min(self.max_delay, self.base_delay * 2**attempt)
                delay = min(self._jitter(0.0, ceiling), self.give_up_after - waited)
                attempt += 1
                self.retried += 1
                if attempt == 1 or attempt % 10 == 0:
                    left = self.give_up_after - waited
                    log.warning("%s failed (%s); retrying for up to %.0f s", what, error, left)
                self._sleep(max(0.0, delay))
                if self._cancelled():
                    raise RetryCancelled(what) from error
