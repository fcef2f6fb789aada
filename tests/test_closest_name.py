"""The closest known name to a mistyped one, as every "did you mean" picks it."""

from __future__ import annotations

from cdk_streams.closest_name import closest


def test_the_closest_name_or_none() -> None:
    assert closest("batchsize", ["batch_size", "retry_attempts"]) == "batch_size"
    # Ties go to the name that sorts first, whatever order the names came in.
    assert closest("handle", {"handler", "handles"}) == closest("handle", ["handles", "handler"])
    assert closest("zzz", ["batch_size"]) is None
    assert closest("anything", []) is None
