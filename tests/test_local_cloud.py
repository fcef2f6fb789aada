"""End to end: the real CDK CLI deploys tests/fixtures/local_app into the local cloud,
and the mapping runner streams real table changes through the deployed handler.

One deploy for the whole module; each test uses its own keys and reads the
handler's own record of what it saw (RECORD_DIR/<processor>.jsonl). The
mappings run on a wall clock the tests can move forward (``env.clock``), so a
tumbling window ends without waiting a minute.
"""

from __future__ import annotations

import calendar
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.local import Deployment, LocalCloud

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "fixtures" / "local_app"


class AheadClock:
    """The wall clock plus an offset that a test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Env:
    def __init__(
        self, cloud: LocalCloud, deployment: Deployment, record_dir: Path, clock: AheadClock
    ) -> None:
        self.clock = clock
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
    clock = AheadClock()
    with LocalCloud(wall_clock=clock) as cloud:
        deployment = cloud.deploy(
            cwd=APP, env={"CDK_STREAMS_RECORD_DIR": str(record_dir), "CDK_VALIDATION": "false"}
        )
        yield Env(cloud, deployment, record_dir, clock)


def test_deploy_finds_functions_code_and_mappings(env: Env) -> None:
    functions = env.deployment.function_code
    assert len(functions) == 5
    for code in functions.values():
        assert (code / "recorder.py").is_file()
        assert (code / "stream_runtime").is_dir()  # the bundler added the runtime
    assert len(env.cloud.runner.runners) == 5
    settings = {r.config.function_name: r.config for r in env.cloud.runner.runners.values()}
    recorder = settings[env.deployment.function_name("RecorderFunction")]
    assert (recorder.batch_size, recorder.max_batching_window) == (10, 1.0)
    assert (recorder.retry_attempts, recorder.max_record_age) == (2, 3600.0)
    assert recorder.report_batch_item_failures and recorder.bisect_batch_on_error
    assert recorder.on_failure is not None and ":sqs:" in recorder.on_failure
    assert recorder.tumbling_window is None
    counter = settings[env.deployment.function_name("WindowCounterFunction")]
    assert (counter.tumbling_window, counter.batch_size) == (60.0, 2)


def test_the_cli_runs_point_at_the_local_cloud_and_report_nothing_to_aws(env: Env) -> None:
    cli_env = env.cloud.environment()
    assert cli_env["AWS_ENDPOINT_URL"] == env.cloud.endpoint_url
    assert (cli_env["CDK_DISABLE_VERSION_CHECK"], cli_env["CDK_DISABLE_CLI_TELEMETRY"]) == (
        "1",
        "1",
    )


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


def test_tumbling_window_counts_orders_per_minute_by_status(env: Env) -> None:
    orders = {"o1": "NEW", "o2": "NEW", "o3": "PAID", "o4": "NEW", "o5": "SHIPPED"}
    for pk, status in orders.items():
        env.put("Orders", pk, status=status)
    env.put("Orders", "o1", status="PAID")
    env.put("Orders", "o2", status="SHIPPED")
    changes = Counter({"NEW": 3, "PAID": 2, "SHIPPED": 2})

    env.cloud.drain()
    # Every window of these writes ends: the final invocations go out without waiting.
    env.clock.offset = 120.0
    try:
        env.cloud.drain()
    finally:
        env.clock.offset = 0.0

    path = env.record_dir / "WindowCounter.jsonl"
    calls = [json.loads(line) for line in path.read_text().splitlines()]
    arn, shard = env.stream_shard("Orders")
    assert all((c["arn"], c["shard"]) == (arn, shard) for c in calls)
    by_window: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        by_window[call["window"]["start"]].append(call)
    # The writes took a second or two: one window, or two when they crossed a minute.
    assert 1 <= len(by_window) <= 2
    total: Counter[str] = Counter()
    for start, window_calls in by_window.items():
        *batches, final = window_calls
        end = window_calls[0]["window"]["end"]
        assert start.endswith(":00Z") and end.endswith(":00Z")
        assert all(c["window"] == {"start": start, "end": end} for c in window_calls)
        # Epoch-aligned: each record's arrival second lies inside its window.
        first_second = calendar.timegm(time.strptime(start, "%Y-%m-%dT%H:%M:%SZ"))
        for call in batches:
            assert not call["final"] and 1 <= len(call["records"]) <= 2
            for r in call["records"]:
                assert first_second <= r["created"] < first_second + 60
        # The state is carried from each invocation to the next one of its window.
        running: Counter[str] = Counter()
        for call in batches:
            assert call["state_in"] == dict(running)
            running.update(r["status"] for r in call["records"])
        # The final invocation: no records, the window's complete count.
        assert (final["final"], final["early"], final["records"]) == (True, False, [])
        assert final["state_in"] == dict(running)
        total.update(final["state_in"])
    assert total == changes
    seqs = [r["seq"] for c in calls for r in c["records"]]
    assert len(seqs) == len(set(seqs)) == 7  # each change counted once
    assert len([c for c in calls if not c["final"]]) >= 4  # two records per invocation
    counts = env.cloud.runner.totals().for_function("-WindowCounterFunction")
    assert (counts.final_invocations, counts.function_errors) == (len(by_window), 0)
    assert (counts.succeeded, counts.by_event) == (7, Counter({"INSERT": 5, "MODIFY": 2}))


def test_a_redelivered_batch_runs_each_record_once_with_the_idempotency_guard(env: Env) -> None:
    # handler/idempotent.py fails its first batch after the records before
    # "pay-3" ran, and Lambda delivers them again.
    keys = [f"pay-{n}" for n in range(6)]
    items = [
        {"pk": {"S": pk}, "action": {"S": "crash_once" if pk == "pay-3" else "ok"}} for pk in keys
    ]
    env.ddb.batch_write_item(
        RequestItems={
            env.deployment.table_name("Payments"): [{"PutRequest": {"Item": i}} for i in items]
        }
    )

    report = env.cloud.drain()

    counts = report.for_function("-IdempotentRecorderFunction")
    assert (counts.read, counts.succeeded, counts.failed, counts.function_errors) == (6, 6, 0, 1)
    assert counts.retries + counts.bisections >= 1
    invocations = [
        json.loads(line)
        for line in (env.record_dir / "IdempotentRecorder-invocations.jsonl")
        .read_text()
        .splitlines()
    ]
    assert len(invocations) == counts.invocations >= 2
    failed = next(i for i in invocations if "pay-3" in [r["pk"] for r in i["records"]])
    ran_first = [r["pk"] for r in failed["records"]][
        : [r["pk"] for r in failed["records"]].index("pay-3")
    ]
    assert ran_first  # the failed batch's first records had run...
    deliveries = Counter(r["pk"] for i in invocations for r in i["records"])
    assert all(deliveries[pk] == 2 for pk in ran_first)  # ...and came again
    # Each record's side effect happened once, in stream order.
    effects = [
        json.loads(line)
        for line in (env.record_dir / "IdempotentRecorder.jsonl").read_text().splitlines()
    ]
    assert [e["pk"] for e in effects] == keys
    # The guard skipped the records that had run, and counted them in its metric.
    function = env.deployment.function_name("IdempotentRecorderFunction")
    metric_lines = [
        json.loads(line)
        for name, line in env.cloud.logs
        if name == function and line.startswith("{") and "DuplicatesSkipped" in line
    ]
    assert sum(m["DuplicatesSkipped"] for m in metric_lines) == len(ran_first)
    # The claims table the construct created holds a COMPLETED claim per record.
    variables = env.cloud.client("lambda").get_function_configuration(FunctionName=function)[
        "Environment"
    ]["Variables"]
    claims = env.ddb.scan(TableName=variables["IDEMPOTENCY_TABLE_NAME"])["Items"]
    event_ids = {r["id"] for i in invocations for r in i["records"]}
    assert {c["id"]["S"]: c["status"]["S"] for c in claims} == dict.fromkeys(event_ids, "COMPLETED")
    assert all("N" in c["expiration"] for c in claims)
