"""The local cloud's mapping runner: latency against the configured window, and throughput
against the machine's PutItem rate (the ceiling: the runner cannot see records faster
than they are written).

Deploys tests/fixtures/local_app once (its "Recorder" mapping: batch 10, window 1 s)
and times what its handler records.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from cdk_streams.local import LocalCloud

APP = Path(__file__).resolve().parents[1] / "fixtures" / "local_app"
WINDOW = 1.0  # the Recorder mapping's MaximumBatchingWindowInSeconds
WRITES = 2000


def _seen(record_file: Path, prefix: str) -> dict[str, float]:
    """pk -> the time the handler first saw it."""
    seen: dict[str, float] = {}
    if record_file.exists():
        for line in record_file.read_text().splitlines():
            batch = json.loads(line)
            for record in batch["records"]:
                if record["pk"].startswith(prefix):
                    seen.setdefault(record["pk"], batch["t"])
    return seen


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        record_dir = Path(tmp)
        record_file = record_dir / "Recorder.jsonl"
        with LocalCloud(poll_interval=0.25) as cloud:
            started = time.perf_counter()
            deployment = cloud.deploy(
                cwd=APP, env={"CDK_STREAMS_RECORD_DIR": str(record_dir), "CDK_VALIDATION": "false"}
            )
            print(f"deploy (bootstrap + synth + deploy): {time.perf_counter() - started:.1f} s")
            ddb = cloud.client("dynamodb")
            table = deployment.table_name("Events")

            def put(pk: str) -> None:
                ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "version": {"N": "1"}})

            # 1. Latency: one write at a time, the runner polling in the background.
            latencies = []
            for n in range(5):
                pk = f"lat-{n}"
                written = time.time()
                put(pk)
                deadline = time.monotonic() + 10
                while pk not in (seen := _seen(record_file, "lat-")):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the handler never saw {pk}")
                    time.sleep(0.01)
                latencies.append(seen[pk] - written)
            median = statistics.median(latencies)
            print(
                f"write -> handler, single record: median {median:.2f} s "
                f"(min {min(latencies):.2f}, max {max(latencies):.2f}); configured window "
                f"{WINDOW:.1f} s + poll interval 0.25 s; ratio to window {median / WINDOW:.2f}x"
            )

            # 2. Throughput: WRITES records, then drain.
            cloud.drain()
            started, first_write = time.perf_counter(), time.time()
            for n in range(WRITES):
                put(f"tp-{n:05d}")
            write_seconds = time.perf_counter() - started
            report = cloud.drain()
            total_seconds = time.perf_counter() - started
            counts = report.for_function("-RecorderFunction")
            if counts.succeeded != WRITES:
                raise RuntimeError(f"expected {WRITES} processed, report says {counts}")
            handled_in = max(_seen(record_file, "tp-").values()) - first_write
            put_rate = WRITES / write_seconds
            end_to_end_rate = WRITES / total_seconds
            print(
                f"PutItem rate (the ceiling): {put_rate:,.0f} writes/s "
                f"({WRITES} in {write_seconds:.2f} s)"
            )
            print(
                f"through the runner (batch 10, handler in a worker process): last of {WRITES} "
                f"handled {handled_in:.2f} s after the first write = {WRITES / handled_in:,.0f} "
                f"records/s; {counts.invocations} invocations; drain() returned after "
                f"{total_seconds:.2f} s (incl. its {cloud.runner.settle:.1f} s idle check)"
            )
            print(
                f"ratio runner / PutItem: {WRITES / handled_in / put_rate:.2f}x "
                f"(end to end incl. drain: {end_to_end_rate / put_rate:.2f}x)"
            )


if __name__ == "__main__":
    main()
