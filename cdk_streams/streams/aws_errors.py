"""The error code of a failed AWS call, the one thing callers branch on."""

from __future__ import annotations

from botocore.exceptions import ClientError

#: A table, stream, shard or function that does not exist (or no longer does).
NOT_FOUND = "ResourceNotFoundException"


def error_code(error: ClientError) -> str:
    """``error``'s AWS error code, e.g. ``ResourceNotFoundException``; "" when it has none."""
    return str(error.response.get("Error", {}).get("Code", ""))


__all__ = ["NOT_FOUND", "error_code"]
