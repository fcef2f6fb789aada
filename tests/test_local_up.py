"""`cdk-streams local up` end to end, in a subprocess, on tests/fixtures/shapes_app: the
app shapes users write (stacks with cross-stack references, alarms and a dashboard
that references them, a TableV2, a processor apart from its table, an imported table).

One deploy for the module: the session below starts `local up --watch`, writes
items from "another shell" (boto3 on the printed endpoint), edits a handler, writes
again, and stops it with SIGINT. Each test asserts one thing about that session.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tests" / "fixtures" / "shapes_app"
#: A guard against a hung subprocess, not a measurement: under load a deploy takes
#: 15-60 s on these machines.
DEADLINE = 300.0


@dataclass
class Session:
    out: list[str] = field(default_factory=list)
    err: str = ""
    status: int | None = None
    endpoint: str = ""
    tables: dict[str, str] = field(default_factory=dict)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    dashboards: dict[str, str] = field(default_factory=dict)
    tmpdir: Path = Path()

    def lines_after(self, marker: str) -> list[str]:
        index = next(i for i, line in enumerate(self.out) if marker in line)
        return self.out[index + 1 :]


class _Lines:
    """The subprocess's stdout, line by line, readable with a deadline."""

    def __init__(self, stream: Any, into: list[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._into = into
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def rest(self) -> None:
        """Read the rest of the output (the process has exited)."""
        while (line := self._queue.get(timeout=DEADLINE)) is not None:
            self._into.append(line)

    def until(self, pattern: str, count: int = 1) -> list[str]:
        """Read until ``count`` lines matched ``pattern``; those lines."""
        matched: list[str] = []
        deadline = time.monotonic() + DEADLINE
        while len(matched) < count:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} line; output so far: {self._into}") from None
            if line is None:
                raise AssertionError(f"exited before a {pattern!r} line: {self._into}")
            self._into.append(line)
            if re.search(pattern, line):
                matched.append(line)
        return matched


def _client(endpoint: str, service: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    work = tmp_path_factory.mktemp("up")
    handler_dir = work / "handler"
    shutil.copytree(APP / "handler", handler_dir)
    tmpdir = work / "tmp"
    tmpdir.mkdir()
    result = Session(tmpdir=tmpdir)
    env = {
        **os.environ,
        "SHAPES_HANDLER_DIR": str(handler_dir),
        "TMPDIR": str(tmpdir),
        "CDK_VALIDATION": "false",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cdk_streams.cli", "local", "up", "--app-dir", str(APP), "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=work,
    )
    errors: list[str] = []
    err_reader = threading.Thread(target=lambda: errors.extend(process.stderr or []), daemon=True)
    err_reader.start()
    try:
        lines = _Lines(process.stdout, result.out)
        (endpoint_line,) = lines.until(r"^export AWS_ENDPOINT_URL=")
        result.endpoint = endpoint_line.split("=", 1)[1]
        lines.until(r"^export AWS_ACCESS_KEY_ID=")
        ddb = _client(result.endpoint, "dynamodb")
        for name in ddb.list_tables()["TableNames"]:
            kind = "Ledger" if "Ledger" in name else "Orders"
            result.tables[kind] = name
            ddb.put_item(TableName=name, Item={"pk": {"S": f"first-{kind}"}})
        lines.until(r"handled INSERT first-", count=3)
        cloudwatch = _client(result.endpoint, "cloudwatch")
        result.alarms = cloudwatch.describe_alarms()["MetricAlarms"]
        for entry in cloudwatch.list_dashboards()["DashboardEntries"]:
            name = entry["DashboardName"]
            result.dashboards[name] = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
        # Edit the handler, as a developer would, and see the new code run.
        echo = handler_dir / "echo.py"
        echo.write_text(echo.read_text().replace('print(f"handled', 'print(f"v2 handled'))
        lines.until(r"code reloaded from", count=3)
        ddb.put_item(TableName=result.tables["Ledger"], Item={"pk": {"S": "second"}})
        lines.until(r"v2 handled INSERT second by Global")
        process.send_signal(signal.SIGINT)
        result.status = process.wait(timeout=DEADLINE)
        lines.rest()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        err_reader.join(timeout=10)
        result.err = "".join(errors)
    yield result


def test_every_stack_deploys_in_dependency_order(session: Session) -> None:
    (deployed,) = [line for line in session.out if line.startswith("deployed ")]
    stacks = deployed.split(" in ")[0].removeprefix("deployed ").split(", ")
    assert set(stacks) == {"ShapesTables", "ShapesConsumer", "ShapesGlobal", "ShapesImported"}
    assert stacks.index("ShapesTables") < stacks.index("ShapesConsumer")
    assert stacks.index("ShapesTables") < stacks.index("ShapesImported")


def test_outputs_and_cross_stack_imports_resolve(session: Session) -> None:
    outputs = dict(
        line.strip().split(" = ", 1) for line in session.lines_after("outputs:") if " = " in line
    )
    orders = session.tables["Orders"]
    # An output of the consumer stack that imports the table stack's export.
    assert outputs["ShapesConsumer.OrdersTableName"] == orders
    assert re.fullmatch(
        rf"arn:aws:dynamodb:us-east-1:123456789012:table/{orders}/stream/.+",
        outputs["ShapesTables.OrdersStreamArn"],
    )


def test_alarms_and_a_dashboard_that_references_them_deploy(session: Session) -> None:
    consumer_alarms = [a for a in session.alarms if a["AlarmName"].startswith("ShapesConsumer-")]
    # IteratorAge, Errors, RecordFailures, Throttles, DroppedEvents,
    # DestinationDeliveryFailures and the on-failure queue's depth and age.
    assert len(consumer_alarms) == 8
    errors = next(a for a in consumer_alarms if "Errors" in a["AlarmName"])
    assert errors["TreatMissingData"] == "notBreaching"
    assert errors["ComparisonOperator"] == "GreaterThanThreshold"
    (body,) = session.dashboards.values()
    assert errors["AlarmArn"] in body


def test_each_handler_sees_the_records_of_its_table_with_its_name_in_front(
    session: Session,
) -> None:
    handled = [line for line in session.out if "handled INSERT first-" in line]
    by_role = {re.search(r"by (\w+)$", line).group(1): line for line in handled}  # type: ignore[union-attr]
    # A processor in another stack, one on an imported table, one on a TableV2.
    assert set(by_role) == {"Consumer", "Imported", "Global"}
    assert re.match(
        r"\[ShapesConsumer-ConsumerFunction\w+-\w+\] handled INSERT first-Orders",
        by_role["Consumer"],
    )
    assert re.match(
        r"\[ShapesImported-ImportedFunction\w+-\w+\] handled INSERT first-Orders",
        by_role["Imported"],
    )
    assert re.match(
        r"\[ShapesGlobal-GlobalFunction\w+-\w+\] handled INSERT first-Ledger", by_role["Global"]
    )
    assert not any("START RequestId" in line for line in session.out)


def test_the_summary_names_tables_streams_functions_mappings_and_queues(session: Session) -> None:
    text = "\n".join(session.out)
    assert f"  {session.tables['Ledger']}  stream NEW_AND_OLD_IMAGES arn:aws:dynamodb:" in text
    # Both handler forms reach Lambda as module.function.
    assert text.count("handler echo.handler") == 3
    assert "batch_size 100, starting_position TRIM_HORIZON, retry_attempts 10" in text
    assert "report_batch_item_failures true" in text
    assert (
        len(
            re.findall(
                rf"^  {session.endpoint}/123456789012/Shapes\w+-\w+DeadLetterQueue", text, re.M
            )
        )
        == 3
    )


def test_an_edited_handler_runs_after_the_reload(session: Session) -> None:
    reloads = [line for line in session.out if "code reloaded from" in line]
    assert len(reloads) == 3
    assert any("v2 handled INSERT second by Global" in line for line in session.out)


def test_sigint_stops_cleanly_with_a_final_report(session: Session) -> None:
    assert session.status == 0
    report = session.lines_after("final report:")
    assert len(report) == 3
    global_report = next(line for line in report if "GlobalFunction" in line)
    assert "succeeded 2 (INSERT 2)" in global_report
    assert "Traceback" not in session.err and "KeyboardInterrupt" not in session.err
    assert list(session.tmpdir.glob("cdk-streams-local-*")) == []


def test_ready_time_is_reported(session: Session) -> None:
    (ready,) = re.findall(r"ready in ([0-9.]+) s: 3 mapping\(s\) running", session.err)
    assert float(ready) > 0


def test_sigterm_during_the_deploy_ends_the_cdk_cli_and_leaves_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "CDK_VALIDATION": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cdk_streams.cli", "local", "up", "--app-dir", str(APP)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    progress = []
    for line in process.stderr:  # both CLI steps are starting
        progress.append(line)
        if line.startswith(("bootstrapping", "synthesizing")) and len(progress) >= 2:
            break
    process.send_signal(signal.SIGTERM)
    rest = process.stderr.read()
    assert process.wait(timeout=DEADLINE) == 130
    assert rest.strip().splitlines()[-1] == "cdk-streams local up: interrupted; stopped cleanly"
    assert "Traceback" not in rest
    assert list(tmp_path.iterdir()) == []  # the CLI's and jsii's temporary files too
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftover == ""
