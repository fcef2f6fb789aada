"""DynamoDBIdempotencyStore: the idempotency guard's claims in a DynamoDB table.

The table has a string partition key ``id`` and TTL on ``expiration``
(``StreamProcessor(idempotency=True)`` creates it so). Each item is one
record's claim: ``status`` (``IN_PROGRESS`` or ``COMPLETED``), the holder's
``token``, ``lease_expires`` and ``expiration`` (epoch seconds). TTL deletes
an item some time after ``expiration`` (up to days later), so every condition
also treats an item past ``expiration`` as gone.

boto3 is the one the Lambda Python runtime provides, imported when the store
first talks to DynamoDB: it is never bundled, and a handler without a guard
never pays its ~150 ms import.
"""

from __future__ import annotations

from .idempotency_store import COMPLETED, IN_PROGRESS, Claim, IdempotencyStoreError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing import Any

#: The table's partition key and TTL attribute.
KEY_ATTRIBUTE = "id"
TTL_ATTRIBUTE = "expiration"

_FREE = (
    "attribute_not_exists(#id) OR #expiration < :now OR (#status = :in_progress AND #lease < :now)"
)


class DynamoDBIdempotencyStore:
    """An :class:`~stream_runtime.idempotency_store.IdempotencyStore` on a DynamoDB table.

    :param table_name: the table.
    :param client: a boto3 DynamoDB client. @default one created on first use,
        with short timeouts and two attempts, so that an unreachable endpoint
        fails the record in seconds, not minutes.
    """

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        client = self._client
        if client is None:
            import boto3
            from botocore.config import Config

            client = self._client = boto3.client(
                "dynamodb",
                config=Config(
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"max_attempts": 2, "mode": "standard"},
                ),
            )
        return client

    def _fail(self, action: str, exc: Exception) -> IdempotencyStoreError:
        code = _code(exc)
        if code == "ResourceNotFoundException":
            problem = (
                f"the idempotency table {self.table_name!r} does not exist; create it "
                "(StreamProcessor(idempotency=True) does) or fix $IDEMPOTENCY_TABLE_NAME"
            )
        elif code in ("AccessDeniedException", "UnrecognizedClientException"):
            problem = (
                f"no permission to use the idempotency table {self.table_name!r} ({code}); "
                "grant the function read/write on it (table.grant_read_write_data)"
            )
        elif code:
            problem = f"DynamoDB refused the request on {self.table_name!r}: {code}: {exc}"
        else:
            problem = f"cannot reach DynamoDB for the idempotency table {self.table_name!r}: {exc}"
        return IdempotencyStoreError(f"idempotency {action} failed: {problem}")

    def claim(
        self, key: str, *, token: str, now: float, lease_expires: float, expires_at: int
    ) -> Claim | None:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    KEY_ATTRIBUTE: {"S": key},
                    "status": {"S": IN_PROGRESS},
                    "token": {"S": token},
                    "lease_expires": {"N": repr(float(lease_expires))},
                    TTL_ATTRIBUTE: {"N": str(int(expires_at))},
                },
                ConditionExpression=_FREE,
                ExpressionAttributeNames={
                    "#id": KEY_ATTRIBUTE,
                    "#expiration": TTL_ATTRIBUTE,
                    "#status": "status",
                    "#lease": "lease_expires",
                },
                ExpressionAttributeValues={
                    ":now": {"N": repr(float(now))},
                    ":in_progress": {"S": IN_PROGRESS},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise self._fail("claim", exc) from exc
            item = exc.response.get("Item") or self._get(key)  # type: ignore[attr-defined]
            return _holder(item)
        return None

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            answer = self.client.get_item(
                TableName=self.table_name,
                Key={KEY_ATTRIBUTE: {"S": key}},
                ConsistentRead=True,
            )
        except Exception as exc:
            raise self._fail("read", exc) from exc
        return answer.get("Item")

    def complete(self, key: str, *, token: str, expires_at: int) -> None:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    KEY_ATTRIBUTE: {"S": key},
                    "status": {"S": COMPLETED},
                    "token": {"S": token},
                    TTL_ATTRIBUTE: {"N": str(int(expires_at))},
                },
            )
        except Exception as exc:
            raise self._fail("complete", exc) from exc

    def release(self, key: str, *, token: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={KEY_ATTRIBUTE: {"S": key}},
                ConditionExpression="#token = :token AND #status = :in_progress",
                ExpressionAttributeNames={"#token": "token", "#status": "status"},
                ExpressionAttributeValues={
                    ":token": {"S": token},
                    ":in_progress": {"S": IN_PROGRESS},
                },
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return  # someone else holds it now, or it is gone: nothing of ours to drop
            raise self._fail("release", exc) from exc


def _code(exc: Exception) -> str | None:
    """The AWS error code of a botocore ClientError; None for any other exception."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    return response.get("Error", {}).get("Code")


def _holder(item: dict[str, Any] | None) -> Claim | None:
    if item is None:
        # Gone between the write and the read (TTL, or a release): not held.
        return Claim(IN_PROGRESS, 0.0)
    status = item.get("status", {}).get("S", IN_PROGRESS)
    lease = item.get("lease_expires", {}).get("N")
    return Claim(status, float(lease) if lease is not None else None)


__all__ = ["KEY_ATTRIBUTE", "TTL_ATTRIBUTE", "DynamoDBIdempotencyStore"]
