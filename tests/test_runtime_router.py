"""stream_runtime.router.StreamRouter: routing, ordered partial failures, logging."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
import runtime_path
from stream_runtime import (
    ChangeRecord,
    NoRouteError,
    StreamRouter,
    UnidentifiableRecordError,
    UnknownAttributeTypeError,
)
from stream_runtime import logs as runtime_logs

from cdk_streams.testing import StreamEventFactory


def item(n: int) -> dict:
    return {"pk": f"k{n}", "n": n}


@pytest.fixture
def f() -> StreamEventFactory:
    return StreamEventFactory()


def recording_router(seen: list, fail_on: set | None = None) -> StreamRouter:
    router = StreamRouter()

    def route(record: ChangeRecord) -> None:
        seen.append((record.event_name, record.keys["pk"]))
        if fail_on and record.keys["pk"] in fail_on:
            raise RuntimeError(f"boom on {record.keys['pk']}")

    router.on_insert(route)
    router.on_modify(route)
    router.on_remove(route)
    return router


def seqs(records: list) -> list:
    return [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]


def summary_lines(caplog) -> list[dict]:
    return [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "stream_runtime" and '"stream batch"' in r.getMessage()
    ]


def test_routes_by_event_name_in_order(f):
    seen: list = []
    router = recording_router(seen)
    event = f.event(f.insert(item(1)), f.modify(item(1), item(1)), f.remove(item(2)))
    assert router.handler(event, None) == {"batchItemFailures": []}
    assert seen == [("INSERT", "k1"), ("MODIFY", "k1"), ("REMOVE", "k2")]


def test_specific_route_wins_over_catch_all(f):
    router = StreamRouter()
    calls: list = []
    router.on_insert(lambda r: calls.append(("insert", r.event_name)))
    router.on_any(lambda r: calls.append(("any", r.event_name)))
    router.handler(f.event(f.insert(item(1)), f.remove(item(1)), f.modify(item(1), item(1))))
    assert calls == [("insert", "INSERT"), ("any", "REMOVE"), ("any", "MODIFY")]


def test_failure_reports_that_record_and_every_later_one(f, caplog):
    seen: list = []
    router = recording_router(seen, fail_on={"k2"})
    records = [f.insert(item(n)) for n in range(5)]
    with caplog.at_level(logging.INFO):
        response = router.handler(f.event(*records), None)
    assert response == {"batchItemFailures": seqs(records[2:])}
    assert seen == [("INSERT", "k0"), ("INSERT", "k1"), ("INSERT", "k2")]  # k3, k4 never run
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1  # logged once
    logged = json.loads(failures[0].getMessage())
    assert logged["message"] == "record failed"
    assert logged["event_id"] == records[2]["eventID"]
    assert logged["keys"] == {"pk": "k2"}
    assert logged["error"] == "RuntimeError: boom on k2"
    assert logged["reported_failures"] == 3
    assert failures[0].exc_info is not None
    [summary] = summary_lines(caplog)
    assert summary["records"] == 5
    assert summary["processed"] == 2
    assert summary["failures"] == 3


def test_first_record_failing_reports_the_whole_batch(f):
    router = recording_router([], fail_on={"k0"})
    records = [f.insert(item(n)) for n in range(3)]
    assert router.handler(f.event(*records)) == {"batchItemFailures": seqs(records)}


def test_last_record_failing_reports_only_it(f):
    router = recording_router([], fail_on={"k2"})
    records = [f.insert(item(n)) for n in range(3)]
    assert router.handler(f.event(*records)) == {"batchItemFailures": seqs(records[2:])}


def test_empty_batch_succeeds():
    router = StreamRouter()
    assert router.handler({"Records": []}, None) == {"batchItemFailures": []}
    assert router.handler({}, None) == {"batchItemFailures": []}


def test_unknown_event_name_without_catch_all_fails_in_order(f, caplog):
    router = recording_router([])
    records = [f.insert(item(1)), f.insert(item(2)), f.insert(item(3))]
    records[1]["eventName"] = "UPSERT"
    with caplog.at_level(logging.ERROR):
        response = router.handler(f.event(*records))
    assert response == {"batchItemFailures": seqs(records[1:])}
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "NoRouteError: no route for event name 'UPSERT'" in failure.getMessage()


def test_no_route_error_message():
    error = NoRouteError("INSERT", "e-1")
    assert str(error) == (
        "no route for event name 'INSERT' (eventID='e-1'); register one with on_insert, "
        "on_modify, on_remove or the catch-all on_any"
    )


def test_record_without_sequence_number_fails_the_whole_batch_before_any_route(f):
    seen: list = []
    router = recording_router(seen)
    records = [f.insert(item(1)), f.insert(item(2))]
    del records[1]["dynamodb"]["SequenceNumber"]
    with pytest.raises(UnidentifiableRecordError, match=r"no dynamodb\.SequenceNumber"):
        router.handler(f.event(*records))
    assert seen == []


def test_undecodable_attribute_fails_the_record(f, caplog):
    router = StreamRouter()
    router.on_insert(lambda r: r.new_image["n"])
    records = [f.insert(item(1)), f.insert(item(2))]
    records[0]["dynamodb"]["NewImage"]["n"] = {"X": "1"}
    with caplog.at_level(logging.ERROR):
        assert router.handler(f.event(*records)) == {"batchItemFailures": seqs(records)}
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert isinstance(failure.exc_info[1], UnknownAttributeTypeError)
    assert "attribute 'n': unknown DynamoDB type tag 'X'" in failure.getMessage()


def test_duplicate_routes_are_rejected():
    router = StreamRouter()

    @router.on_insert
    def first(record): ...

    @router.on_any
    def fallback(record): ...

    with pytest.raises(ValueError, match=r"a route for INSERT is already registered \(.*first\)"):
        router.on_insert(lambda r: None)
    with pytest.raises(ValueError, match=r"a catch-all route is already registered \(.*fallback\)"):
        router.on_any(lambda r: None)


@pytest.mark.parametrize(
    "decorator", ["on_insert", "on_modify", "on_remove", "on_any", "on_window", "on_window_end"]
)
def test_a_decorator_used_with_parentheses_says_how_to_write_it(decorator: str):
    router = StreamRouter()
    with pytest.raises(TypeError) as called:
        getattr(router, decorator)()  # as @router.on_modify() would
    assert str(called.value) == (
        f"StreamRouter.{decorator} takes the function it decorates: write "
        f"@router.{decorator} (no parentheses, no arguments), got nothing"
    )
    with pytest.raises(TypeError) as given:
        getattr(router, decorator)("MODIFY")  # as @router.on_modify("MODIFY") would
    assert str(given.value).endswith("got 'MODIFY'")


def test_decorators_return_the_function():
    router = StreamRouter()

    def route(record): ...

    assert router.on_modify(route) is route


def test_one_summary_line_per_batch(caplog):
    start = 1_800_000_000.0
    f = StreamEventFactory(start_time=start)
    # The oldest record was created at start; the router's clock reads 60.25 s later.
    router = StreamRouter(clock=lambda: start + 60.25)
    router.on_any(lambda r: None)
    event = f.event(f.insert(item(1)), f.insert(item(2)), f.remove(item(1), ttl=True))

    class Context:
        aws_request_id = "req-1"

    with caplog.at_level(logging.INFO):
        router.handler(event, Context())
    [summary] = summary_lines(caplog)
    assert summary["event_names"] == {"INSERT": 2, "REMOVE": 1}
    assert summary["records"] == 3 and summary["processed"] == 3 and summary["failures"] == 0
    assert summary["request_id"] == "req-1"
    assert summary["oldest_record_age_s"] == 60.25
    assert not [r for r in caplog.records if r.levelno == logging.DEBUG]


def test_per_record_lines_only_at_debug(f, caplog):
    router = StreamRouter()
    router.on_any(lambda r: None)
    runtime_logs.logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="stream_runtime"):
            router.handler(f.event(f.insert(item(1)), f.insert(item(2))))
    finally:
        runtime_logs.logger.setLevel(runtime_logs.level_from_env())
    debug = [json.loads(r.getMessage()) for r in caplog.records if r.levelno == logging.DEBUG]
    assert [d["keys"] for d in debug] == [{"pk": {"S": "k1"}}, {"pk": {"S": "k2"}}]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (None, logging.INFO),
        ("debug", logging.DEBUG),
        ("WARNING", logging.WARNING),
        ("nonsense", logging.INFO),
        ("", logging.INFO),
    ],
)
def test_level_from_env(monkeypatch, value, level):
    if value is None:
        monkeypatch.delenv("LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("LOG_LEVEL", value)
    assert runtime_logs.level_from_env() == level


def test_get_logger_follows_log_level(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    assert runtime_logs.get_logger("stream_runtime.test").level == logging.ERROR


def test_importing_the_runtime_does_not_import_boto3_logging_or_json():
    # logging and json are imported on first use (the Lambda runtime has them
    # loaded already): in a fresh interpreter they are most of the import time.
    code = (
        "import sys, stream_runtime, process_order_changes; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('boto3', 'botocore', 'logging', 'json')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(runtime_path.LAMBDA_SRC)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_get_logger_is_lazy_and_behaves_as_the_stdlib_logger(monkeypatch, caplog):
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    lazy = runtime_logs.get_logger("stream_runtime.test.lazy")
    assert isinstance(lazy, runtime_logs.LazyLogger)
    assert lazy.logger is logging.getLogger("stream_runtime.test.lazy")
    assert lazy.level == logging.WARNING  # set from LOG_LEVEL on first use
    lazy.propagate = True  # attributes are set on the real logger
    assert lazy.logger.propagate is True
    with caplog.at_level(logging.WARNING, logger="stream_runtime.test.lazy"):
        lazy.warning("hello %s", "there")
    [record] = [r for r in caplog.records if r.name == "stream_runtime.test.lazy"]
    assert record.getMessage() == "hello there"
    assert record.filename == "test_runtime_router.py"  # the caller, not logs.py
    assert repr(lazy) == "<LazyLogger stream_runtime.test.lazy>"
