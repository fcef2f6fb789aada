"""End to end: the real CDK CLI deploys tests/fixtures/local_app into the local cloud,
and the mapping runner streams real table changes through the deployed handler.

One deploy for the whole module; each test uses its own keys and reads the
handler's own record of what it saw (RECORD_DIR/<processor>.jsonl).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.local import Deployment, LocalCloud

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "fixtures" / "local_app"


class Env:
    def __init__(self, cloud: LocalCloud, deployment: Deployment, record_dir: Path) -> None:
        self.cloud = cloud
        self.deployment = deployment
        self.record_dir = record_dir
        self.ddb = cloud.client("dynamodb")

    def put(self, table: str, pk: str, **attributes: Any) -> None:
        item = {"pk": {"S": pk}}
        for name, value in attributes.items():
            item[name] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
        self.ddb.put_item(TableName=self.deployment.table_name(table), Item=item)

    def delete(self, table: str, pk: str) -> None:
        self.ddb.delete_item(TableName=self.deployment.table_name(table), Key={"pk": {"S": pk}})

    def batches(self, role: str, prefix: str) -> list[dict[str, Any]]:
        """The batches the handler saw that hold records whose key starts with ``prefix``."""
        path = self.record_dir / f"{role}.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            batch = json.loads(line)
            batch["records"] = [r for r in batch["records"] if r["pk"].startswith(prefix)]
            if batch["records"]:
                out.append(batch)
        return out

    def stream_shard(self, table: str) -> tuple[str, str]:
        arn = self.ddb.describe_table(TableName=self.deployment.table_name(table))["Table"][
            "LatestStreamArn"
        ]
        shards = self.cloud.client("dynamodbstreams").describe_stream(StreamArn=arn)[
            "StreamDescription"
        ]["Shards"]
        return arn, shards[0]["ShardId"]

    def queue(self, contains: str) -> list[dict[str, Any]]:
        return list(self.cloud.queue_messages(self.deployment.queue_url(contains)))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    record_dir = tmp_path_factory.mktemp("records")
    with LocalCloud(poll_interval=0.05) as cloud:
        deployment = cloud.deploy(
            cwd=APP, env={"CDK_STREAMS_RECORD_DIR": str(record_dir), "CDK_VALIDATION": "false"}
        )
        yield Env(cloud, deployment, record_dir)


def test_deploy_finds_functions_code_and_mappings(env: Env) -> None:
    functions = env.deployment.function_code
    assert len(functions) == 3
    for code in functions.values():
        assert (code / "recorder.py").is_file()
        assert (code / "stream_runtime").is_dir()  # the bundler added the runtime
    assert len(env.cloud.runner.runners) == 3
    settings = {r.config.function_name: r.config for r in env.cloud.runner.runners.values()}
    recorder = settings[env.deployment.function_name("RecorderFunction")]
    assert (recorder.batch_size, recorder.max_batching_window) == (10, 1.0)
    assert (recorder.retry_attempts, recorder.max_record_age) == (2, 3600.0)
    assert recorder.report_batch_item_failures and recorder.bisect_batch_on_error
    assert recorder.on_failure is not None and ":sqs:" in recorder.on_failure


def test_the_cli_runs_point_at_the_local_cloud_and_report_nothing_to_aws(env: Env) -> None:
    cli_env = env.cloud.environment()
    assert cli_env["AWS_ENDPOINT_URL"] == env.cloud.endpoint_url
    assert (cli_env["CDK_DISABLE_VERSION_CHECK"], cli_env["CDK_DISABLE_CLI_TELEMETRY"]) == ("1", "1")


def test_200_changes_each_seen_once_in_per_key_order(env: Env) -> None:
    written: dict[str, list[str]] = defaultdict(list)
    for version in range(5):
        for key in range(40):
            pk = f"order-{key:02d}"
            if version == 4 and key % 4 == 0:
                env.delete("Events", pk)
                written[pk].append("REMOVE")
            else:
                env.put("Events", pk, version=version)
                written[pk].append("INSERT" if version == 0 else "MODIFY")
    assert sum(len(v) for v in written.values()) == 200

    report = env.cloud.drain()

    counts = report.for_function("-RecorderFunction")
    assert (counts.read, counts.delivered, counts.succeeded, counts.failed) == (200, 200, 200, 0)
    seen = [r for batch in env.batches("Recorder", "order-") for r in batch["records"]]
    assert len(seen) == 200
    assert len({r["seq"] for r in seen}) == 200  # each change exactly once
    per_key: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for record in seen:
        per_key[record["pk"]].append((record["event"], record["version"]))
    for pk, events in per_key.items():
        assert [event for event, _ in events] == written[pk]
        versions = [int(v) for event, v in events if event != "REMOVE"]
        assert versions == sorted(versions), pk
    # What the Lambda runtime would hand over.
    first = seen[0]
    assert isinstance(first["created"], float)
    assert first["source"] == "aws:dynamodb" and first["region"] == "us-east-1"
    assert first["arn"] == env.stream_shard("Events")[0]


def test_context_and_environment_reach_the_handler(env: Env) -> None:
    env.put("Events", "ctx-1", version=1)
    env.cloud.drain()
    (batch,) = env.batches("Recorder", "ctx-")
    assert batch["function"] == env.deployment.function_name("RecorderFunction")
    assert batch["memory"] == "256"
    assert 0 < batch["remaining_ms"] <= 2000  # the 2 s timeout
    assert batch["arn"].endswith(f":function:{batch['function']}")


def test_poison_record_goes_to_on_failure_queue_and_the_rest_is_delivered(env: Env) -> None:
    for n in range(6):
        env.put("Events", f"poison-{n}", version=n, action="poison" if n == 2 else "ok")

    report = env.cloud.drain()

    batches = env.batches("Recorder", "poison-")
    poison_seq = next(r["seq"] for b in batches for r in b["records"] if r["action"] == "poison")
    stream_arn, shard_id = env.stream_shard("Events")
    (message,) = env.queue("RecorderDeadLetterQueue")
    info = message["DDBStreamBatchInfo"]
    assert info["shardId"] == shard_id
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison_seq
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream_arn
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["functionArn"].endswith(
        env.deployment.function_name("RecorderFunction")
    )
    # Retried alone twice (retry_attempts=2) after the bisections isolated it.
    alone = [b for b in batches if [r["seq"] for r in b["records"]] == [poison_seq]]
    assert len(alone) == 3
    # Every record after the poison one was still processed.
    succeeded_after = {
        r["pk"] for b in batches for r in b["records"] if int(r["seq"]) > int(poison_seq)
    }
    assert succeeded_after == {"poison-3", "poison-4", "poison-5"}
    counts = report.for_function("-RecorderFunction")
    assert (counts.succeeded, counts.failed, counts.sent_to_on_failure) == (5, 1, 1)


def test_deployed_batch_size_caps_every_batch(env: Env) -> None:
    # When batches are cut on the window is tested on a fake clock
    # (tests/test_local_runner.py); this checks the deployed BatchSize reaches the runner.
    for n in range(25):
        env.put("Events", f"window-{n:02d}", version=n)

    env.cloud.drain()

    batches = env.batches("Recorder", "window-")
    sizes = [len(b["records"]) for b in batches]
    assert sum(sizes) == 25 and max(sizes) <= 10, sizes  # BatchSize 10, not the default 100
    seen = [r["pk"] for b in batches for r in b["records"]]
    assert seen == [f"window-{n:02d}" for n in range(25)]


def test_filters_drop_records(env: Env) -> None:
    env.put("Filtered", "f-1", kind="keep-this")
    env.put("Filtered", "f-2", kind="drop-this")
    env.put("Filtered", "f-1", kind="keep-this-too")  # a MODIFY: filtered on eventName

    report = env.cloud.drain()

    counts = report.for_function("FilteredRecorder")
    assert (counts.read, counts.filtered, counts.delivered, counts.succeeded) == (3, 2, 1, 1)
    seen = [
        (r["pk"], r["event"]) for b in env.batches("FilteredRecorder", "f-") for r in b["records"]
    ]
    assert seen == [("f-1", "INSERT")]


def test_a_crashing_handler_is_a_function_error_not_a_runner_crash(env: Env) -> None:
    actions = ["ok", "exit", "ok", "os_exit", "ok", "raise", "ok", "sleep", "ok"]
    for n, action in enumerate(actions):
        env.put("Crashes", f"crash-{n}", version=n, action=action)

    report = env.cloud.drain(timeout=60)

    counts = report.for_function("CrashRecorder")
    # Each bad record: tried, retried once, then skipped to the on-failure queue.
    assert (counts.succeeded, counts.failed, counts.function_errors) == (5, 4, 8)
    messages = env.queue("CrashRecorderDeadLetterQueue")
    assert len(messages) == 4
    assert {m["responseContext"]["functionError"] for m in messages} == {"Unhandled"}
    lines = [line for _, line in env.cloud.logs]
    assert any("Runtime exited with error: exit status 3" in line for line in lines)
    assert any("Runtime exited with error: exit status 7" in line for line in lines)
    assert any("Task timed out after 1.00 seconds" in line for line in lines)
    assert any("RuntimeError: asked to raise" in line for line in lines)
    # The good records all arrived, in order, after the crashes.
    ok = [
        r["pk"]
        for b in env.batches("CrashRecorder", "crash-")
        for r in b["records"]
        if r["action"] == "ok"
    ]
    assert ok == [f"crash-{n}" for n, a in enumerate(actions) if a == "ok"]


def test_deploying_the_same_stack_twice_is_refused(env: Env, tmp_path: Path) -> None:
    from cdk_streams.local import LocalCloudError

    # The same app again, through the real CLI; its "app" hands the CLI the assembly
    # the first deploy synthesized, which is what synthesizing local_app again gives.
    (tmp_path / "cdk.json").write_text(
        json.dumps({"app": f'cp -R "{env.deployment.assembly_dir}/." "$CDK_OUTDIR"'})
    )
    (tmp_path / "node_modules").symlink_to(APP.parents[2] / "node_modules")
    with pytest.raises(LocalCloudError) as refused:
        env.cloud.deploy(cwd=tmp_path)
    assert str(refused.value) == (
        f"deploy: stack(s) {env.deployment.stacks[0]} already exist in this local cloud; "
        "moto cannot update a stack, so deploy each stack once per LocalCloud"
    )
