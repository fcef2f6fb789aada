"""`make demo` end to end: the sample app, deployed with the real CDK CLI into the local
cloud, processes a day of orders; the poison record ends in the on-failure queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_streams.local import LocalCloudError
from cdk_streams.local.demo import DemoLog, day_of_orders, is_sample_app, run_demo

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_the_scripted_day() -> None:
    writes = day_of_orders()
    assert len(writes) == 57
    assert sum(1 for kind, _ in writes if kind == "delete") == 7
    assert sum(1 for _, item in writes if item.get("poison") is True) == 1


def test_demo_processes_everything_but_the_poison_record() -> None:
    lines: list[str] = []
    result = run_demo(REPO, out=lines.append, progress=lambda message: None)
    assert result.written == 57
    assert result.lost == 0
    (message,) = result.on_failure
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1
    assert result.counts.succeeded == 56
    assert dict(result.counts.by_event) == {"INSERT": 20, "MODIFY": 29, "REMOVE": 7}
    assert lines[-1] == (
        "processed 56 records (INSERT 20, MODIFY 29, REMOVE 7); "
        "failed 1 -> on-failure queue; lost 0"
    )
    # Quiet by default: the poison record announced first, then its error once.
    announced = next(i for i, line in enumerate(lines) if line.startswith("expect one failure"))
    assert "order o-012 is marked poison=true" in lines[announced]
    assert sum("Traceback (most recent call last)" in line for line in lines) == 1
    first_error = next(i for i, line in enumerate(lines) if line.startswith("  | "))
    assert announced < first_error
    assert not any("order placed" in line for line in lines)  # the handler's info log
    assert any(line.startswith("(") and "more failed invocation(s)" in line for line in lines)
    assert len(lines) < 40


# The README's first app: an OrdersStack too, but with the user's own handler.
USER_APP = """\
import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from cdk_streams import StreamProcessor, StreamTable

app = cdk.App()
stack = cdk.Stack(app, "OrdersStack")
orders = StreamTable(
    stack,
    "Orders",
    partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
)
StreamProcessor(stack, "Shipping", table=orders.table, handler_dir="handlers", handler="orders.handler")
app.synth()
"""


def test_the_demo_refuses_an_app_that_is_not_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cdk_streams.cli import main

    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    (tmp_path / "app.py").write_text(USER_APP)
    assert main(["local", "demo", "--app-dir", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"cdk-streams local demo: {tmp_path} is not this repository's sample app, which the "
        "demo runs (`make demo` in a clone of cdk-streams); for your own app, use "
        "`cdk-streams local up`\n",
    )
    with pytest.raises(LocalCloudError, match="is not this repository's sample app"):
        run_demo(tmp_path, out=print, progress=print)


def test_the_sample_app_is_told_by_its_source() -> None:
    assert is_sample_app(REPO)
    assert not is_sample_app(REPO / "docs")  # no cdk.json, no app.py


def test_the_sample_needs_its_processor_on_the_sample_handler(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    sample = (REPO / "app.py").read_text()
    for text, expected in [
        (sample, True),
        # The same construct on the user's own handler: the poison order would not fail.
        (
            sample.replace("code=StreamHandlerCode.sample()", 'handler_dir="h", handler="m.f"'),
            False,
        ),
        (sample.replace('"ProcessOrderChanges"', '"Shipping"'), False),
        ("this is not python(", False),
    ]:
        (tmp_path / "app.py").write_text(text)
        assert is_sample_app(tmp_path) is expected, text[:40]
    (tmp_path / "app.py").write_text(sample)
    (tmp_path / "cdk.json").write_text('{"app": "python3 main.py"}')
    assert not is_sample_app(tmp_path)


def _invocation(log: DemoLog, *lines: str) -> None:
    log("f", "START RequestId: r Version: $LATEST")
    for line in lines:
        log("f", line)
    log("f", "END RequestId: r")
    log("f", "REPORT RequestId: r\tDuration: 1.00 ms\tMemory Size: 256 MB")


def test_the_quiet_log_shows_the_first_failure_once_and_counts_the_rest() -> None:
    shown: list[str] = []
    log = DemoLog(shown.append)
    _invocation(log, "[INFO] order placed o-1")
    failure = (
        "[INFO] batch of 2",
        "[ERROR] PoisonOrderError: o-12",
        "Traceback (most recent call last):",
        '  File "x"',
    )
    _invocation(log, *failure)
    _invocation(log, *failure)
    _invocation(log, *failure)
    assert shown == [f"  | {line}" for line in failure[1:]]
    assert log.summary() == (
        "(2 more failed invocation(s) of the same record, its retries and bisections, not "
        "shown; --verbose shows the whole handler log)"
    )


def test_the_verbose_log_shows_every_line() -> None:
    shown: list[str] = []
    log = DemoLog(shown.append, verbose=True)
    _invocation(log, "[INFO] order placed o-1")
    assert shown[1] == "  | [INFO] order placed o-1" and len(shown) == 4
    assert log.summary() is None
