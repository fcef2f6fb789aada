"""``cdk-streams local up``: the local development loop for any CDK app.

Deploys every stack of the app into a fresh local cloud, says what it deployed
and how to reach it from another shell, then keeps every stream mapping
running and prints each function's log lines prefixed with its name, until it
is told to stop (Ctrl-C or SIGTERM). With ``watch``, a function's code is
reloaded when a file under its ``handler_dir`` changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..streams.arns import resource_name
from ..streams.settings import (
    API_NAMES,
    MappingConfig,
    filter_patterns,
    on_failure_destination,
    reports_batch_item_failures,
)
from .cloud import CREDENTIALS, Deployment, LocalCloud
from .watch import CodeWatcher

#: Receives one line of output.
Out = Callable[[str], None]

#: The settings shown as they are set (the StreamProcessor prop) and their unit.
_SETTINGS = (
    ("batch_size", ""),
    ("max_batching_window", " s"),
    ("starting_position", ""),
    ("retry_attempts", ""),
    ("max_record_age", " s"),
    ("bisect_batch_on_error", ""),
    ("parallelization_factor", ""),
    ("tumbling_window", " s"),
)

#: Log lines of the runtime itself, not of the function: left out.
_RUNTIME_LINES = ("START RequestId:", "END RequestId:")


def environment_lines(endpoint_url: str, region: str) -> list[str]:
    """Shell lines that point the aws CLI and boto3 at the local cloud."""
    return [
        f"export AWS_ENDPOINT_URL={endpoint_url}",
        f"export AWS_REGION={region} AWS_DEFAULT_REGION={region}",
        f"export AWS_ACCESS_KEY_ID={CREDENTIALS['aws_access_key_id']} "
        f"AWS_SECRET_ACCESS_KEY={CREDENTIALS['aws_secret_access_key']}",
    ]


def describe(cloud: LocalCloud, deployment: Deployment) -> Iterator[str]:
    """What a deployment holds: tables and streams, functions, mappings, queues, outputs."""
    ddb, lam, sqs = cloud.client("dynamodb"), cloud.client("lambda"), cloud.client("sqs")
    yield f"deployed {', '.join(deployment.stacks)} in {deployment.seconds:.1f} s"
    tables = [r for r in deployment.resources if r.type.startswith("AWS::DynamoDB::")]
    if tables:
        yield "tables:"
    for resource in tables:
        table = ddb.describe_table(TableName=resource.physical_id)["Table"]
        spec = table.get("StreamSpecification") or {}
        stream = (
            f"stream {spec.get('StreamViewType')} {table.get('LatestStreamArn')}"
            if spec.get("StreamEnabled")
            else "no stream"
        )
        yield f"  {resource.physical_id}  {stream}"
    functions = [r for r in deployment.resources if r.type == "AWS::Lambda::Function"]
    if functions:
        yield "functions:"
    for resource in functions:
        name = resource.physical_id
        conf = lam.get_function_configuration(FunctionName=name)
        source = deployment.function_sources.get(name)
        code = f"  code {source}" if source else ""
        yield f"  {name}  handler {conf.get('Handler')}{code}"
    mappings = [r for r in deployment.resources if r.type == "AWS::Lambda::EventSourceMapping"]
    if mappings:
        yield "mappings:"
    for resource in mappings:
        mapping = lam.get_event_source_mapping(UUID=resource.physical_id)
        config = MappingConfig.from_api(mapping)
        yield f"  {config.table_name} -> {config.function_name}"
        yield f"    {mapping_settings(mapping)}"
    queues = [r for r in deployment.resources if r.type == "AWS::SQS::Queue"]
    if queues:
        yield "queues:"
    for resource in queues:
        name = resource.physical_id.rstrip("/").rsplit("/", 1)[-1]
        yield f"  {sqs.get_queue_url(QueueName=name)['QueueUrl']}"
    outputs = [
        (stack, key, value)
        for stack, values in deployment.outputs.items()
        for key, value in values.items()
    ]
    if outputs:
        yield "outputs:"
    for stack, key, value in outputs:
        yield f"  {stack}.{key} = {value}"


def mapping_settings(mapping: Mapping[str, Any]) -> str:
    """A mapping's settings, named as the StreamProcessor props that set them.

    The values are Lambda's, as it returns them (``max_record_age -1 s``): what
    the mapping was given, not what the stream rules make of it; a setting
    Lambda leaves out is left out.
    """

    def setting(prop: str) -> Any:
        return mapping.get(API_NAMES[prop])

    parts = [
        f"{prop} {_value(setting(prop))}{unit}"
        for prop, unit in _SETTINGS
        if setting(prop) is not None
    ]
    reports = reports_batch_item_failures(setting("report_batch_item_failures"))
    parts.append(f"report_batch_item_failures {_value(reports)}")
    parts.append(f"filters {len(filter_patterns(setting('filters')))}")
    destination = on_failure_destination(setting("on_failure"))
    parts.append(f"on_failure {resource_name(destination) if destination else 'none'}")
    return ", ".join(parts)


def _value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class LocalUp:
    """One ``local up`` session.

    :param app_dir: the CDK app (a directory with ``cdk.json``).
    :param context: ``-c key=value`` for the synth. @default - none.
    :param port: the emulator's port. @default 0 (a free one).
    :param watch: reload a function's code when its ``handler_dir`` changes.
        @default False.
    :param out: receives the summary, the environment lines, function logs and
        the final report. @default print.
    :param progress: receives progress messages. @default - none.
    :param clock: seconds, for the ready time. @default time.monotonic.
    :param watch_interval: seconds between polls of the watched directories.
        @default 1.0 (what a person notices as "at once").
    :param env: extra environment for the CDK CLI. @default - none.
    :param wait: waits up to N seconds between polls; True means stop.
        @default - waits for :meth:`stop` (Ctrl-C interrupts it).
    :param cloud_factory: makes the local cloud from ``log_sink``, ``progress``
        and ``port``. @default :class:`LocalCloud`.
    """

    def __init__(
        self,
        app_dir: str | Path,
        *,
        context: Mapping[str, str] | None = None,
        port: int = 0,
        watch: bool = False,
        out: Out = print,
        progress: Out | None = None,
        clock: Callable[[], float] = time.monotonic,
        watch_interval: float = 1.0,
        env: Mapping[str, str] | None = None,
        wait: Callable[[float], bool] | None = None,
        cloud_factory: Callable[..., LocalCloud] = LocalCloud,
    ) -> None:
        self.app_dir = Path(app_dir)
        self.context = dict(context or {})
        self.port = port
        self.watch = watch
        self._out = out
        self._progress = progress or (lambda message: None)
        self._clock = clock
        self.watch_interval = watch_interval
        self.env = dict(env or {})
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._cloud_factory = cloud_factory
        self._print_lock = threading.Lock()
        #: Seconds from start to the environment lines (the cloud is ready).
        self.ready_seconds: float | None = None

    def _say(self, line: str) -> None:
        with self._print_lock:
            self._out(line)

    def _log(self, function_name: str, line: str) -> None:
        if not line.startswith(_RUNTIME_LINES):
            self._say(f"[{function_name}] {line}")

    def stop(self) -> None:
        """Ask a running :meth:`run` to stop (as Ctrl-C does)."""
        self._stop.set()

    def run(self) -> int:
        """Deploy, run until stopped, print the final report; the exit status (0)."""
        started = self._clock()
        with self._cloud_factory(
            log_sink=self._log, progress=self._progress, port=self.port
        ) as cloud:
            deployment = cloud.deploy(self.app_dir, context=self.context, env=self.env)
            for line in describe(cloud, deployment):
                self._say(line)
            self._say("# in another shell:")
            for line in environment_lines(cloud.endpoint_url, cloud.region):
                self._say(line)
            self.ready_seconds = self._clock() - started
            self._progress(
                f"ready in {self.ready_seconds:.1f} s: {len(cloud.runner.runners)} mapping(s) "
                "running; Ctrl-C stops"
            )
            watcher = self._watcher(cloud) if self.watch else None
            try:
                while not self._wait(self.watch_interval):
                    if watcher is not None:
                        watcher.poll()
            except KeyboardInterrupt:
                pass
            self._progress("stopping: letting the current batches finish ...")
            cloud.runner.stop()
            self._say("final report:")
            for mapping in cloud.runner.totals().mappings:
                self._say(f"  {mapping}")
        return 0

    def _watcher(self, cloud: LocalCloud) -> CodeWatcher | None:
        sources = cloud.function_sources()
        if not sources:
            self._progress("watch: no function has a handler_dir to watch")
            return None

        def reloaded(name: str) -> None:
            cloud.reload_function(name)
            self._say(f"[{name}] code reloaded from {sources[name]}")

        watcher = CodeWatcher(
            sources,
            reloaded,
            on_error=lambda name, error: self._say(f"[{name}] reload failed: {error}"),
        )
        for directory in watcher.directories:
            self._progress(f"watching {directory}")
        return watcher
