"""The idempotency guard's store: the contract a store keeps, and one in memory.

:class:`IdempotencyStore` is what :class:`~stream_runtime.idempotency.IdempotencyGuard`
asks; :class:`~stream_runtime.idempotency_dynamodb.DynamoDBIdempotencyStore`
keeps the claims in DynamoDB, :class:`InMemoryIdempotencyStore` in a dict.
"""

from __future__ import annotations

from typing import Any, Protocol

#: A record's claim states.
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


class IdempotencyError(RuntimeError):
    """The idempotency guard could not decide whether a record may run.

    Raised in the record's turn, so the record fails (and every later one of
    the batch, in order) and Lambda retries it.
    """


class IdempotencyStoreError(IdempotencyError):
    """The store (the DynamoDB table) is missing, unreachable or refused the request."""


class Claim:
    """What a store answers when a claim is refused: who holds the key, and until when."""

    __slots__ = ("lease_expires", "status")

    def __init__(self, status: str, lease_expires: float | None = None) -> None:
        self.status = status
        self.lease_expires = lease_expires

    def __repr__(self) -> str:
        return f"Claim(status={self.status!r}, lease_expires={self.lease_expires!r})"


class IdempotencyStore(Protocol):
    """Where the guard keeps its claims. Every call is one conditional write or delete.

    Times are epoch seconds. A key is *free* when the store has no entry for
    it, when its entry's ``expires_at`` is past (TTL deletion may lag), or
    when it is ``IN_PROGRESS`` with a lease that is past.
    """

    def claim(
        self, key: str, *, token: str, now: float, lease_expires: float, expires_at: int
    ) -> Claim | None:
        """Mark ``key`` IN_PROGRESS for ``token`` if the key is free; return None then.

        Otherwise change nothing and return the current holder's :class:`Claim`.
        """
        ...

    def complete(self, key: str, *, token: str, expires_at: int) -> None:
        """Mark ``key`` COMPLETED until ``expires_at``."""
        ...

    def release(self, key: str, *, token: str) -> None:
        """Delete ``key``'s entry if ``token`` still holds it (a failed route's claim)."""
        ...


class InMemoryIdempotencyStore:
    """An :class:`IdempotencyStore` in a dict: for tests, and one-process consumers."""

    def __init__(self) -> None:
        #: key -> {"status", "token", "lease_expires", "expires_at"}
        self.items: dict[str, dict[str, Any]] = {}

    def claim(
        self, key: str, *, token: str, now: float, lease_expires: float, expires_at: int
    ) -> Claim | None:
        item = self.items.get(key)
        if item is not None and item["expires_at"] >= now:
            if item["status"] == COMPLETED:
                return Claim(COMPLETED)
            if item["lease_expires"] >= now:
                return Claim(IN_PROGRESS, item["lease_expires"])
        self.items[key] = {
            "status": IN_PROGRESS,
            "token": token,
            "lease_expires": lease_expires,
            "expires_at": expires_at,
        }
        return None

    def complete(self, key: str, *, token: str, expires_at: int) -> None:
        self.items[key] = {
            "status": COMPLETED,
            "token": token,
            "lease_expires": None,
            "expires_at": expires_at,
        }

    def release(self, key: str, *, token: str) -> None:
        item = self.items.get(key)
        if item is not None and item["token"] == token and item["status"] == IN_PROGRESS:
            del self.items[key]


__all__ = [
    "COMPLETED",
    "IN_PROGRESS",
    "Claim",
    "IdempotencyError",
    "IdempotencyStore",
    "IdempotencyStoreError",
    "InMemoryIdempotencyStore",
]
