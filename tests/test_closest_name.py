"""The closest known name to a mistyped one, as every "did you mean" picks it."""

from __future__ import annotations

from cdk_streams.closest_name import closest


def test_the_closest_name_or_none() -> None:
    assert closest("batchsize", ["batch_size", "retry_attempts"]) == "batch_size"
    assert closest("handlr", {"handler", "window_end"}) == "handler"  # any iterable
    assert closest("zzz", ["batch_size"]) is None
    assert closest("anything", []) is None
