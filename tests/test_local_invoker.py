"""FunctionRuntime: each invocation in a worker process; failures are results, not crashes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdk_streams.local.invoker import FunctionConfig, FunctionRuntime, InvokerError

HANDLER = """
import logging, os, sys, time
logger = logging.getLogger()
logger.setLevel(logging.INFO)
started = time.time()

def handler(event, context):
    logger.info("event %s", event)
    print("plain print")
    action = event.get("action")
    if action == "raise": raise ValueError("boom")
    if action == "exit": sys.exit(3)
    if action == "os_exit": os._exit(9)
    if action == "sleep": time.sleep(10)
    if action == "unserializable": return {"x": object()}
    return {"pid": os.getpid(), "started": started, "env": os.environ.get("GREETING"),
            "handler": os.environ["_HANDLER"], "cwd": os.getcwd(), "name": context.function_name,
            "remaining": context.get_remaining_time_in_millis(), "memory": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn, "request": context.aws_request_id,
            "group": context.log_group_name, "region": os.environ["AWS_REGION"]}
"""


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("code")
    (directory / "app.py").write_text(HANDLER)
    return directory


@pytest.fixture(scope="module")
def runtime(code: Path) -> Iterator[tuple[FunctionRuntime, list[str]]]:
    lines: list[str] = []
    config = FunctionConfig(
        name="fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        handler="app.handler",
        code_dir=code,
        timeout=1.0,
        memory_size=512,
        environment={"GREETING": "hi"},
    )
    with FunctionRuntime(config, log_sink=lambda name, line: lines.append(line)) as rt:
        yield rt, lines


def test_the_handler_gets_context_environment_and_its_own_process(runtime) -> None:
    rt, lines = runtime
    result = rt.invoke({"n": 1}, request_id="req-1")
    assert result.ok, result.error
    payload = result.payload
    assert payload["pid"] != os.getpid()
    assert payload["env"] == "hi" and payload["handler"] == "app.handler"
    assert payload["name"] == "fn" and payload["request"] == "req-1"
    assert payload["memory"] == "512"  # a string, as the Python runtime gives it
    assert 0 < payload["remaining"] <= 1000
    assert payload["arn"].endswith(":function:fn") and payload["group"] == "/aws/lambda/fn"
    assert payload["region"] == "us-east-1"
    assert any(
        line.startswith("[INFO]\t") and "\treq-1\tevent {'n': 1}" in line for line in result.logs
    )
    assert "plain print" in result.logs
    assert "START RequestId: req-1 Version: $LATEST" in lines


def test_a_warm_worker_is_reused(runtime) -> None:
    rt, _ = runtime
    first, second = rt.invoke({}), rt.invoke({})
    assert first.payload["pid"] == second.payload["pid"]
    assert first.payload["started"] == second.payload["started"]  # init ran once


@pytest.mark.parametrize(
    ("action", "error_type", "message"),
    [
        ("raise", "ValueError", "boom"),
        ("exit", "Runtime.ExitError", "Runtime exited with error: exit status 3"),
        ("os_exit", "Runtime.ExitError", "Runtime exited with error: exit status 9"),
        ("sleep", "Sandbox.Timedout", "Task timed out after 1.00 seconds"),
        ("unserializable", "Runtime.MarshalError", "not JSON serializable"),
    ],
)
def test_failures_are_function_errors_and_a_fresh_worker_follows(
    runtime, action: str, error_type: str, message: str
) -> None:
    rt, _ = runtime
    result = rt.invoke({"action": action})
    assert not result.ok and result.function_error == "Unhandled"
    assert result.error["errorType"] == error_type
    assert message in result.error["errorMessage"]
    after = rt.invoke({})
    assert after.ok


def test_an_import_error_is_reported_on_each_invocation(code: Path) -> None:
    config = FunctionConfig(name="bad", arn="arn:bad", handler="missing.handler", code_dir=code)
    with FunctionRuntime(config, log_sink=lambda n, line: None) as rt:
        result = rt.invoke({})
    assert result.error == {
        "errorType": "Runtime.ImportModuleError",
        "errorMessage": "Unable to import module 'missing': No module named 'missing'",
        "stackTrace": result.error["stackTrace"],
    }


def test_a_missing_handler_function_is_reported(code: Path) -> None:
    config = FunctionConfig(name="bad", arn="arn:bad", handler="app.nothing", code_dir=code)
    with FunctionRuntime(config, log_sink=lambda n, line: None) as rt:
        result = rt.invoke({})
    assert result.error["errorType"] == "Runtime.HandlerNotFound"
    assert result.error["errorMessage"] == "Handler 'nothing' missing on module 'app'"


def test_a_missing_code_directory_and_a_closed_runtime_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvokerError, match=r"function f: code directory .*nope does not exist"):
        FunctionRuntime(FunctionConfig("f", "arn", "a.b", tmp_path / "nope"))
    rt = FunctionRuntime(FunctionConfig("f", "arn", "a.b", tmp_path))
    rt.close()
    with pytest.raises(InvokerError, match="function f: runtime is closed"):
        rt.invoke({})
