"""Run a deployed function's code as Lambda would, each invocation in a separate process.

A :class:`FunctionRuntime` owns the worker processes of one function (its
"execution environments"). A worker imports the handler once and is reused for
later invocations, as a warm Lambda environment is. A crash, ``sys.exit``,
``os._exit`` or a timeout is a *function error*: the worker is replaced by a
fresh one on the next invocation, and the caller never sees an exception.

The worker gets the function's environment variables plus Lambda's reserved
ones, the code directory as its working directory and first ``sys.path``
entry, a context object, and a deadline from the function's timeout. The
memory size is reported (``context.memory_limit_in_mb``) but not enforced.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._worker import LOG_MARKER

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
#: How long a worker may take to import the handler (Lambda's init phase allows 10 s).
INIT_TIMEOUT_SECONDS = 10.0
#: Seconds to wait for a worker's log after its answer, so log lines keep their order.
LOG_SETTLE_SECONDS = 2.0

TIMEOUT, DIED = "timeout", "died"

#: Receives each log line of a function: (function name, line).
LogSink = Callable[[str, str], None]


class InvokerError(RuntimeError):
    """The local runtime itself cannot run (not the function failing)."""


@dataclass(frozen=True)
class FunctionConfig:
    """What a local runtime needs to know about one deployed function.

    :param name: the function's name.
    :param arn: its ARN.
    :param handler: ``module.function`` (the function's Handler).
    :param code_dir: the unpacked deployment package.
    :param timeout: seconds, as configured. @default 3 (Lambda's default).
    :param memory_size: MB, reported to the code. @default 128.
    :param environment: the function's environment variables. @default - none.
    :param region: @default "us-east-1".
    :param endpoint_url: when set, the code's AWS SDK calls go there (the local
        cloud), with dummy credentials. @default - none.
    """

    name: str
    arn: str
    handler: str
    code_dir: Path
    timeout: float = 3.0
    memory_size: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    endpoint_url: str | None = None

    def process_environment(self) -> dict[str, str]:
        """The worker's environment: Lambda's reserved variables, then the function's own."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "_HANDLER": self.handler,
            "LAMBDA_TASK_ROOT": str(self.code_dir),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python_local",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.endpoint_url:
            env.update(
                AWS_ENDPOINT_URL=self.endpoint_url,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_SESSION_TOKEN="testing",
            )
        env.update(self.environment)
        return env


@dataclass
class InvocationResult:
    """The outcome of one invocation, as the event-source mapping sees it."""

    request_id: str
    ok: bool
    #: The function's return value (parsed JSON) when ok.
    payload: Any = None
    #: ``{"errorType", "errorMessage", "stackTrace"}`` when not ok.
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    #: The function's log lines for this invocation.
    logs: list[str] = field(default_factory=list)

    @property
    def function_error(self) -> str | None:
        """Lambda's ``FunctionError`` header: "Unhandled" for any failure, else None."""
        return None if self.ok else "Unhandled"


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self, config: FunctionConfig, sink: LogSink) -> None:
        self.config = config
        self._sink = sink
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        env = config.process_environment()
        env["CDK_STREAMS_REQUEST_FD"] = str(request_r)
        env["CDK_STREAMS_RESPONSE_FD"] = str(response_w)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-u", str(WORKER_SCRIPT)],
                cwd=config.code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(request_r, response_w),
                # Its own process group: a timeout kills the function's children too.
                start_new_session=True,
            )
        finally:
            os.close(request_r)
            os.close(response_w)
        self._buffer = b""
        self._lines: list[str] = []
        self._current: list[str] | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._log_thread = threading.Thread(
            target=self._read_log, name=f"log-{config.name}", daemon=True
        )
        self._log_thread.start()
        self.init_error: dict[str, Any] | None = None

    # -- log ---------------------------------------------------------------

    def _read_log(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            marker = line.find(LOG_MARKER)
            if marker >= 0:
                if line[:marker]:
                    self._emit(line[:marker])
                self._done.set()
                continue
            self._emit(line)
        self._done.set()

    def _emit(self, line: str) -> None:
        with self._lock:
            if self._current is not None:
                self._current.append(line)
        self._sink(self.config.name, line)

    # -- protocol ----------------------------------------------------------

    def _read_answer(self, timeout: float) -> dict[str, Any] | str:
        """The next JSON answer, or ``TIMEOUT``, or ``DIED`` when the worker closed its end."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return TIMEOUT
            ready, _, _ = select.select([self._response_r], [], [], remaining)
            if not ready:
                return TIMEOUT
            chunk = os.read(self._response_r, 65536)
            if not chunk:
                # The process is gone (exit, crash, kill): reap it for its status.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=5)
                return DIED
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self) -> bool:
        answer = self._read_answer(INIT_TIMEOUT_SECONDS)
        if isinstance(answer, str):
            self.init_error = self._death_error("init")
            return False
        if not answer.get("init"):
            self.init_error = answer["error"]
            return False
        return True

    def _death_error(self, phase: str) -> dict[str, Any]:
        code = self.process.poll()
        if code is None:
            return {
                "errorType": "Runtime.InitError",
                "errorMessage": f"{phase} did not finish within {INIT_TIMEOUT_SECONDS:.0f} s",
            }
        return {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {phase} Error: Runtime exited with error: "
            f"exit status {code}"
            if code >= 0
            else f"RequestId: {phase} Error: Runtime exited with error: signal {-code}",
        }

    def invoke(self, event: Any, request_id: str, timeout: float) -> InvocationResult:
        started = time.monotonic()
        deadline_ms = int((time.time() + timeout) * 1000)
        request = {
            "event": event,
            "request_id": request_id,
            "deadline_ms": deadline_ms,
            "invoked_function_arn": self.config.arn,
        }
        lines: list[str] = []
        with self._lock:
            self._current = lines
        self._done.clear()
        try:
            os.write(self._request_w, (json.dumps(request) + "\n").encode("utf-8"))
        except OSError:
            answer: dict[str, Any] | str = DIED
        else:
            answer = self._read_answer(timeout)
        duration = (time.monotonic() - started) * 1000
        if isinstance(answer, str):
            timed_out = answer == TIMEOUT
            self.kill()
            self._done.wait(LOG_SETTLE_SECONDS)
            if timed_out:
                message = f"Task timed out after {timeout:.2f} seconds"
                self._emit(f"{request_id} {message}")
                error = {"errorType": "Sandbox.Timedout", "errorMessage": message}
            else:
                error = self._death_error(request_id)
                self._emit(error["errorMessage"])
            result = InvocationResult(request_id, False, error=error, duration_ms=duration)
        else:
            self._done.wait(LOG_SETTLE_SECONDS)
            if answer.get("ok"):
                result = InvocationResult(
                    request_id, True, payload=json.loads(answer["payload"]), duration_ms=duration
                )
            else:
                result = InvocationResult(
                    request_id, False, error=answer["error"], duration_ms=duration
                )
        with self._lock:
            self._current = None
            result.logs = lines
        return result

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Stop the worker and everything it started, then reap it (no zombies)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 9)
        self.process.wait()
        for fd in (self._request_w, self._response_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._request_w = self._response_r = -1
        self._log_thread.join(timeout=LOG_SETTLE_SECONDS)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def close(self) -> None:
        """Let the worker finish (end of its request stream), killing it if it lingers."""
        if self.process.poll() is None:
            try:
                os.close(self._request_w)
                self._request_w = -1
                self.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


def _print_sink(function_name: str, line: str) -> None:
    print(f"[{function_name}] {line}", file=sys.stderr, flush=True)


class FunctionRuntime:
    """The local execution environments of one function.

    :param config: the function's settings.
    :param log_sink: receives each log line as it is written. @default - print to stderr.
    """

    def __init__(self, config: FunctionConfig, log_sink: LogSink | None = None) -> None:
        if not config.code_dir.is_dir():
            raise InvokerError(
                f"function {config.name}: code directory {config.code_dir} does not exist"
            )
        self.config = config
        self._sink = log_sink or _print_sink
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.cold_starts = 0

    def _acquire(self) -> _Worker | dict[str, Any]:
        with self._lock:
            if self._closed:
                raise InvokerError(f"function {self.config.name}: runtime is closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    self._busy.add(worker)
                    return worker
                worker.kill()
        worker = _Worker(self.config, self._sink)
        self.cold_starts += 1
        if not worker.wait_ready():
            error = worker.init_error or {"errorType": "Runtime.InitError", "errorMessage": ""}
            worker.kill()
            return error
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if worker.alive and not self._closed:
                self._idle.append(worker)
                return
        worker.kill()

    def invoke(self, event: Any, *, request_id: str | None = None) -> InvocationResult:
        """Invoke the function with ``event``; never raises for a failing function."""
        request_id = request_id or str(uuid.uuid4())
        self._sink(self.config.name, f"START RequestId: {request_id} Version: $LATEST")
        worker = self._acquire()
        if isinstance(worker, dict):
            self._sink(self.config.name, f"[ERROR] {worker['errorType']}: {worker['errorMessage']}")
            result = InvocationResult(request_id, False, error=worker)
        else:
            try:
                result = worker.invoke(event, request_id, self.config.timeout)
            finally:
                self._release(worker)
        self._sink(self.config.name, f"END RequestId: {request_id}")
        self._sink(
            self.config.name,
            f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
            f"Memory Size: {self.config.memory_size} MB",
        )
        return result

    def retire(self) -> None:
        """Take no more invocations; stop idle workers now and busy ones when they finish.

        What a code reload does to the old code's runtime: an invocation in
        flight completes with the code it started with.
        """
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    def close(self) -> None:
        """Stop every worker of this function. Safe to call twice."""
        with self._lock:
            self._closed = True
            workers = self._idle + list(self._busy)
            self._idle, self._busy = [], set()
        for worker in workers:
            worker.close()

    def __enter__(self) -> FunctionRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
