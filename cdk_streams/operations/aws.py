"""boto3 clients for the operations, pointed where the user says.

boto3 itself honours ``AWS_ENDPOINT_URL`` and ``AWS_DEFAULT_REGION``; ``AWS_REGION``
(what the Lambda runtime and most SDKs read) is honoured here too. An explicit
``endpoint_url`` or ``region`` wins over them. Against an emulator (an endpoint
is given) with no credentials configured, dummy credentials are used: an
emulator accepts any, and real AWS never sees them because the endpoint is not
AWS.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from botocore.config import Config

from ..boto_sessions import command_session
from .errors import OperationError


class AwsClients:
    """A cache of boto3 clients for one endpoint and region.

    :param endpoint_url: an AWS endpoint, e.g. ``http://localhost:4566``.
        @default - ``AWS_ENDPOINT_URL``, else AWS itself.
    :param region: @default - ``AWS_REGION``, else boto3's configuration
        (``AWS_DEFAULT_REGION``, the profile).
    :param max_attempts: boto3 retries per call. @default 4.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_attempts: int = 4,
    ) -> None:
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        session = command_session(endpoint_url=self.endpoint_url, region=region)
        if session.region_name is None:
            raise OperationError("no AWS region: pass --region or set AWS_REGION")
        self.region: str = session.region_name
        self._session = session
        self._config = Config(retries={"max_attempts": max_attempts, "mode": "standard"})
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        """The client for ``service`` (one per service, shared: boto3 clients are thread-safe)."""
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._session.client(
                    service, endpoint_url=self.endpoint_url, config=self._config
                )
                self._clients[service] = client
            return client
