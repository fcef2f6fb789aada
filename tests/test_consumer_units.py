"""The consumer's pure parts: lease planning, handler specs, the runtime bridge."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cdk_streams.cli import main
from cdk_streams.consumer import (
    ConsumerContext,
    HandlerSpecError,
    Lease,
    bundled_code_dir,
    change_record_class,
    load_handler,
    plan_leases,
)
from cdk_streams.consumer.leases import (
    children_of,
    eligible,
    has_started_descendant,
    in_stream,
    prunable,
    pruned_ancestors,
)

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


# -- pruning finished leases -------------------------------------------------------

#: A shard rolled over twice: p -> c -> g (each shard's parent).
LINEAGE: dict[str, str | None] = {"p": None, "c": "p", "g": "c"}


def done(shard: str, parent: str | None = None) -> Lease:
    return Lease(shard, ARN, checkpoint="9", finished=True, parent_shard_id=parent)


def ids(leases: list[Lease]) -> list[str]:
    return [item.shard_id for item in leases]


def test_a_finished_parent_goes_once_its_child_has_started_and_not_before() -> None:
    parent = done("p")
    assert ids(prunable(rows(parent), LINEAGE)) == []  # c has no row yet
    assert ids(prunable(rows(parent, lease("c", parent_shard_id="p")), LINEAGE)) == []
    # Taken is not started: the child may still be given up before reading anything.
    taken = lease("c", "A", parent_shard_id="p")
    assert ids(prunable(rows(parent, taken), LINEAGE)) == []
    reading = lease("c", "A", parent_shard_id="p", checkpoint="10")
    assert ids(prunable(rows(parent, reading), LINEAGE)) == ["p"]
    assert ids(prunable(rows(parent, done("c", "p")), LINEAGE)) == ["p"]


def test_every_child_of_a_split_must_have_started() -> None:
    lineage: dict[str, str | None] = {"p": None, "c1": "p", "c2": "p"}
    first = lease("c1", parent_shard_id="p", checkpoint="10")
    second = lease("c2", parent_shard_id="p")
    assert ids(prunable(rows(done("p"), first, second), lineage)) == []
    # The stream's description alone names c2: without its row, p stays too.
    assert ids(prunable(rows(done("p"), first), lineage)) == []
    started = replace(second, checkpoint="20")
    assert ids(prunable(rows(done("p"), first, started), lineage)) == ["p"]


def test_unfinished_leases_and_childless_ones_stay_unless_trimmed() -> None:
    open_parent = lease("p", checkpoint="5")
    child = lease("c", parent_shard_id="p", checkpoint="10")
    assert ids(prunable(rows(open_parent, child), LINEAGE, listed=[])) == []
    # A disabled stream's shards close with no children: only the trim frees them.
    assert ids(prunable(rows(done("p")), {"p": None}, listed=["p"])) == []
    assert ids(prunable(rows(done("p")), {"p": None}, listed=[])) == ["p"]
    assert ids(prunable(rows(done("p")), {"p": None})) == []  # listing unknown


def test_pruned_ancestors_reach_back_through_rows_and_the_stream() -> None:
    # c's row was pruned already; g started, so neither c nor p may get a row again.
    assert pruned_ancestors(rows(lease("g", parent_shard_id="c", checkpoint="1")), LINEAGE) == {
        "c",
        "p",
    }
    # A child that has not started protects nothing: its parent may still need reading.
    assert pruned_ancestors(rows(lease("g", parent_shard_id="c")), LINEAGE) == set()
    # The row's own parent link counts when the stream no longer describes the child.
    assert pruned_ancestors(rows(done("x", "w")), {}) == {"w"}


def test_a_shard_without_a_row_was_pruned_if_a_descendant_has_started() -> None:
    children = children_of({}, LINEAGE)
    assert children == {"p": ["c"], "c": ["g"]}
    table: dict[str, Lease] = {}
    reads: list[str] = []

    def get(shard: str) -> Lease | None:
        reads.append(shard)
        return table.get(shard)

    # New shards: no descendant has a row, so p may get one (after one read each).
    assert not has_started_descendant("p", children, get) and reads == ["c", "g"]
    reads.clear()
    assert not has_started_descendant("g", children, get) and reads == []  # no children
    table["c"] = lease("c", parent_shard_id="p")
    assert not has_started_descendant("p", children, get)  # c waits for p: p is needed
    table["c"] = lease("c", parent_shard_id="p", checkpoint="10")
    assert has_started_descendant("p", children, get)
    # c's row was deleted in turn, once g started: p's deletion shows through g.
    del table["c"]
    table["g"] = lease("g", parent_shard_id="c", checkpoint="20")
    assert has_started_descendant("p", children, get)
    # A split: one started child is enough (a row goes only once all have started).
    split = {"p": ["c1", "c2"]}
    table = {"c1": lease("c1"), "c2": lease("c2", checkpoint="30")}
    assert has_started_descendant("p", split, get)


def test_a_shard_is_in_the_stream_if_it_or_its_parent_is_listed() -> None:
    assert in_stream("c", "p", {"c"})
    # Behind, not trimmed: a child opens when its parent closes, and is dropped later.
    assert in_stream("c", "p", {"p"})
    assert not in_stream("c", "p", {"x"})
    assert not in_stream("c", None, set())


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
        (
            "process_order_changes:handlr",
            "has no attribute 'handlr' (handler 'process_order_changes:handlr'); did you mean "
            "process_order_changes.handler?",
        ),
        ("process_order_changes:logger", "not a function taking (event, context)"),
    ],
)
def test_bad_handler_specs_say_what_was_given(spec: str, message: str) -> None:
    with pytest.raises(HandlerSpecError) as caught:
        load_handler(spec)
    assert message in str(caught.value)


def test_with_a_handler_dir_the_import_error_names_it_and_what_was_looked_for(
    tmp_path: Path,
) -> None:
    with pytest.raises(HandlerSpecError) as caught:
        load_handler("nomod_xyz.handler", handler_dir=tmp_path)
    assert str(caught.value) == (
        "cannot import module 'nomod_xyz' of handler 'nomod_xyz.handler': No module named "
        f"'nomod_xyz'; the handler directory {tmp_path} has no nomod_xyz.py and no package "
        "nomod_xyz/ (with __init__.py); check the module name and the directory"
    )
    with pytest.raises(
        HandlerSpecError, match=r"has no app_xyz/orders\.py and no package app_xyz/orders/"
    ):
        load_handler("app_xyz.orders.handle", handler_dir=tmp_path)


def test_a_module_that_imports_something_missing_is_told_from_a_missing_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_dep_xyz.py").write_text("import no_such_dependency_xyz\n")
    (tmp_path / "bad_name_xyz.py").write_text("from os import no_such_name_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(HandlerSpecError) as caught:
        load_handler("needs_dep_xyz.handler", handler_dir=tmp_path)
    assert str(caught.value).endswith(
        "No module named 'no_such_dependency_xyz'; the module was found, but it imports "
        "'no_such_dependency_xyz', which is not installed or not on sys.path"
    )
    with pytest.raises(HandlerSpecError) as caught:
        load_handler("bad_name_xyz.handler")
    assert str(caught.value).endswith("; the module was found, but an import inside it failed")


def test_cli_consume_names_the_handler_dir_in_the_import_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # consume puts --handler-dir on it
    monkeypatch.chdir(tmp_path)
    args = ["consume", "--table", "T", "--region", "us-east-1", "--handler", "nomod_xyz.handler"]
    assert main([*args, "--handler-dir", "."]) == 2
    assert capsys.readouterr().err == (
        "cdk-streams consume: --handler: cannot import module 'nomod_xyz' of handler "
        "'nomod_xyz.handler': No module named 'nomod_xyz'; the handler directory "
        f"{tmp_path.resolve()} has no nomod_xyz.py and no package nomod_xyz/ (with "
        "__init__.py); check the module name and the directory\n"
    )
    # Without --handler-dir, the working directory and PYTHONPATH are what to check.
    assert main(args) == 2
    assert capsys.readouterr().err.endswith(
        "; pass --handler-dir DIR, run from the directory that holds it, or put it on PYTHONPATH\n"
    )


@pytest.mark.parametrize("value", ["2.9", "0", "-1", "300.5", "nan", "inf"])
def test_cli_consume_lease_duration_out_of_range_is_one_line_and_status_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["consume", "--table", "T", "--region", "us-east-1"]
    args += ["--handler", "process_order_changes:handler", "--lease-duration", value]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"cdk-streams consume: --lease-duration must be 3..300 seconds, got {float(value):g}\n"
    )


def test_context_counts_down_like_lambdas() -> None:
    now = [100.0]
    context = ConsumerContext("worker-1", timeout_ms=60_000, clock=lambda: now[0])
    assert context.function_name == "worker-1"
    assert context.get_remaining_time_in_millis() == 60_000
    now[0] += 45.5
    assert context.get_remaining_time_in_millis() == 14_500
    now[0] += 60
    assert context.get_remaining_time_in_millis() == 0  # never below
    assert context.aws_request_id != ConsumerContext("worker-1").aws_request_id
    assert repr(context).startswith("ConsumerContext(function_name='worker-1', ")
    # The timeout may be given by position, as before it shared Lambda's context class.
    assert ConsumerContext("w", 60_000, clock=lambda: 0.0).get_remaining_time_in_millis() == 60_000
