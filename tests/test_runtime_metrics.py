"""The per-batch Embedded Metric Format line: fields, units, lag, duration, switches."""

from __future__ import annotations

import json

import pytest
import runtime_path  # noqa: F401
from stream_runtime import StreamRouter
from stream_runtime.metrics import BatchMetrics

from cdk_streams.testing import StreamEventFactory

START = 1_800_000_000.0


class Ticks:
    """A monotonic timer that advances 0.25 s per reading."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        self.t += 0.25
        return self.t


def router_with(lines: list[str], now: float, **kwargs: object) -> StreamRouter:
    metrics = BatchMetrics(clock=lambda: now, timer=Ticks(), write=lines.append, **kwargs)  # type: ignore[arg-type]
    router = StreamRouter(metrics=metrics)

    @router.on_any
    def route(record: object) -> None:
        if record.keys["pk"] == "bad":  # type: ignore[attr-defined]
            raise ValueError("bad record")

    return router


def test_one_emf_line_per_batch_with_every_metric(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-processor")
    monkeypatch.delenv("STREAM_METRICS_NAMESPACE", raising=False)
    f = StreamEventFactory(start_time=START)
    lines: list[str] = []
    records = [f.insert({"pk": "a"}), f.insert({"pk": "bad"}), f.insert({"pk": "c"})]
    # The oldest record was created at START; "now" is 2.5 s later.
    router_with(lines, START + 2.5).handler({"Records": records}, None)
    [line] = lines
    document = json.loads(line)
    assert document["_aws"] == {
        "Timestamp": int((START + 2.5) * 1000),
        "CloudWatchMetrics": [
            {
                "Namespace": "CdkStreams",
                "Dimensions": [["FunctionName"]],
                "Metrics": [
                    {"Name": "Records", "Unit": "Count"},
                    {"Name": "Failures", "Unit": "Count"},
                    {"Name": "ProcessingLag", "Unit": "Milliseconds"},
                    {"Name": "Duration", "Unit": "Milliseconds"},
                ],
            }
        ],
    }
    assert document["FunctionName"] == "orders-processor"
    assert document["Records"] == 3
    assert document["Failures"] == 2  # the bad record and the one after it
    assert document["ProcessingLag"] == 2500.0
    assert document["Duration"] == 250.0  # one tick of the fake timer
    assert "DuplicatesSkipped" not in document


def test_namespace_from_environment_and_function_name_from_context(monkeypatch):
    monkeypatch.setenv("STREAM_METRICS_NAMESPACE", "Shop/Orders")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)

    class Context:
        function_name = "from-context"

    lines: list[str] = []
    router_with(lines, START).handler({"Records": []}, Context())
    document = json.loads(lines[0])
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop/Orders"
    assert document["FunctionName"] == "from-context"
    # No record, so no creation time: the lag is left out rather than made up.
    assert "ProcessingLag" not in document
    assert [m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == [
        "Records",
        "Failures",
        "Duration",
    ]


def test_lag_uses_the_kinesis_time_units():
    f = StreamEventFactory(start_time=START)
    event = f.kinesis_event(f.insert({"pk": "a"}))
    lines: list[str] = []
    router_with(lines, START + 1).handler(event, None)
    assert json.loads(lines[0])["ProcessingLag"] == pytest.approx(1000.0, abs=1)


@pytest.mark.parametrize("value", ["off", "OFF", "false", "0"])
def test_turned_off_by_environment(monkeypatch, capsys, value):
    monkeypatch.setenv("STREAM_METRICS", value)
    router = StreamRouter()
    router.on_any(lambda record: None)
    router.handler({"Records": []}, None)
    assert capsys.readouterr().out == ""


def test_default_writes_to_stdout(monkeypatch, capsys):
    monkeypatch.delenv("STREAM_METRICS", raising=False)
    router = StreamRouter()
    router.on_any(lambda record: None)
    router.handler({"Records": []}, None)
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["Records"] == 0
    assert StreamRouter(metrics=False)._metrics is None


def test_a_failing_writer_never_fails_the_batch(capsys):
    def broken(line: str) -> None:
        raise OSError("stdout closed")

    router = StreamRouter(metrics=BatchMetrics(write=broken))
    router.on_any(lambda record: None)
    assert router.handler({"Records": []}, None) == {"batchItemFailures": []}
    assert "could not write the metrics line: OSError('stdout closed')" in capsys.readouterr().err


def test_the_routers_clock_reaches_its_default_metrics_not_a_given_one(monkeypatch, capsys):
    monkeypatch.delenv("STREAM_METRICS", raising=False)
    f = StreamEventFactory(start_time=START)
    event = f.event(f.insert({"pk": "a"}))
    router = StreamRouter(clock=lambda: START + 3)
    router.on_any(lambda record: None)
    router.handler(event, None)
    [line] = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    assert document["ProcessingLag"] == 3000.0
    assert document["_aws"]["Timestamp"] == int((START + 3) * 1000)
    # A BatchMetrics passed in keeps the clock it was given.
    lines: list[str] = []
    given = BatchMetrics(clock=lambda: START + 7, write=lines.append)
    router = StreamRouter(clock=lambda: START + 3, metrics=given)
    router.on_any(lambda record: None)
    router.handler(f.event(f.insert({"pk": "b"})), None)
    # The second record was created 1 s after START.
    assert json.loads(lines[0])["ProcessingLag"] == 6000.0
