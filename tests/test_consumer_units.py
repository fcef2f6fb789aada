"""The consumer's pure parts: lease planning, handler specs, the runtime bridge."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cdk_streams.consumer import (
    ConsumerContext,
    HandlerSpecError,
    Lease,
    bundled_code_dir,
    change_record_class,
    load_handler,
    plan_leases,
)
from cdk_streams.consumer.leases import eligible

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
NOW = 1_000_000


def lease(
    shard: str, owner: str | None = None, *, expires: int = NOW + 5000, **kw: object
) -> Lease:
    return Lease(shard, ARN, owner=owner, expires_at_ms=expires if owner else 0, **kw)  # type: ignore[arg-type]


def rows(*leases: Lease) -> dict[str, Lease]:
    return {item.shard_id: item for item in leases}


# -- plan_leases ---------------------------------------------------------------


def test_a_lone_worker_takes_every_free_shard_in_shard_order() -> None:
    plan = plan_leases(rows(lease("s3"), lease("s1"), lease("s2")), "A", NOW)
    assert plan.take == ("s1", "s2", "s3")
    assert plan.steal is None and plan.target == 3


def test_max_leases_caps_what_a_worker_takes() -> None:
    plan = plan_leases(rows(lease("s1"), lease("s2"), lease("s3")), "A", NOW, max_leases=2)
    assert plan.take == ("s1", "s2")
    assert plan.target == 2


def test_fair_share_counts_live_owners_and_takes_free_shards_first() -> None:
    leases = rows(lease("s1", "B"), lease("s2", "B"), lease("s3"), lease("s4"))
    plan = plan_leases(leases, "A", NOW)
    assert plan.target == 2  # 4 shards, workers A and B
    assert plan.take == ("s3", "s4") and plan.steal is None


def test_expired_leases_are_free_and_unexpired_ones_are_not() -> None:
    leases = rows(lease("s1", "B", expires=NOW - 1), lease("s2", "C", expires=NOW + 1))
    plan = plan_leases(leases, "A", NOW)
    # C is live, B is not: workers A and C share 2 shards.
    assert plan.target == 1
    assert plan.take == ("s1",)


def test_a_newcomer_steals_one_lease_from_a_worker_above_its_share() -> None:
    leases = rows(*(lease(f"s{i}", "B") for i in range(1, 5)))
    plan = plan_leases(leases, "A", NOW)
    assert plan.target == 2 and plan.take == ()
    assert plan.steal == ("s4", "B")  # one per round, the newest shard


def test_no_steal_when_nobody_holds_more_than_the_share() -> None:
    # One shard, two workers: the second waits for a release or an expiry.
    assert plan_leases(rows(lease("s1", "B")), "A", NOW).steal is None
    leases = rows(lease("s1", "B"), lease("s2", "B"), lease("s3", "A"))
    assert plan_leases(leases, "A", NOW, held=["s3"]).steal is None


def test_a_worker_at_its_share_takes_nothing_more() -> None:
    leases = rows(lease("s1", "A"), lease("s2"))
    assert plan_leases(leases, "A", NOW, held=["s1"], max_leases=1).take == ()


def test_a_child_waits_until_its_parent_is_finished() -> None:
    parent = lease("p")
    child = lease("c", parent_shard_id="p")
    orphan = lease("o", parent_shard_id="trimmed-away")
    assert [item.shard_id for item in eligible(rows(parent, child, orphan))] == ["o", "p"]
    plan = plan_leases(rows(parent, child, orphan), "A", NOW)
    assert plan.take == ("o", "p")
    done = Lease("p", ARN, finished=True, checkpoint="9")
    assert plan_leases(rows(done, child), "A", NOW).take == ("c",)


def test_finished_shards_are_never_taken() -> None:
    assert plan_leases(rows(Lease("s1", ARN, finished=True)), "A", NOW).take == ()


def test_lease_from_item_reads_every_attribute() -> None:
    item = {
        "shardId": {"S": "s1"},
        "streamArn": {"S": ARN},
        "owner": {"S": "w1"},
        "leaseExpiresAt": {"N": "123"},
        "checkpoint": {"S": "000042"},
        "finished": {"BOOL": True},
        "parentShardId": {"S": "s0"},
        "startingPosition": {"S": "LATEST"},
    }
    assert Lease.from_item(item) == Lease("s1", ARN, "w1", 123, "000042", True, "s0", "LATEST")
    bare = Lease.from_item({"shardId": {"S": "s2"}, "streamArn": {"S": ARN}})
    assert bare == Lease("s2", ARN)
    assert not bare.live(0)


# -- handlers and the runtime ----------------------------------------------------


def test_change_record_is_the_runtimes_class() -> None:
    cls = change_record_class()
    assert cls.__module__ == "stream_runtime.records"
    assert Path(sys.modules["stream_runtime"].__file__ or "").is_relative_to(bundled_code_dir())


@pytest.mark.parametrize("spec", ["process_order_changes.handler", "process_order_changes:handler"])
def test_load_handler_finds_the_bundled_sample_in_either_form(spec: str) -> None:
    handler = load_handler(spec)
    assert handler({"Records": []}, ConsumerContext("w")) == {"batchItemFailures": []}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "nodot",
            "handler must be module.function (or module:function), e.g. orders.handler; "
            "got 'nodot'",
        ),
        (":handler", "got ':handler'"),
        ("module:", "handler must be module.function"),
        (".handler", "handler must be module.function"),
        ("a:b:c", "got 'a:b:c'"),
        ("no_such_module_xyz:handler", "cannot import module 'no_such_module_xyz'"),
        ("process_order_changes:nope", "has no attribute 'nope'"),
        ("process_order_changes:logger", "not a function taking (event, context)"),
    ],
)
def test_bad_handler_specs_say_what_was_given(spec: str, message: str) -> None:
    with pytest.raises(HandlerSpecError) as caught:
        load_handler(spec)
    assert message in str(caught.value)


def test_context_counts_down_like_lambdas() -> None:
    context = ConsumerContext("worker-1", timeout_ms=60_000)
    assert context.function_name == "worker-1"
    assert 59_000 < context.get_remaining_time_in_millis() <= 60_000
    assert context.aws_request_id != ConsumerContext("worker-1").aws_request_id
    assert "worker-1" in repr(context)
